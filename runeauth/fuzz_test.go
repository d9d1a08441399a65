package runeauth

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzUniqueID decodes arbitrary Rune header values: UniqueID must not
// panic, and an id it returns must be what the rune holds as its first
// restriction ("=<id>" or "=<id>-<version>"), non-empty and free of the
// characters that end or escape a restriction. A rune built around the
// input as its id must give that id back when the input is a plain id.
// Seeds are in testdata/fuzz/FuzzUniqueID/.
func FuzzUniqueID(f *testing.F) {
	f.Fuzz(func(t *testing.T, header string) {
		if id, ok := UniqueID(header); ok {
			checkID(t, header, id)
		}
		built := mustRune("=" + header + "&method=getinfo")
		id, ok := UniqueID(built)
		plain := header != "" && !strings.ContainsAny(header, "-|&\\")
		if plain && (!ok || id != header) {
			t.Fatalf("UniqueID of a rune with id %q: got %q %v; want the id", header, id, ok)
		}
		if ok {
			checkID(t, built, id)
		}
	})
}

func checkID(t *testing.T, rune, id string) {
	t.Helper()
	if id == "" || strings.ContainsAny(id, "-|&\\") {
		t.Fatalf("UniqueID(%q) = %q; want a non-empty id without - | & \\", rune, id)
	}
	raw, err := base64.URLEncoding.DecodeString(rune)
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(rune, "="))
	}
	if err != nil || len(raw) <= 32 {
		t.Fatalf("UniqueID(%q) = %q, but the rune does not decode past its hash (%v)", rune, id, err)
	}
	if rest := string(raw[32:]); !strings.HasPrefix(rest, "="+id) {
		t.Fatalf("UniqueID(%q) = %q; the restrictions %q do not start with =%s", rune, id, rest, id)
	}
}
