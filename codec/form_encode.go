package codec

import (
	"bufio"
	"encoding/json"
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
	started bool // a field has been written, so the next needs an &
}

func (e *formEncoder) document() error {
	tok, err := e.t.next()
	if err != nil {
		return err
	}
	if !isDelim(tok, '{') {
		return fmt.Errorf("only an object can be form-encoded, not %s", describeToken(tok))
	}
	if err := e.members(nil, 1); err != nil {
		return err
	}
	return e.t.end()
}

// members writes the members of an object, its '{' consumed, under prefix
// (the encoded field name so far; nil at the top).
func (e *formEncoder) members(prefix []byte, depth int) error {
	for {
		tok, err := e.t.next()
		if err != nil || isDelim(tok, '}') {
			return err
		}
		key, _ := tok.(string)
		var name []byte
		if prefix == nil {
			name = appendFormEscaped(make([]byte, 0, len(key)+8), key)
		} else {
			name = append(appendFormEscaped(append(slicesClip(prefix), '['), key), ']')
		}
		if tok, err = e.t.next(); err != nil {
			return err
		}
		if err := e.value(name, tok, depth+1); err != nil {
			return err
		}
	}
}

// items writes the entries of an array, its '[' consumed, as name[i].
func (e *formEncoder) items(prefix []byte, depth int) error {
	for i := 0; ; i++ {
		tok, err := e.t.next()
		if err != nil || isDelim(tok, ']') {
			return err
		}
		name := append(strconv.AppendInt(append(slicesClip(prefix), '['), int64(i), 10), ']')
		if err := e.value(name, tok, depth+1); err != nil {
			return err
		}
	}
}

// value writes the value that starts with tok under the field name.
func (e *formEncoder) value(name []byte, tok json.Token, depth int) error {
	if depth > maxEncodeDepth {
		return &LimitError{Limit: "depth", Max: maxEncodeDepth}
	}
	if isDelim(tok, '{') || isDelim(tok, '[') {
		next, err := e.t.peek()
		if err != nil {
			return err
		}
		if !isDelim(next, '}') && !isDelim(next, ']') {
			if isDelim(tok, '{') {
				return e.members(name, depth)
			}
			return e.items(name, depth)
		}
		if _, err := e.t.next(); err != nil {
			return err
		}
		tok = nil
	}
	e.field(name)
	switch v := tok.(type) {
	case string:
		e.w.Write(appendFormEscaped(nil, v))
	case json.Number:
		e.w.WriteString(string(v))
	case bool:
		e.w.WriteString(strconv.FormatBool(v))
	}
	return nil
}

// field starts a field: the separator, the name and the =.
func (e *formEncoder) field(name []byte) {
	if e.started {
		e.w.WriteByte('&')
	}
	e.started = true
	e.w.Write(name)
	e.w.WriteByte('=')
}

// slicesClip returns b with its capacity cut to its length, so appending to
// it copies instead of overwriting a sibling's name.
func slicesClip(b []byte) []byte { return b[:len(b):len(b)] }

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
