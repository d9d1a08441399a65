package runeauth

import "strings"

// minRedacted is the shortest value Redact replaces: a real rune is at
// least 43 characters (its 32-byte hash in base64), and replacing a short
// bogus value everywhere would garble messages.
const minRedacted = 16

// Redact returns s with every occurrence of rune, with or without its
// base64 padding, replaced by "<rune>", so that no message a client
// receives or that is logged repeats a rune, whatever lightningd's
// message holds.
func Redact(s, rune string) string {
	for _, form := range []string{rune, strings.TrimRight(rune, "=")} {
		if len(form) >= minRedacted {
			s = strings.ReplaceAll(s, form, "<rune>")
		}
	}
	return s
}
