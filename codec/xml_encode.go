package codec

import (
	"bufio"
	"fmt"
	"io"
	"unicode/utf8"
)

// xmlItem names the elements of an array that is itself an array element
// (or the top-level value), which has no key of its own to repeat.
const xmlItem = "item"

// EncodeXML writes the JSON value read from r to w as an XML document whose
// root element is root (the method name), as upstream clnrest does: object
// members become child elements in order, an array becomes its key's element
// repeated once per entry (so an empty array writes nothing), scalars become
// text (true/false, numbers exactly as in the JSON), and null, "" and {}
// become an empty element <key/>. No XML declaration is written.
//
// Where upstream fails or is ambiguous this does something definite: a key
// that is not an XML name is escaped (see xmlName) instead of failing the
// response; keys starting with @ or $ are ordinary elements rather than
// attributes or text; an array inside an array becomes one element per
// inner array holding <item> elements, instead of being flattened; a
// top-level array becomes <item> elements under the root. Characters that
// XML 1.0 cannot carry at all (control characters other than tab and line
// breaks) are replaced by U+FFFD; a carriage return is written as &#xD; so
// that it survives parsing.
//
// It streams: tokens are read from r and written as they come.
func EncodeXML(w io.Writer, r io.Reader, root string) error {
	e := xmlEncoder{t: newTokenReader(r), w: bufio.NewWriterSize(w, 32<<10)}
	if err := e.document(xmlName(root)); err != nil {
		return fmt.Errorf("encoding XML: %w", err)
	}
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("encoding XML: %w", err)
	}
	return nil
}

// xmlEncoder writes XML from a JSON token stream. Write errors stick in the
// bufio.Writer and are reported by the final Flush.
type xmlEncoder struct {
	t *tokenReader
	w *bufio.Writer
}

func (e *xmlEncoder) document(root string) error {
	tok, err := e.t.next()
	if err != nil {
		return err
	}
	if err := e.element(root, tok, 1); err != nil {
		return err
	}
	return e.t.end()
}

// element writes the value that starts with tok as the element name.
func (e *xmlEncoder) element(name string, tok token, depth int) error {
	if depth > maxEncodeDepth {
		return &LimitError{Limit: "depth", Max: maxEncodeDepth}
	}
	if tok.kind != tokBeginObject && tok.kind != tokBeginArray {
		text, _ := tok.scalarText()
		if tok.kind == tokNull || text == "" {
			return e.empty(name)
		}
		e.open(name)
		e.text(text)
		return e.close(name)
	}
	e.w.WriteByte('<')
	e.w.WriteString(name)
	var children bool
	var err error
	if tok.kind == tokBeginObject {
		children, err = e.members(depth)
	} else {
		children, err = e.items(xmlItem, depth, true)
	}
	if err != nil {
		return err
	}
	if !children {
		_, err := e.w.WriteString("/>")
		return err
	}
	return e.close(name)
}

// members writes an object's members as child elements, its '{' consumed
// and its start tag left open; it closes the start tag before the first
// child and reports whether there was one.
func (e *xmlEncoder) members(depth int) (bool, error) {
	children := false
	for {
		tok, err := e.t.next()
		if err != nil || tok.kind == tokEndObject {
			return children, err
		}
		key := tok.text
		if tok, err = e.t.next(); err != nil {
			return children, err
		}
		if !children {
			e.w.WriteByte('>')
			children = true
		}
		name := xmlName(key)
		if tok.kind == tokBeginArray {
			_, err = e.items(name, depth, false)
		} else {
			err = e.element(name, tok, depth+1)
		}
		if err != nil {
			return children, err
		}
	}
}

// items writes each entry of an array, its '[' consumed, as an element
// called name. With openTag set, a start tag is pending and is closed before
// the first entry; it reports whether there was one.
func (e *xmlEncoder) items(name string, depth int, openTag bool) (bool, error) {
	wrote := false
	for {
		tok, err := e.t.next()
		if err != nil || tok.kind == tokEndArray {
			return wrote, err
		}
		if openTag && !wrote {
			e.w.WriteByte('>')
		}
		wrote = true
		if err := e.element(name, tok, depth+1); err != nil {
			return wrote, err
		}
	}
}

func (e *xmlEncoder) open(name string) {
	e.w.WriteByte('<')
	e.w.WriteString(name)
	e.w.WriteByte('>')
}

func (e *xmlEncoder) close(name string) error {
	e.w.WriteString("</")
	e.w.WriteString(name)
	return e.w.WriteByte('>')
}

func (e *xmlEncoder) empty(name string) error {
	e.w.WriteByte('<')
	e.w.WriteString(name)
	_, err := e.w.WriteString("/>")
	return err
}

// text writes s as escaped character data.
func (e *xmlEncoder) text(s string) {
	start := 0
	for i, r := range s {
		var esc string
		switch {
		case r == '&':
			esc = "&amp;"
		case r == '<':
			esc = "&lt;"
		case r == '>':
			esc = "&gt;"
		case r == '\r':
			esc = "&#xD;"
		case r == '\t' || r == '\n':
			continue
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF:
			esc = "\uFFFD"
		default:
			continue
		}
		e.w.WriteString(s[start:i])
		e.w.WriteString(esc)
		start = i + utf8.RuneLen(r)
	}
	e.w.WriteString(s[start:])
}
