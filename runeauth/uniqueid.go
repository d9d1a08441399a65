package runeauth

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// UniqueID returns a rune's unique id, read from the rune itself rather
// than asked of lightningd, so that the access log costs no extra call.
//
// A rune is the URL-safe base64 encoding of a 32-byte SHA-256 state
// followed by its restrictions, separated by '&'. lightningd's createrune
// puts the unique id first, as a restriction with an empty field name and
// condition '=': "=<id>" or "=<id>-<version>" (ccan/rune). The id is
// returned as written, without the version. ok is false when the rune
// does not decode or carries no unique id; the rune may still be valid,
// which only checkrune decides.
func UniqueID(rune string) (id string, ok bool) {
	// Runes of a few restrictions decode on the stack; only the id is
	// copied out.
	var buf [512]byte
	raw, ok := decodeRune(buf[:], rune)
	if !ok || len(raw) <= 32 {
		return "", false
	}
	first, _ := firstRestriction(raw[32:])
	if len(first) == 0 || first[0] != '=' {
		return "", false
	}
	b := first[1:]
	if i := bytes.IndexByte(b, '-'); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 || bytes.ContainsAny(b, "|&\\") {
		return "", false
	}
	return string(b), true
}

// decodeRune decodes a rune's URL-safe base64, padded or not, into buf
// when it fits.
func decodeRune(buf []byte, rune string) ([]byte, bool) {
	var text [704]byte
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding} {
		s := rune
		if enc == base64.RawURLEncoding {
			s = strings.TrimRight(rune, "=")
		}
		dst := buf
		if n := enc.DecodedLen(len(s)); n > len(buf) {
			dst = make([]byte, n)
		}
		src := append(text[:0], s...)
		if n, err := enc.Decode(dst, src); err == nil {
			return dst[:n], true
		}
	}
	return nil, false
}

// firstRestriction returns the restriction text before the first '&'
// that is not escaped with a backslash.
func firstRestriction(s []byte) ([]byte, []byte) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '&':
			return s[:i], s[i+1:]
		}
	}
	return s, nil
}

// maxLoggedIDLen bounds the rune id written to logs: lightningd's ids
// are decimal numbers, and a client's made-up rune must not flood the log.
const maxLoggedIDLen = 64

// LogID names a rune in logs, never by the rune itself: its unique id,
// or "unknown" when the id cannot be read, is longer than 64 bytes or
// holds anything but printable ASCII.
func LogID(rune string) string {
	id, ok := UniqueID(rune)
	if !ok || len(id) > maxLoggedIDLen {
		return "unknown"
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7f {
			return "unknown"
		}
	}
	return id
}
