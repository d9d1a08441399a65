package lnrpc

import "bytes"

// valueScanner finds where one JSON value ends in a byte stream that arrives
// in chunks, without holding the value: it tracks only whether it is inside a
// string, whether the previous byte was a backslash, and the nesting depth.
// It does not validate the value (lightningd writes valid JSON); it only needs
// to never misjudge the extent of valid JSON and never loop or panic on
// invalid input. The zero value is ready to scan one value, which must start
// at the first byte given to scan (the caller skips whitespace before it).
type valueScanner struct {
	kind   byte // 0 before the first byte, then '{' (object or array), '"' or 'p' (primitive)
	depth  int  // open objects and arrays
	inStr  bool // inside a string
	escape bool // the previous byte inside a string was an unconsumed backslash
}

// scan consumes chunk. It returns how many leading bytes of chunk belong to the
// value and whether the value ends there. A primitive (number, true, false,
// null) ends only when the byte after it is seen, so that byte is not counted.
// A chunk that cannot start a value yields a protocol error.
func (s *valueScanner) scan(chunk []byte) (n int, done bool, err error) {
	i := 0
	if s.kind == 0 {
		if len(chunk) == 0 {
			return 0, false, nil
		}
		switch c := chunk[0]; {
		case c == '{' || c == '[':
			s.kind, s.depth = '{', 1
		case c == '"':
			s.kind, s.inStr = '"', true
		case isDelimiter(c) || c == ':':
			return 0, false, protocolError("expected a value, got %q", c)
		default:
			s.kind = 'p'
		}
		i = 1
	}
	if s.kind == 'p' {
		for ; i < len(chunk); i++ {
			if isDelimiter(chunk[i]) {
				return i, true, nil
			}
		}
		return i, false, nil
	}
	return s.scanNested(chunk, i)
}

// scanNested scans strings, objects and arrays from chunk[i:]. Strings are
// skipped with bytes.IndexByte (vectorised), which is what makes the scanner
// fast: most of a large lightningd result is string contents. quoteAt caches
// the next quote so that a long string full of escapes stays linear.
func (s *valueScanner) scanNested(chunk []byte, i int) (int, bool, error) {
	quoteAt := -1
	for i < len(chunk) {
		if !s.inStr {
			for i < len(chunk) {
				c := chunk[i]
				i++
				if c == '"' {
					s.inStr = true
					break
				}
				if c == '{' || c == '[' {
					s.depth++
				} else if c == '}' || c == ']' {
					s.depth--
					if s.depth <= 0 {
						return i, true, nil
					}
				}
			}
			continue
		}
		if s.escape {
			s.escape = false
			i++
			continue
		}
		if quoteAt < i {
			quoteAt = len(chunk)
			if q := bytes.IndexByte(chunk[i:], '"'); q >= 0 {
				quoteAt = i + q
			}
		}
		if b := bytes.IndexByte(chunk[i:quoteAt], '\\'); b >= 0 {
			s.escape = true
			i += b + 1
			continue
		}
		if quoteAt == len(chunk) {
			return len(chunk), false, nil
		}
		i = quoteAt + 1
		s.inStr = false
		if s.depth == 0 {
			return i, true, nil
		}
	}
	return i, false, nil
}

// isDelimiter reports whether c ends a primitive: whitespace or structure.
func isDelimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', '}', ']':
		return true
	}
	return false
}

// isSpace reports whether c is JSON whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}
