package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// DecodeJSON reads a JSON request body and returns it, compacted, as params.
// The body must be one JSON object within lim; duplicate keys at any depth are
// refused (lightningd would see only one of them, and which one is a guess).
// The body must be UTF-8, as RFC 8259 asks (it is passed on as it is). A body
// of only white space means no params: {}. Numbers keep their text.
func DecodeJSON(r io.Reader, lim Limits) (json.RawMessage, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading JSON body: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return json.RawMessage("{}"), nil
	}
	if !utf8.Valid(data) {
		return nil, syntaxErr("JSON", errors.New("the body is not valid UTF-8"))
	}
	c := jsonChecker{t: newTokenReader(bytes.NewReader(data)), b: newBudget(lim)}
	if err := c.document(); err != nil {
		return nil, syntaxErr("JSON", err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, data); err != nil {
		return nil, syntaxErr("JSON", err)
	}
	return json.RawMessage(out.Bytes()), nil
}

// jsonChecker validates a JSON body against its budget.
type jsonChecker struct {
	t *tokenReader
	b *budget
}

func (c *jsonChecker) document() error {
	tok, err := c.t.next()
	if err != nil {
		return err
	}
	if tok.kind != tokBeginObject {
		return notObject(tok.describe())
	}
	if err := c.object(1); err != nil {
		return err
	}
	return c.t.end()
}

func (c *jsonChecker) value(tok token, depth int) error {
	switch {
	case tok.kind == tokBeginObject:
		return c.object(depth)
	case tok.kind == tokBeginArray:
		return c.array(depth)
	}
	return nil
}

func (c *jsonChecker) object(depth int) error {
	if err := c.b.depth(depth); err != nil {
		return err
	}
	seen := make(map[string]struct{})
	for {
		tok, err := c.t.next()
		if err != nil {
			return err
		}
		if tok.kind == tokEndObject {
			return nil
		}
		key := tok.text
		if _, dup := seen[key]; dup {
			return fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = struct{}{}
		if err := c.b.key(); err != nil {
			return err
		}
		if tok, err = c.t.next(); err != nil {
			return err
		}
		if err := c.value(tok, depth+1); err != nil {
			return err
		}
	}
}

func (c *jsonChecker) array(depth int) error {
	if err := c.b.depth(depth); err != nil {
		return err
	}
	for {
		tok, err := c.t.next()
		if err != nil {
			return err
		}
		if tok.kind == tokEndArray {
			return nil
		}
		if err := c.b.key(); err != nil {
			return err
		}
		if err := c.value(tok, depth+1); err != nil {
			return err
		}
	}
}

// RemoveNulls returns params with every object member whose value is null
// removed, at any depth, as the REST contract asks; lightningd treats an
// absent param as "use the default", a null one as an error. Like upstream
// clnrest it leaves null array elements alone, since removing them would
// shift the positions of the others. Numbers keep their text.
func RemoveNulls(params json.RawMessage) (json.RawMessage, error) {
	t := newTokenReader(bytes.NewReader(params))
	tok, err := t.next()
	if err != nil {
		return nil, syntaxErr("JSON", err)
	}
	out, err := appendWithoutNulls(make([]byte, 0, len(params)), t, tok, 1)
	if err == nil {
		err = t.end()
	}
	if err != nil {
		return nil, syntaxErr("JSON", err)
	}
	return json.RawMessage(out), nil
}

// appendWithoutNulls appends the value starting with tok, minus null members.
func appendWithoutNulls(buf []byte, t *tokenReader, tok token, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return nil, &LimitError{Limit: "depth", Max: maxEncodeDepth}
	}
	object := tok.kind == tokBeginObject
	if !object && tok.kind != tokBeginArray {
		text, isString := tok.scalarText()
		if isString {
			return appendJSONString(buf, text), nil
		}
		return append(buf, text...), nil
	}
	open, closing, closeKind := byte('['), byte(']'), tokEndArray
	if object {
		open, closing, closeKind = '{', '}', tokEndObject
	}
	buf = append(buf, open)
	for first := true; ; {
		tok, err := t.next()
		if err != nil {
			return nil, err
		}
		if tok.kind == closeKind {
			return append(buf, closing), nil
		}
		var key string
		if object {
			key = tok.text
			if tok, err = t.next(); err != nil {
				return nil, err
			}
			if tok.kind == tokNull {
				continue
			}
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		if object {
			buf = append(appendJSONString(buf, key), ':')
		}
		if buf, err = appendWithoutNulls(buf, t, tok, depth+1); err != nil {
			return nil, err
		}
	}
}
