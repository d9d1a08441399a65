package codec

import (
	"errors"
	"fmt"
	"io"
)

// maxEncodeDepth bounds the nesting the encoders follow. Their input comes
// from lightningd, whose results nest a handful of levels; the bound keeps a
// broken result from recursing without end.
const maxEncodeDepth = 1000

// tokenKind is the kind of a JSON token.
type tokenKind uint8

const (
	tokBeginObject tokenKind = iota + 1
	tokEndObject
	tokBeginArray
	tokEndArray
	tokString
	tokNumber
	tokTrue
	tokFalse
	tokNull
)

// token is one JSON token. text is the unescaped value of a string and the
// exact literal of a number.
type token struct {
	kind tokenKind
	text string
}

// scalarText returns the JSON text of a scalar token: the literal of a
// number, bool or null, or the (unescaped) string. isString tells which.
func (tok token) scalarText() (text string, isString bool) {
	switch tok.kind {
	case tokString:
		return tok.text, true
	case tokNumber:
		return tok.text, false
	case tokTrue:
		return "true", false
	case tokFalse:
		return "false", false
	}
	return "null", false
}

// describe names the JSON type that tok starts, for error messages.
func (tok token) describe() string {
	switch tok.kind {
	case tokBeginArray:
		return "an array"
	case tokBeginObject:
		return "an object"
	case tokString:
		return "a string"
	case tokNumber:
		return "a number"
	case tokTrue, tokFalse:
		return "a boolean"
	}
	return "null"
}

// expect is what the grammar allows next.
type expect uint8

const (
	expValue      expect = iota // a value: at the top, after : or after , in an array
	expValueOrEnd               // after [
	expKeyOrEnd                 // after {
	expKey                      // after , in an object
	expColon                    // after a key
	expCommaOrEnd               // after a value inside a container
	expNothing                  // after the top-level value
)

// tokenReader reads one JSON value from a stream token by token, with one
// token of look-ahead, checking the grammar as it goes (RFC 8259; invalid
// UTF-8 and lone surrogates in strings become U+FFFD, as encoding/json does).
// It replaces json.Decoder.Token, which costs several allocations a token:
// this one allocates only the text of strings and numbers.
type tokenReader struct {
	r       io.Reader
	buf     []byte
	pos     int
	filled  int   // buf[pos:filled] is unread input
	offset  int64 // input offset of buf[0]
	rerr    error // sticky read error; io.EOF at the end
	stack   []tokenKind
	state   expect
	scratch []byte
	peeked  bool
	ptok    token
	perr    error
}

func newTokenReader(r io.Reader) *tokenReader {
	return &tokenReader{r: r, buf: make([]byte, 32<<10)}
}

// next returns the next token; the end of input before the value ends is
// io.ErrUnexpectedEOF.
func (t *tokenReader) next() (token, error) {
	if t.peeked {
		t.peeked = false
		return t.ptok, t.perr
	}
	return t.scan()
}

// peek returns the next token without consuming it.
func (t *tokenReader) peek() (token, error) {
	if !t.peeked {
		t.ptok, t.perr = t.scan()
		t.peeked = true
	}
	return t.ptok, t.perr
}

// end checks that the value is complete and nothing but white space follows.
func (t *tokenReader) end() error {
	if t.peeked || t.state != expNothing {
		return errors.New("unexpected data after the top-level value")
	}
	c, ok := t.skipSpace()
	if ok {
		return t.syntaxError(c, "after the top-level value")
	}
	return t.readErr()
}

// readErr returns the read error that stopped input, nil at a clean end.
func (t *tokenReader) readErr() error {
	if errors.Is(t.rerr, io.EOF) {
		return nil
	}
	return t.rerr
}

// fill reads more input, keeping the unread bytes; it reports whether any
// byte is available.
func (t *tokenReader) fill() bool {
	if t.pos < t.filled {
		return true
	}
	if t.rerr != nil {
		return false
	}
	t.offset += int64(t.filled)
	t.pos, t.filled = 0, 0
	for t.filled == 0 && t.rerr == nil {
		var n int
		n, t.rerr = t.r.Read(t.buf)
		t.filled = n
	}
	return t.filled > 0
}

// ensure makes at least n bytes available when the input has them.
func (t *tokenReader) ensure(n int) {
	if t.filled-t.pos >= n || t.rerr != nil {
		return
	}
	copy(t.buf, t.buf[t.pos:t.filled])
	t.offset += int64(t.pos)
	t.filled -= t.pos
	t.pos = 0
	for t.filled < n && t.rerr == nil {
		var m int
		m, t.rerr = t.r.Read(t.buf[t.filled:])
		t.filled += m
	}
}

// skipSpace skips white space and returns the next byte, unconsumed.
func (t *tokenReader) skipSpace() (byte, bool) {
	for t.fill() {
		c := t.buf[t.pos]
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, true
		}
		t.pos++
	}
	return 0, false
}

// eof reports the end of input inside the value.
func (t *tokenReader) eof() error {
	if err := t.readErr(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

func (t *tokenReader) syntaxError(c byte, where string) error {
	return fmt.Errorf("invalid character %q %s at offset %d", c, where, t.offset+int64(t.pos))
}
