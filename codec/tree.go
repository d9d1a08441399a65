package codec

import "encoding/json"

// kind is the JSON type of a decoded value.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

// value is a decoded JSON value as built by the YAML, XML and form decoders.
// Numbers keep their literal text, objects their member order.
type value struct {
	kind  kind
	text  string         // kindBool: "true"/"false"; kindNumber: the literal; kindString: the string
	keys  []string       // kindObject: member names, in order
	items []*value       // kindArray: elements; kindObject: member values, parallel to keys
	index map[string]int // kindObject: key → position, built once the object grows
}

func stringValue(s string) *value { return &value{kind: kindString, text: s} }
func numberValue(s string) *value { return &value{kind: kindNumber, text: s} }
func boolValue(b bool) *value {
	if b {
		return &value{kind: kindBool, text: "true"}
	}
	return &value{kind: kindBool, text: "false"}
}

// smallObject is the member count up to which lookup scans instead of
// keeping an index; params objects are nearly always this small.
const smallObject = 16

// add appends a member to an object.
func (v *value) add(key string, member *value) {
	if v.index != nil {
		v.index[key] = len(v.keys)
	}
	v.keys = append(v.keys, key)
	v.items = append(v.items, member)
}

// lookup returns the position of member key in an object, or -1. It stays
// fast for huge objects, so repeated keys cannot make decoding quadratic.
func (v *value) lookup(key string) int {
	if v.index == nil && len(v.keys) > smallObject {
		v.index = make(map[string]int, 2*len(v.keys))
		for i, k := range v.keys {
			if _, dup := v.index[k]; !dup {
				v.index[k] = i
			}
		}
	}
	if v.index != nil {
		if i, ok := v.index[key]; ok {
			return i
		}
		return -1
	}
	for i, k := range v.keys {
		if k == key {
			return i
		}
	}
	return -1
}

// marshal returns v as compact JSON.
func (v *value) marshal() json.RawMessage {
	return json.RawMessage(v.appendJSON(nil))
}

// appendJSON appends v as compact JSON. Recursion depth is bounded by the
// decoders' Limits.MaxDepth.
func (v *value) appendJSON(buf []byte) []byte {
	switch v.kind {
	case kindNull:
		return append(buf, "null"...)
	case kindBool, kindNumber:
		return append(buf, v.text...)
	case kindString:
		return appendJSONString(buf, v.text)
	case kindArray:
		buf = append(buf, '[')
		for i, item := range v.items {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = item.appendJSON(buf)
		}
		return append(buf, ']')
	default:
		buf = append(buf, '{')
		for i, key := range v.keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, key)
			buf = append(buf, ':')
			buf = v.items[i].appendJSON(buf)
		}
		return append(buf, '}')
	}
}
