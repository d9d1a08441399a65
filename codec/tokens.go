package codec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxEncodeDepth bounds the nesting the encoders follow. Their input comes
// from lightningd, whose results nest a handful of levels; the bound keeps a
// broken result from recursing without end.
const maxEncodeDepth = 1000

// tokenReader reads a JSON value token by token, with one token of
// look-ahead. Numbers come back as json.Number with their exact text.
type tokenReader struct {
	dec    *json.Decoder
	peeked bool
	tok    json.Token
	err    error
}

func newTokenReader(r io.Reader) *tokenReader {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return &tokenReader{dec: dec}
}

// next returns the next token; the end of input before a value ends is
// io.ErrUnexpectedEOF.
func (t *tokenReader) next() (json.Token, error) {
	if t.peeked {
		t.peeked = false
		return t.tok, t.err
	}
	tok, err := t.dec.Token()
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return tok, err
}

// peek returns the next token without consuming it.
func (t *tokenReader) peek() (json.Token, error) {
	if !t.peeked {
		t.tok, t.err = t.next()
		t.peeked = true
	}
	return t.tok, t.err
}

// end checks that nothing but white space follows the value just read.
func (t *tokenReader) end() error {
	if t.peeked {
		return fmt.Errorf("unexpected %v after the top-level value", t.tok)
	}
	if _, err := t.dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			return errors.New("unexpected data after the top-level value")
		}
		return err
	}
	return nil
}

// isDelim reports whether tok is the delimiter d.
func isDelim(tok json.Token, d json.Delim) bool {
	got, ok := tok.(json.Delim)
	return ok && got == d
}

// skipValue consumes the value that starts with tok.
func (t *tokenReader) skipValue(tok json.Token) error {
	if !isDelim(tok, '{') && !isDelim(tok, '[') {
		return nil
	}
	for open := 1; open > 0; {
		tok, err := t.next()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				open++
			} else {
				open--
			}
		}
	}
	return nil
}

// scalarText returns the JSON text of a scalar token: the literal of a
// number, bool or null, or the (unquoted) string. isString tells which.
func scalarText(tok json.Token) (text string, isString bool) {
	switch v := tok.(type) {
	case string:
		return v, true
	case json.Number:
		return string(v), false
	case bool:
		if v {
			return "true", false
		}
		return "false", false
	default:
		return "null", false
	}
}
