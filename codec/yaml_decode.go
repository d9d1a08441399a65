package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DecodeYAML reads a YAML request body, whose single document must be a
// mapping, and returns it as a JSON object of params.
//
// Scalars are typed by the YAML 1.2 core schema as go-yaml resolves them,
// with the number text kept exact: a plain scalar written as a JSON number
// (18446744073709551615, -9007199254740993, 1.5e300, even 1e400) is that
// number as written. Other integer forms are normalised to decimal without
// loss (0x1F → 31, 0o17 → 15, 0b11 → 3, 1_000 → 1000, +5 → 5); a decimal with
// a leading zero such as 007 is ambiguous between YAML 1.1 (octal) and 1.2
// (decimal) and stays the string "007". Floats are normalised the same way
// (.5 → 0.5, +1.5 → 1.5); .inf and .nan have no JSON form and stay strings.
// A scalar explicitly tagged !!int, !!float or !!bool that is not one is
// refused.
// true/false (any case YAML allows) are booleans, null and ~ are null; yes,
// no, on and off are strings, as in YAML 1.2. Quoted and block scalars, and
// !!str, !!binary and !!timestamp values, are strings. Other tags are refused.
//
// Anchors and aliases work, and merge keys (<<) too, but every alias
// reference counts against lim.MaxAliases and every value it expands to
// against lim.MaxKeys, so an alias bomb is refused rather than expanded.
// Keys must be scalars; duplicate keys are refused. A body with no document,
// or whose document is null, means no params: {}.
func DecodeYAML(r io.Reader, lim Limits) (json.RawMessage, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading YAML body: %w", err)
	}
	root, err := parseYAML(data)
	if err != nil {
		return nil, syntaxErr("YAML", err)
	}
	if root == nil {
		return json.RawMessage("{}"), nil
	}
	y := yamlBuilder{b: newBudget(lim)}
	v, err := y.build(root, 1)
	if err != nil {
		return nil, syntaxErr("YAML", err)
	}
	switch v.kind {
	case kindNull:
		return json.RawMessage("{}"), nil
	case kindObject:
		return v.marshal(), nil
	}
	return nil, syntaxErr("YAML", notObject(kindName(v.kind)))
}

