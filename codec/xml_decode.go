package codec

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DecodeXML reads an XML request body and returns its params: the root
// element must be named root (the method name) and each child element
// becomes a param, as upstream clnrest does (<listdatastore><key>project
// </key></listdatastore> → {"key":"project"}).
//
// An element with child elements is an object; a name repeated among
// siblings becomes an array in document order (so a one-entry array cannot
// be written; send JSON for that). An element with only text is a scalar,
// typed like upstream's converter but without its losses: the text, trimmed
// of surrounding white space, is a boolean if it is true or false, a number
// if it is a JSON number literal (kept exactly as written, so
// 18446744073709551615 stays exact and 007 or +5 stay strings), and a string
// otherwise. An empty element is the empty string (upstream gives {}).
// Attributes become members named "@name" (namespace declarations are
// ignored), and text beside child elements becomes "#text", as upstream;
// element names are taken without their namespace prefix and _xHHHH_ escapes
// in them are decoded (see xmlName).
//
// DTDs and other directives are refused, so no entity can expand; only the
// five predefined entities and character references are known. A body of
// only white space means no params: {}.
func DecodeXML(r io.Reader, root string, lim Limits) (json.RawMessage, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading XML body: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return json.RawMessage("{}"), nil
	}
	x := xmlBuilder{d: xml.NewDecoder(bytes.NewReader(data)), b: newBudget(lim)}
	v, err := x.document(root)
	if err != nil {
		return nil, syntaxErr("XML", err)
	}
	return v.marshal(), nil
}

// xmlBuilder turns an XML token stream into params within its budget.
type xmlBuilder struct {
	d *xml.Decoder
	b *budget
}

func (x *xmlBuilder) document(root string) (*value, error) {
	start, err := x.outside(true)
	if err != nil {
		return nil, err
	}
	if start == nil {
		return nil, errors.New("no root element")
	}
	if got := keyFromXMLName(start.Name.Local); got != root {
		return nil, fmt.Errorf("use the method name as root element: want <%s>, got <%s>", xmlName(root), start.Name.Local)
	}
	v, err := x.element(*start, 1, true)
	if err != nil {
		return nil, err
	}
	if _, err := x.outside(false); err != nil {
		return nil, err
	}
	return v, nil
}

// outside reads the tokens before (prolog) or after the root element, which
// may only be comments, processing instructions and white space. In the
// prolog it returns the root's start tag; after the root, nil at the end.
func (x *xmlBuilder) outside(prolog bool) (*xml.StartElement, error) {
	for {
		tok, err := x.d.Token()
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if prolog {
				return &t, nil
			}
			return nil, fmt.Errorf("element <%s> after the root element", t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("text outside the root element")
			}
		case xml.Directive:
			return nil, errors.New("DTDs and other <!...> directives are not allowed")
		}
	}
}

// element reads the content of the element that start opened, found at
// nesting level depth. The root (asObject) is always an object.
func (x *xmlBuilder) element(start xml.StartElement, depth int, asObject bool) (*value, error) {
	obj := &value{kind: kindObject}
	if err := x.attributes(obj, start.Attr, depth); err != nil {
		return nil, err
	}
	var text strings.Builder
	for {
		tok, err := x.d.Token()
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := x.child(obj, t, depth); err != nil {
				return nil, err
			}
		case xml.CharData:
			text.Write(t)
		case xml.Directive:
			return nil, errors.New("DTDs and other <!...> directives are not allowed")
		case xml.EndElement:
			return finishElement(obj, strings.TrimSpace(text.String()), asObject)
		}
	}
}

// finishElement makes the value of an element from its members and text.
func finishElement(obj *value, text string, asObject bool) (*value, error) {
	if len(obj.keys) == 0 && !asObject {
		return xmlScalar(text), nil
	}
	if text != "" {
		if asObject && len(obj.keys) == 0 {
			return nil, notObject("text")
		}
		addRepeated(obj, "#text", xmlScalar(text))
	}
	return obj, nil
}

// attributes adds an element's attributes to obj as "@name" members.
func (x *xmlBuilder) attributes(obj *value, attrs []xml.Attr, depth int) error {
	for _, a := range attrs {
		if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
			continue
		}
		if err := x.b.depth(depth); err != nil {
			return err
		}
		if err := x.b.key(); err != nil {
			return err
		}
		addRepeated(obj, "@"+keyFromXMLName(a.Name.Local), xmlScalar(strings.TrimSpace(a.Value)))
	}
	return nil
}

// child reads a child element of obj (at level depth) and adds it.
func (x *xmlBuilder) child(obj *value, start xml.StartElement, depth int) error {
	if err := x.b.depth(depth); err != nil {
		return err
	}
	if err := x.b.key(); err != nil {
		return err
	}
	v, err := x.element(start, depth+1, false)
	if err != nil {
		return err
	}
	addRepeated(obj, keyFromXMLName(start.Name.Local), v)
	return nil
}

// addRepeated adds a member, turning a repeated name into an array. XML
// values are never arrays otherwise, so an array member means a repeat.
func addRepeated(obj *value, key string, v *value) {
	i := obj.lookup(key)
	switch {
	case i < 0:
		obj.add(key, v)
	case obj.items[i].kind == kindArray:
		obj.items[i].items = append(obj.items[i].items, v)
	default:
		obj.items[i] = &value{kind: kindArray, items: []*value{obj.items[i], v}}
	}
}

// xmlScalar types the trimmed text of an element; see DecodeXML.
func xmlScalar(text string) *value {
	switch {
	case text == "true":
		return boolValue(true)
	case text == "false":
		return boolValue(false)
	case isJSONNumber(text):
		return numberValue(text)
	}
	return stringValue(text)
}

// unexpectedEOF turns the end of input inside an element into an error.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
