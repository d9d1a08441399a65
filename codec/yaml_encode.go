package codec

import (
	"bufio"
	"fmt"
	"io"
)

// EncodeYAML writes the JSON value read from r to w as block-style YAML in
// the compact layout upstream clnrest emits: two-space indentation, and a
// sequence under a key indented no further than the key, so a listdatastore
// result reads "datastore:\n- key:\n  - project\n  string: ...". Empty arrays
// and objects are written as [] and {}.
//
// It streams: tokens are read from r and written as they come, so memory does
// not grow with the size of the result. Member order is kept. Numbers are
// written exactly as in the JSON; strings are plain when YAML would read them
// back as that same string, single-quoted when they only need protecting
// (such as "123", "true", "null" or "a: b"), and double-quoted with escapes
// when they hold line breaks or other non-printable characters.
func EncodeYAML(w io.Writer, r io.Reader) error {
	e := yamlEncoder{t: newTokenReader(r), w: bufio.NewWriterSize(w, 32<<10)}
	if err := e.document(); err != nil {
		return fmt.Errorf("encoding YAML: %w", err)
	}
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("encoding YAML: %w", err)
	}
	return nil
}

// yamlEncoder writes YAML from a JSON token stream. Write errors stick in the
// bufio.Writer and are reported by the final Flush.
type yamlEncoder struct {
	t   *tokenReader
	w   *bufio.Writer
	buf []byte // scratch for scalars
}

func (e *yamlEncoder) document() error {
	tok, err := e.t.next()
	if err != nil {
		return err
	}
	if err := e.item(tok, 0, false, 1); err != nil {
		return err
	}
	return e.t.end()
}

// item writes a value that stands alone on its line: the top-level value,
// or a sequence entry after its "- ". inline means the cursor already sits
// at column ind.
func (e *yamlEncoder) item(tok token, ind int, inline bool, depth int) error {
	if depth > maxEncodeDepth {
		return &LimitError{Limit: "depth", Max: maxEncodeDepth}
	}
	empty, err := e.emptyContainer(tok)
	switch {
	case err != nil:
		return err
	case empty != "":
		e.w.WriteString(empty)
		return e.w.WriteByte('\n')
	case tok.kind == tokBeginObject:
		return e.mapping(ind, inline, depth)
	case tok.kind == tokBeginArray:
		return e.sequence(ind, inline, depth)
	}
	e.scalar(tok)
	return e.w.WriteByte('\n')
}

// emptyContainer returns "{}" or "[]" (consuming the closing token) when tok
// opens an empty object or array, and "" otherwise.
func (e *yamlEncoder) emptyContainer(tok token) (string, error) {
	if tok.kind != tokBeginObject && tok.kind != tokBeginArray {
		return "", nil
	}
	next, err := e.t.peek()
	if err != nil {
		return "", err
	}
	if next.kind == tokEndObject || next.kind == tokEndArray {
		_, err := e.t.next()
		if tok.kind == tokBeginObject {
			return "{}", err
		}
		return "[]", err
	}
	return "", nil
}

// mapping writes the members of a non-empty object, its '{' consumed.
func (e *yamlEncoder) mapping(ind int, inline bool, depth int) error {
	for first := true; ; first = false {
		tok, err := e.t.next()
		if err != nil {
			return err
		}
		if tok.kind == tokEndObject {
			return nil
		}
		if !first || !inline {
			e.indent(ind)
		}
		key := tok.text
		e.key(key, ind)
		if tok, err = e.t.next(); err != nil {
			return err
		}
		if err := e.member(tok, ind, depth); err != nil {
			return err
		}
	}
}

// member writes the value of a mapping entry after its "key:".
func (e *yamlEncoder) member(tok token, ind, depth int) error {
	if depth+1 > maxEncodeDepth {
		return &LimitError{Limit: "depth", Max: maxEncodeDepth}
	}
	empty, err := e.emptyContainer(tok)
	switch {
	case err != nil:
		return err
	case empty != "":
		e.w.WriteByte(' ')
		e.w.WriteString(empty)
		return e.w.WriteByte('\n')
	case tok.kind == tokBeginObject:
		e.w.WriteByte('\n')
		return e.mapping(ind+2, false, depth+1)
	case tok.kind == tokBeginArray:
		e.w.WriteByte('\n')
		return e.sequence(ind, false, depth+1)
	}
	e.w.WriteByte(' ')
	e.scalar(tok)
	return e.w.WriteByte('\n')
}

// sequence writes the entries of a non-empty array, its '[' consumed.
func (e *yamlEncoder) sequence(ind int, inline bool, depth int) error {
	for first := true; ; first = false {
		tok, err := e.t.next()
		if err != nil {
			return err
		}
		if tok.kind == tokEndArray {
			return nil
		}
		if !first || !inline {
			e.indent(ind)
		}
		e.w.WriteString("- ")
		if err := e.item(tok, ind+2, true, depth+1); err != nil {
			return err
		}
	}
}

// key writes a mapping key and its colon. Keys too long to be implicit
// (YAML allows 1024 characters) use the explicit "? key\n:" form.
func (e *yamlEncoder) key(key string, ind int) {
	e.buf = appendYAMLString(e.buf[:0], key)
	if len(e.buf) > 1000 {
		e.w.WriteString("? ")
		e.w.Write(e.buf)
		e.w.WriteByte('\n')
		e.indent(ind)
	} else {
		e.w.Write(e.buf)
	}
	e.w.WriteByte(':')
}

// scalar writes a scalar token.
func (e *yamlEncoder) scalar(tok token) {
	text, isString := tok.scalarText()
	if !isString {
		e.w.WriteString(text)
		return
	}
	e.buf = appendYAMLString(e.buf[:0], text)
	e.w.Write(e.buf)
}

func (e *yamlEncoder) indent(n int) {
	const spaces = "                                                                "
	for n > len(spaces) {
		e.w.WriteString(spaces)
		n -= len(spaces)
	}
	e.w.WriteString(spaces[:n])
}
