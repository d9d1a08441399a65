package codec

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// EncodeForm writes the JSON object read from r to w as
// application/x-www-form-urlencoded fields with bracket nesting, as upstream
// clnrest's serde_qs does: datastore[0][key][0]=project, brackets not
// percent-encoded, spaces as +. Scalars are written as their text (numbers
// exactly as in the JSON, true/false); null, "", [] and {} are written as an
// empty value (key=), so an empty array or object still shows its key.
//
// Unlike upstream, a % in a value is percent-encoded (upstream leaves it,
// which makes the output ambiguous), there is no nesting limit (upstream
// fails beyond five levels), and an empty top-level object writes nothing
// (upstream writes "="). A top-level value that is not an object is an
// error, reported before anything is written.
//
// It streams: tokens are read from r and written as they come.
func EncodeForm(w io.Writer, r io.Reader) error {
	e := formEncoder{t: newTokenReader(r), w: bufio.NewWriterSize(w, 32<<10)}
	if err := e.document(); err != nil {
		return fmt.Errorf("encoding form: %w", err)
	}
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("encoding form: %w", err)
	}
	return nil
}

// formEncoder writes form fields from a JSON token stream. Write errors
// stick in the bufio.Writer and are reported by the final Flush.
type formEncoder struct {
	t       *tokenReader
	w       *bufio.Writer
	started bool   // a field has been written, so the next needs an &
	name    []byte // the encoded name of the field being written
	scratch []byte // an encoded value
}

func (e *formEncoder) document() error {
	tok, err := e.t.next()
	if err != nil {
		return err
	}
	if tok.kind != tokBeginObject {
		return fmt.Errorf("only an object can be form-encoded, not %s", tok.describe())
	}
	if err := e.members(1); err != nil {
		return err
	}
	return e.t.end()
}

// members writes the members of an object, its '{' consumed, under the
// field name built so far in e.name (empty at the top).
func (e *formEncoder) members(depth int) error {
	base := len(e.name)
	defer func() { e.name = e.name[:base] }()
	for {
		tok, err := e.t.next()
		if err != nil || tok.kind == tokEndObject {
			return err
		}
		e.name = e.name[:base]
		if depth == 1 {
			e.name = appendFormEscaped(e.name, tok.text)
		} else {
			e.name = append(appendFormEscaped(append(e.name, '['), tok.text), ']')
		}
		if tok, err = e.t.next(); err != nil {
			return err
		}
		if err := e.value(tok, depth+1); err != nil {
			return err
		}
	}
}

// items writes the entries of an array, its '[' consumed, as name[i].
func (e *formEncoder) items(depth int) error {
	base := len(e.name)
	defer func() { e.name = e.name[:base] }()
	for i := 0; ; i++ {
		tok, err := e.t.next()
		if err != nil || tok.kind == tokEndArray {
			return err
		}
		e.name = append(strconv.AppendInt(append(e.name[:base], '['), int64(i), 10), ']')
		if err := e.value(tok, depth+1); err != nil {
			return err
		}
	}
}

// value writes the value that starts with tok under the field name e.name.
func (e *formEncoder) value(tok token, depth int) error {
	if depth > maxEncodeDepth {
		return &LimitError{Limit: "depth", Max: maxEncodeDepth}
	}
	if tok.kind == tokBeginObject || tok.kind == tokBeginArray {
		next, err := e.t.peek()
		if err != nil {
			return err
		}
		if next.kind != tokEndObject && next.kind != tokEndArray {
			if tok.kind == tokBeginObject {
				return e.members(depth)
			}
			return e.items(depth)
		}
		if _, err := e.t.next(); err != nil {
			return err
		}
		tok = token{kind: tokNull}
	}
	e.field()
	switch text, isString := tok.scalarText(); {
	case isString:
		e.scratch = appendFormEscaped(e.scratch[:0], text)
		e.w.Write(e.scratch)
	case tok.kind != tokNull:
		e.w.WriteString(text)
	}
	return nil
}

// field starts a field: the separator, the name and the =.
func (e *formEncoder) field() {
	if e.started {
		e.w.WriteByte('&')
	}
	e.started = true
	e.w.Write(e.name)
	e.w.WriteByte('=')
}

// appendFormEscaped appends s percent-encoded for a form field: unreserved
// characters and the sub-delimiters that carry no meaning in a form are
// kept, a space becomes +, everything else (including [ ] & = + % #) is %XX.
func appendFormEscaped(buf []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			buf = append(buf, c)
		case c == ' ':
			buf = append(buf, '+')
		case c < 0x80 && isFormSafe(c):
			buf = append(buf, c)
		default:
			buf = append(buf, '%', hex[c>>4], hex[c&0xf])
		}
	}
	return buf
}

// isFormSafe reports whether punctuation c may appear unescaped in a form
// field name or value.
func isFormSafe(c byte) bool {
	switch c {
	case '-', '.', '_', '~', '!', '$', '\'', '(', ')', '*', ',', '/', ':', '?', '@':
		return true
	}
	return false
}
