package runeauth

import (
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
	raw, err := base64.URLEncoding.DecodeString(rune)
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(rune, "="))
		if err != nil {
			return "", false
		}
	}
	if len(raw) <= 32 {
		return "", false
	}
	first, _ := firstRestriction(string(raw[32:]))
	if !strings.HasPrefix(first, "=") {
		return "", false
	}
	id = first[1:]
	if i := strings.IndexByte(id, '-'); i >= 0 {
		id = id[:i]
	}
	if id == "" || strings.ContainsAny(id, "|&\\") {
		return "", false
	}
	return id, true
}

// firstRestriction returns the restriction text before the first '&'
// that is not escaped with a backslash.
func firstRestriction(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '&':
			return s[:i], s[i+1:]
		}
	}
	return s, ""
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
