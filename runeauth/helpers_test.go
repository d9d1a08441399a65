package runeauth

import (
	"encoding/base64"
	"strings"
)

// mustRune builds a rune-shaped string: 32 bytes of authcode (zeros; only
// checkrune verifies it) followed by restrictions.
func mustRune(restrictions string) string {
	return base64.URLEncoding.EncodeToString(append(make([]byte, 32), restrictions...))
}

func trimPad(s string) string { return strings.TrimRight(s, "=") }
