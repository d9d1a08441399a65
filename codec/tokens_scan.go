package codec

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// scan reads the next token, enforcing the grammar.
func (t *tokenReader) scan() (token, error) {
	for {
		c, ok := t.skipSpace()
		if !ok {
			if t.state == expNothing {
				return token{}, t.syntaxError(0, "after the top-level value")
			}
			return token{}, t.eof()
		}
		switch t.state {
		case expColon:
			if c != ':' {
				return token{}, t.syntaxError(c, "after an object key")
			}
			t.pos++
			t.state = expValue
			continue
		case expCommaOrEnd:
			if c == ',' {
				t.pos++
				t.state = expValue
				if t.stack[len(t.stack)-1] == tokBeginObject {
					t.state = expKey
				}
				continue
			}
			return t.closing(c)
		case expKeyOrEnd, expKey:
			if c == '}' && t.state == expKeyOrEnd {
				return t.closing(c)
			}
			if c != '"' {
				return token{}, t.syntaxError(c, "looking for an object key")
			}
			t.pos++
			s, err := t.readString()
			t.state = expColon
			return token{kind: tokString, text: s}, err
		case expValueOrEnd:
			if c == ']' {
				return t.closing(c)
			}
		case expNothing:
			return token{}, t.syntaxError(c, "after the top-level value")
		}
		return t.value(c)
	}
}

// closing consumes c when it closes the innermost container.
func (t *tokenReader) closing(c byte) (token, error) {
	top := t.stack[len(t.stack)-1]
	var kind tokenKind
	switch {
	case c == '}' && top == tokBeginObject:
		kind = tokEndObject
	case c == ']' && top == tokBeginArray:
		kind = tokEndArray
	default:
		return token{}, t.syntaxError(c, "after a value in "+token{kind: top}.describe())
	}
	t.pos++
	t.stack = t.stack[:len(t.stack)-1]
	t.afterValue()
	return token{kind: kind}, nil
}

// afterValue sets what may follow a complete value.
func (t *tokenReader) afterValue() {
	if len(t.stack) == 0 {
		t.state = expNothing
	} else {
		t.state = expCommaOrEnd
	}
}

// value reads a value that starts with c.
func (t *tokenReader) value(c byte) (token, error) {
	switch {
	case c == '{' || c == '[':
		t.pos++
		kind, state := tokBeginObject, expKeyOrEnd
		if c == '[' {
			kind, state = tokBeginArray, expValueOrEnd
		}
		t.stack = append(t.stack, kind)
		t.state = state
		return token{kind: kind}, nil
	case c == '"':
		t.pos++
		s, err := t.readString()
		t.afterValue()
		return token{kind: tokString, text: s}, err
	case c == '-' || c >= '0' && c <= '9':
		return t.readNumber()
	case c == 't':
		return t.readLiteral("true", tokTrue)
	case c == 'f':
		return t.readLiteral("false", tokFalse)
	case c == 'n':
		return t.readLiteral("null", tokNull)
	}
	return token{}, t.syntaxError(c, "looking for a value")
}

func (t *tokenReader) readLiteral(lit string, kind tokenKind) (token, error) {
	t.ensure(len(lit))
	if t.filled-t.pos < len(lit) || string(t.buf[t.pos:t.pos+len(lit)]) != lit {
		if t.filled-t.pos < len(lit) {
			return token{}, t.eof()
		}
		return token{}, t.syntaxError(t.buf[t.pos], "looking for a value")
	}
	t.pos += len(lit)
	t.afterValue()
	return token{kind: kind}, nil
}

// readNumber reads a number literal, checking it against the grammar.
func (t *tokenReader) readNumber() (token, error) {
	t.scratch = t.scratch[:0]
	for t.fill() {
		i := t.pos
		for i < t.filled && isNumberByte(t.buf[i]) {
			i++
		}
		t.scratch = append(t.scratch, t.buf[t.pos:i]...)
		t.pos = i
		if i < t.filled {
			break
		}
	}
	if err := t.readErr(); err != nil {
		return token{}, err
	}
	text := string(t.scratch)
	if !isJSONNumber(text) {
		return token{}, fmt.Errorf("invalid number %q at offset %d", text, t.offset+int64(t.pos)-int64(len(text)))
	}
	t.afterValue()
	return token{kind: tokNumber, text: text}, nil
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// readString reads the rest of a string whose opening quote is consumed.
func (t *tokenReader) readString() (string, error) {
	t.scratch = t.scratch[:0]
	for {
		if !t.fill() {
			return "", t.eof()
		}
		i := t.pos
		for i < t.filled {
			c := t.buf[i]
			if c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
				break
			}
			i++
		}
		t.scratch = append(t.scratch, t.buf[t.pos:i]...)
		t.pos = i
		if i == t.filled {
			continue
		}
		switch c := t.buf[i]; {
		case c == '"':
			t.pos++
			return string(t.scratch), nil
		case c == '\\':
			if err := t.readEscape(); err != nil {
				return "", err
			}
		case c < 0x20:
			return "", t.syntaxError(c, "in a string")
		default:
			t.ensure(utf8.UTFMax)
			r, size := utf8.DecodeRune(t.buf[t.pos:t.filled])
			t.scratch = utf8.AppendRune(t.scratch, r) // invalid UTF-8 becomes U+FFFD
			t.pos += size
		}
	}
}

// readEscape reads one backslash escape into scratch.
func (t *tokenReader) readEscape() error {
	t.ensure(2)
	if t.filled-t.pos < 2 {
		return t.eof()
	}
	c := t.buf[t.pos+1]
	if c != 'u' {
		t.pos += 2
		switch c {
		case '"', '\\', '/':
			t.scratch = append(t.scratch, c)
		case 'b':
			t.scratch = append(t.scratch, '\b')
		case 'f':
			t.scratch = append(t.scratch, '\f')
		case 'n':
			t.scratch = append(t.scratch, '\n')
		case 'r':
			t.scratch = append(t.scratch, '\r')
		case 't':
			t.scratch = append(t.scratch, '\t')
		default:
			t.pos--
			return t.syntaxError(c, "in a string escape")
		}
		return nil
	}
	r, err := t.readHex4()
	if err != nil {
		return err
	}
	if utf16.IsSurrogate(r) {
		// A high surrogate followed by a low one is one character; anything
		// else is U+FFFD, and a following escape is read on its own.
		high := r
		r = utf8.RuneError
		t.ensure(6)
		if high < 0xDC00 && t.filled-t.pos >= 6 && t.buf[t.pos] == '\\' && t.buf[t.pos+1] == 'u' {
			if low, ok := parseHex4(t.buf[t.pos+2 : t.pos+6]); ok {
				if pair := utf16.DecodeRune(high, low); pair != utf8.RuneError {
					r = pair
					t.pos += 6
				}
			}
		}
	}
	t.scratch = utf8.AppendRune(t.scratch, r)
	return nil
}

// readHex4 reads a \\uXXXX escape.
func (t *tokenReader) readHex4() (rune, error) {
	t.ensure(6)
	if t.filled-t.pos < 6 {
		return 0, t.eof()
	}
	r, ok := parseHex4(t.buf[t.pos+2 : t.pos+6])
	if !ok {
		return 0, fmt.Errorf("invalid escape %q in a string at offset %d", t.buf[t.pos:t.pos+6], t.offset+int64(t.pos))
	}
	t.pos += 6
	return r, nil
}

// parseHex4 parses four hexadecimal digits.
func parseHex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		if !isHex(c) {
			return 0, false
		}
		r = r<<4 | rune(unhex(c))
	}
	return r, true
}
