package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DecodeForm reads an application/x-www-form-urlencoded request body and
// returns its params, nesting fields by brackets the way upstream clnrest's
// serde_qs does: a[b]=1 → {"a":{"b":"1"}}, a[0]=x&a[1]=y → {"a":["x","y"]},
// a[]=x&a[]=y → {"a":["x","y"]}, and a repeated name a=x&a=y (what HTML forms
// and Python's requests send for a list) → {"a":["x","y"]}. An object whose
// keys are all indices becomes an array ordered by index, gaps closed up.
//
// Every value is a string, as with upstream: 1000 stays "1000" (lightningd
// reads numbers and amounts from strings) and true stays "true" (lightningd
// wants a real boolean, so send JSON for boolean params). a= is the empty
// string; a name without = is null (and so removed by RemoveNulls).
//
// Unlike upstream, percent-encoded brackets (%5B, %5D), which browsers and
// most HTTP libraries send, nest like literal ones; a key nested deeper than
// lim.MaxDepth is refused rather than cut off; malformed percent escapes are
// kept literally; a name used both as a value and as a nested map is refused.
func DecodeForm(r io.Reader, lim Limits) (json.RawMessage, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading form body: %w", err)
	}
	f := formBuilder{b: newBudget(lim), root: &formNode{kind: formObject}}
	for field := range bytes.SplitSeq(bytes.TrimSpace(data), []byte("&")) {
		if len(field) == 0 {
			continue
		}
		if err := f.field(field); err != nil {
			return nil, syntaxErr("form", err)
		}
	}
	return f.root.finish(true).marshal(), nil
}

// formKind is what a formNode has become so far.
type formKind uint8

const (
	formUnset formKind = iota
	formLeaf
	formList
	formObject
)

// formNode collects the fields under one name.
type formNode struct {
	kind     formKind
	leaf     *value      // formLeaf: a string, or null
	items    []*formNode // formList
	keys     []string    // formObject, in first-seen order
	children []*formNode // formObject, parallel to keys
	index    map[string]int
}

// formBuilder builds params from form fields within its budget.
type formBuilder struct {
	b    *budget
	root *formNode
}

// field adds one name=value field.
func (f *formBuilder) field(field []byte) error {
	rawKey, rawVal, hasValue := bytes.Cut(field, []byte("="))
	key, val := formUnescape(rawKey), &value{kind: kindNull}
	if hasValue {
		val = stringValue(formUnescape(rawVal))
	}
	if !utf8.ValidString(key) || !utf8.ValidString(val.text) {
		return fmt.Errorf("field %q is not valid UTF-8", key)
	}
	name, path, err := splitFormKey(key, f.b.lim.MaxDepth)
	if err != nil {
		return err
	}
	if err := f.b.key(); err != nil {
		return err
	}
	node, err := f.root.child(name, key)
	for i, segment := range path {
		if err != nil {
			return err
		}
		if segment == "" {
			if i != len(path)-1 {
				return fmt.Errorf("field %q: [] must be the last bracket", key)
			}
			return node.add(val, key, true)
		}
		node, err = node.child(segment, key)
	}
	if err != nil {
		return err
	}
	return node.add(val, key, false)
}

// splitFormKey splits a[b][0][] into "a" and ["b", "0", ""], refusing more
// brackets than maxDepth allows (the params object is level 1).
func splitFormKey(key string, maxDepth int) (name string, path []string, err error) {
	open := strings.IndexByte(key, '[')
	if open < 0 {
		return key, nil, nil
	}
	name, rest := key[:open], key[open:]
	for rest != "" {
		end := strings.IndexByte(rest, ']')
		if rest[0] != '[' || end < 0 {
			return "", nil, fmt.Errorf("field %q has unbalanced brackets", key)
		}
		if 1+len(path) >= maxDepth {
			return "", nil, &LimitError{Limit: "depth", Max: maxDepth}
		}
		path = append(path, rest[1:end])
		rest = rest[end+1:]
	}
	return name, path, nil
}

// child returns the member name of n, making n an object if it is unset.
func (n *formNode) child(name, field string) (*formNode, error) {
	switch n.kind {
	case formUnset:
		n.kind = formObject
	case formObject:
	default:
		return nil, fmt.Errorf("field %q uses a name both as a value and as a nested map", field)
	}
	if i, ok := n.index[name]; ok {
		return n.children[i], nil
	}
	if n.index == nil {
		n.index = make(map[string]int)
	}
	c := &formNode{}
	n.index[name] = len(n.keys)
	n.keys = append(n.keys, name)
	n.children = append(n.children, c)
	return c, nil
}

// add gives n a value; a second value, or list (from a[]=), makes n a list.
func (n *formNode) add(v *value, field string, list bool) error {
	switch n.kind {
	case formUnset:
		if list {
			n.kind, n.items = formList, []*formNode{{kind: formLeaf, leaf: v}}
			return nil
		}
		n.kind, n.leaf = formLeaf, v
	case formLeaf:
		n.kind, n.items = formList, []*formNode{{kind: formLeaf, leaf: n.leaf}, {kind: formLeaf, leaf: v}}
		n.leaf = nil
	case formList:
		n.items = append(n.items, &formNode{kind: formLeaf, leaf: v})
	default:
		return errors.New("field " + strconv.Quote(field) + " uses a name both as a nested map and as a value")
	}
	return nil
}

// finish turns the collected fields into a value; top (the params) stays an
// object even when its names are all digits.
func (n *formNode) finish(top bool) *value {
	switch n.kind {
	case formLeaf:
		return n.leaf
	case formList:
		arr := &value{kind: kindArray, items: make([]*value, len(n.items))}
		for i, item := range n.items {
			arr.items[i] = item.finish(false)
		}
		return arr
	case formObject:
		if order, ok := indexOrder(n.keys); ok && !top {
			arr := &value{kind: kindArray, items: make([]*value, len(order))}
			for i, pos := range order {
				arr.items[i] = n.children[pos].finish(false)
			}
			return arr
		}
		obj := &value{kind: kindObject}
		for i, key := range n.keys {
			obj.add(key, n.children[i].finish(false))
		}
		return obj
	}
	return &value{kind: kindNull}
}

// indexOrder reports whether all keys are array indices and, if so, the
// positions of keys sorted by index.
func indexOrder(keys []string) ([]int, bool) {
	nums := make([]int, len(keys))
	for i, k := range keys {
		if k == "" || len(k) > 9 || skipDigits(k, 0) != len(k) {
			return nil, false
		}
		nums[i], _ = strconv.Atoi(k)
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return nums[a] - nums[b] })
	return order, true
}

// formUnescape decodes + as a space and %XX escapes; a % not followed by
// two hex digits is kept as it is.
func formUnescape(b []byte) string {
	if bytes.IndexByte(b, '%') < 0 && bytes.IndexByte(b, '+') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '+':
			out = append(out, ' ')
		case b[i] == '%' && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]):
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
		default:
			out = append(out, b[i])
		}
	}
	return string(out)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
