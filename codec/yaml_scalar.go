package codec

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// appendYAMLString appends s as a YAML scalar that any YAML 1.1 or 1.2 reader
// takes back as the string s: plain when that is safe, else single-quoted,
// else (line breaks, non-printable characters) double-quoted with escapes.
func appendYAMLString(buf []byte, s string) []byte {
	printable := allPrintable(s)
	switch {
	case printable && plainSafe(s):
		return append(buf, s...)
	case printable:
		buf = append(buf, '\'')
		buf = append(buf, strings.ReplaceAll(s, "'", "''")...)
		return append(buf, '\'')
	}
	return appendDoubleQuoted(buf, s)
}

// allPrintable reports whether s holds only printable characters (so no
// tabs, line breaks of any kind, or byte order marks).
func allPrintable(s string) bool {
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			continue
		}
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// plainSafe reports whether printable s can be written as a plain scalar:
// it must not start with an indicator or document marker, contain a comment
// or mapping marker, carry edge spaces, or resolve to anything but a string
// under the YAML 1.1 or 1.2 schemas.
func plainSafe(s string) bool {
	if s == "" || strings.ContainsRune("-?:,[]{}#&*!|>'\"%@`~ ", rune(s[0])) {
		return false
	}
	if s[len(s)-1] == ' ' || s[len(s)-1] == ':' || strings.HasPrefix(s, "...") {
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") {
		return false
	}
	if len(s) <= len("false") {
		switch strings.ToLower(s) {
		case "null", "true", "false", "yes", "no", "on", "off", "y", "n", "<<", "=":
			return false
		}
	}
	return !numberLike(s)
}

// numberLike reports whether s could be read as a number, or as a YAML 1.1
// timestamp or base-60 number, by some YAML reader.
func numberLike(s string) bool {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "+"), "-")
	if t == "" {
		return false
	}
	if t[0] != '.' && (t[0] < '0' || t[0] > '9') {
		return false
	}
	if len(t) == 4 {
		switch strings.ToLower(t) {
		case ".inf", ".nan":
			return true
		}
	}
	if t[0] != '.' && strings.IndexByte(t, ':') >= 0 {
		return true // base 60, such as 190:20:30
	}
	if len(t) > 4 && t[4] == '-' && skipDigits(t, 0) == 4 {
		return true // a timestamp such as 2001-12-14
	}
	if len(t) > 2 && t[0] == '0' {
		switch t[1] {
		case 'x', 'X':
			return onlyOf(t[2:], "0123456789abcdefABCDEF_")
		case 'o', 'O':
			return onlyOf(t[2:], "01234567_")
		case 'b', 'B':
			return onlyOf(t[2:], "01_")
		}
	}
	return decimalLike(t)
}

// decimalLike matches [0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9_]+)? with at least
// one digit before the exponent.
func decimalLike(t string) bool {
	mantissa, exp, hasExp := t, "", false
	if i := strings.IndexAny(t, "eE"); i >= 0 {
		mantissa, exp, hasExp = t[:i], t[i+1:], true
	}
	whole, frac, _ := strings.Cut(mantissa, ".")
	if !onlyOf(whole, "0123456789_") || !onlyOf(frac, "0123456789_") {
		return false
	}
	if strings.Trim(whole+frac, "_") == "" {
		return false
	}
	if !hasExp {
		return true
	}
	exp = strings.TrimPrefix(strings.TrimPrefix(exp, "+"), "-")
	return exp != "" && onlyOf(exp, "0123456789_")
}

// onlyOf reports whether every byte of s is in set.
func onlyOf(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

// appendDoubleQuoted appends s as a double-quoted YAML scalar, escaping
// what is not printable.
func appendDoubleQuoted(buf []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	buf = append(buf, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			buf = append(buf, '\\', byte(r))
		case r == '\n':
			buf = append(buf, '\\', 'n')
		case r == '\t':
			buf = append(buf, '\\', 't')
		case r == '\r':
			buf = append(buf, '\\', 'r')
		case r == 0:
			buf = append(buf, '\\', '0')
		case r >= 0x20 && r < 0x7f || r > 0x7f && unicode.IsPrint(r) && r != utf8.RuneError:
			buf = utf8.AppendRune(buf, r)
		case r <= 0xff:
			buf = append(buf, '\\', 'x', hex[r>>4], hex[r&0xf])
		case r <= 0xffff:
			buf = append(buf, '\\', 'u', hex[r>>12], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			buf = append(buf, '\\', 'U', '0', '0', hex[r>>20], hex[r>>16&0xf],
				hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		}
	}
	return append(buf, '"')
}