// parseYAML parses the one document in data into a node tree, or returns nil
// when there is no document. go-yaml reports errors by panicking internally
// and recovering; the recover here makes sure no panic it misses escapes.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	defer func() {
		if p := recover(); p != nil {
			root, err = nil, fmt.Errorf("YAML parser failed: %v", p)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, errors.New("the body holds more than one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// kindName names a JSON type, with its article, for error messages.
func kindName(k kind) string {
	return [...]string{"null", "a boolean", "a number", "a string", "an array", "an object"}[k]
}

// yamlBuilder turns a YAML node tree into a value within its budget.
type yamlBuilder struct {
	b *budget
}

// build converts n, found at nesting level depth.
func (y *yamlBuilder) build(n *yaml.Node, depth int) (*value, error) {
	switch n.Kind {
	case yaml.AliasNode:
		if err := y.b.alias(); err != nil {
			return nil, err
		}
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: unknown alias %q", n.Line, n.Value)
		}
		return y.build(n.Alias, depth)
	case yaml.ScalarNode:
		return yamlScalar(n)
	case yaml.SequenceNode:
		return y.sequence(n, depth)
	case yaml.MappingNode:
		return y.mapping(n, depth)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

func (y *yamlBuilder) sequence(n *yaml.Node, depth int) (*value, error) {
	if err := y.b.depth(depth); err != nil {
		return nil, err
	}
	seq := &value{kind: kindArray, items: make([]*value, 0, len(n.Content))}
	for _, child := range n.Content {
		if err := y.b.key(); err != nil {
			return nil, err
		}
		item, err := y.build(child, depth+1)
		if err != nil {
			return nil, err
		}
		seq.items = append(seq.items, item)
	}
	return seq, nil
}

func (y *yamlBuilder) mapping(n *yaml.Node, depth int) (*value, error) {
	if err := y.b.depth(depth); err != nil {
		return nil, err
	}
	m := &value{kind: kindObject}
	merged := map[string]bool{} // keys that came from a merge, which an explicit key may override
	for i := 0; i+1 < len(n.Content); i += 2 {
		keyNode, valNode := n.Content[i], n.Content[i+1]
		if err := y.deref(&keyNode); err != nil {
			return nil, err
		}
		if keyNode.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: a key must be a scalar", keyNode.Line)
		}
		if keyNode.ShortTag() == "!!merge" {
			if err := y.merge(m, merged, valNode, depth); err != nil {
				return nil, err
			}
			continue
		}
		if err := y.b.key(); err != nil {
			return nil, err
		}
		member, err := y.build(valNode, depth+1)
		if err != nil {
			return nil, err
		}
		if err := setMember(m, merged, keyNode.Value, member, keyNode.Line); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// setMember sets an explicit key, refusing duplicates but overriding a value
// that came from a merge key.
func setMember(m *value, merged map[string]bool, key string, member *value, line int) error {
	i := m.lookup(key)
	switch {
	case i < 0:
		m.add(key, member)
	case merged[key]:
		m.items[i] = member
		delete(merged, key)
	default:
		return fmt.Errorf("line %d: duplicate key %q", line, key)
	}
	return nil
}

// merge applies a merge key (<<: *base or <<: [*a, *b]) to m: members of the
// merged mappings that m does not have yet are added.
func (y *yamlBuilder) merge(m *value, merged map[string]bool, n *yaml.Node, depth int) error {
	if err := y.deref(&n); err != nil {
		return err
	}
	sources := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		sources = n.Content
	}
	for _, src := range sources {
		v, err := y.build(src, depth)
		if err != nil {
			return err
		}
		if v.kind != kindObject {
			return fmt.Errorf("line %d: a merge key needs a mapping", src.Line)
		}
		for i, key := range v.keys {
			if m.lookup(key) >= 0 {
				continue
			}
			if err := y.b.key(); err != nil {
				return err
			}
			m.add(key, v.items[i])
			merged[key] = true
		}
	}
	return nil
}

// deref follows alias nodes, counting each against the alias budget.
func (y *yamlBuilder) deref(n **yaml.Node) error {
	for (*n).Kind == yaml.AliasNode {
		if err := y.b.alias(); err != nil {
			return err
		}
		if (*n).Alias == nil {
			return fmt.Errorf("line %d: unknown alias %q", (*n).Line, (*n).Value)
		}
		*n = (*n).Alias
	}
	return nil
}

// yamlScalar types one scalar node; see DecodeYAML.
func yamlScalar(n *yaml.Node) (*value, error) {
	plain := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
	explicit := n.Style&yaml.TaggedStyle != 0
	if plain && !explicit && isJSONNumber(n.Value) {
		return numberValue(n.Value), nil
	}
	tag := n.ShortTag()
	if plain && !explicit && tag == "!!str" && radixInt(n.Value) {
		tag = "!!int" // beyond 64 bits, which go-yaml gives up on
	}
	switch tag {
	case "!!str", "!!binary", "!!timestamp", "!!merge":
		return stringValue(n.Value), nil
	case "!!null":
		return &value{kind: kindNull}, nil
	case "!!bool":
		switch n.Value {
		case "true", "True", "TRUE":
			return boolValue(true), nil
		case "false", "False", "FALSE":
			return boolValue(false), nil
		}
	case "!!int":
		if s, ok := yamlInt(n.Value); ok {
			return numberValue(s), nil
		}
	case "!!float":
		if s, ok := yamlFloat(n.Value); ok {
			return numberValue(s), nil
		}
	default:
		return nil, fmt.Errorf("line %d: unsupported YAML tag %s", n.Line, tag)
	}
	if !explicit {
		return stringValue(n.Value), nil
	}
	return nil, fmt.Errorf("line %d: %q is not a valid %s", n.Line, n.Value, tag)
}

// radixInt reports whether s starts like a hexadecimal, octal or binary
// YAML integer.
func radixInt(s string) bool {
	t := strings.TrimLeft(s, "+-")
	return len(t) > 2 && t[0] == '0' && strings.ContainsRune("xXoObB", rune(t[1]))
}

// yamlInt normalises a YAML integer to a JSON integer without loss. It
// reports false for forms it will not guess at (leading-zero decimals).
func yamlInt(s string) (string, bool) {
	if isJSONNumber(s) {
		return s, true
	}
	t := strings.ReplaceAll(s, "_", "")
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimLeft(t, "+-")
	if len(t) > 1 && t[0] == '0' && t[1] >= '0' && t[1] <= '9' {
		return "", false
	}
	var n big.Int
	if _, ok := n.SetString(t, 0); !ok {
		return "", false
	}
	if neg {
		n.Neg(&n)
	}
	return n.String(), true
}

// yamlFloat normalises a YAML float to a JSON number, keeping its digits.
func yamlFloat(s string) (string, bool) {
	if isJSONNumber(s) {
		return s, true
	}
	t := strings.ReplaceAll(s, "_", "")
	sign := ""
	if strings.HasPrefix(t, "-") {
		sign = "-"
	}
	t = strings.TrimLeft(t, "+-")
	if strings.HasPrefix(t, ".") {
		t = "0" + t
	}
	if i := strings.IndexByte(t, '.'); i >= 0 && (i+1 == len(t) || t[i+1] < '0' || t[i+1] > '9') {
		t = t[:i+1] + "0" + t[i+1:]
	}
	if !isJSONNumber(t) {
		return "", false
	}
	return sign + t, true
}
