package codec

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// xmlName turns a JSON key into an XML element name. Keys that are not
// ASCII XML names (a leading digit, a space, a colon, which would read as a
// namespace prefix, any non-ASCII character) have each offending character
// written as _xHHHH_ (or _xHHHHHHHH_ beyond U+FFFF), the ISO/IEC 9075
// convention that .NET's XmlConvert uses;
// an underscore that would itself read as the start of such an escape is
// escaped as _x005F_, and the empty key is written _x_. keyFromXMLName
// reverses it, so names survive a round trip.
func xmlName(key string) string {
	if key == "" {
		return "_x_"
	}
	if key != "_x_" && plainXMLName(key) {
		return key
	}
	var b strings.Builder
	for i, r := range key {
		ok := isXMLNameChar(r)
		if i == 0 {
			ok = isXMLNameStart(r)
		}
		if r == '_' && (i == 0 && key == "_x_" || escapeAt(key[i:]) > 0) {
			ok = false
		}
		if ok {
			b.WriteRune(r)
			continue
		}
		if r <= 0xffff {
			b.WriteString("_x" + leftPad(strconv.FormatInt(int64(r), 16), 4) + "_")
		} else {
			b.WriteString("_x" + leftPad(strconv.FormatInt(int64(r), 16), 8) + "_")
		}
	}
	return b.String()
}

// plainXMLName reports whether key is an XML name (without colons) that
// holds nothing that reads as an _xHHHH_ escape.
func plainXMLName(key string) bool {
	for i, r := range key {
		if i == 0 && !isXMLNameStart(r) || !isXMLNameChar(r) {
			return false
		}
		if r == '_' && escapeAt(key[i:]) > 0 {
			return false
		}
	}
	return true
}

// keyFromXMLName reverses xmlName.
func keyFromXMLName(name string) string {
	if name == "_x_" {
		return ""
	}
	if !strings.Contains(name, "_x") {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); {
		if n := escapeAt(name[i:]); n > 0 {
			code, _ := strconv.ParseUint(name[i+2:i+n-1], 16, 32)
			if r := rune(code); utf8.ValidRune(r) {
				b.WriteRune(r)
				i += n
				continue
			}
		}
		b.WriteByte(name[i])
		i++
	}
	return b.String()
}

// escapeAt returns the length of the _xHHHH_ or _xHHHHHHHH_ escape that s
// starts with, or 0.
func escapeAt(s string) int {
	if !strings.HasPrefix(s, "_x") {
		return 0
	}
	for _, n := range []int{4, 8} {
		if len(s) >= n+3 && s[n+2] == '_' && onlyOf(s[2:n+2], "0123456789abcdefABCDEF") {
			return n + 3
		}
	}
	return 0
}

func leftPad(s string, n int) string {
	return strings.Repeat("0", n-len(s)) + strings.ToUpper(s)
}

// isXMLNameStart reports whether r may start an element name. Only ASCII
// letters and _ are taken: every XML 1.0 edition and parser (Go's included,
// which follows the fourth edition's character tables) accepts them; the
// colon is left out, since it would read as a namespace prefix.
func isXMLNameStart(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'
}

// isXMLNameChar reports whether r may appear in an element name after the
// first character.
func isXMLNameChar(r rune) bool {
	return isXMLNameStart(r) || r >= '0' && r <= '9' || r == '-' || r == '.'
}
