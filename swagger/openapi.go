package swagger

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The subset of OpenAPI 3.0.3 that the document uses. Field order
// follows the specification; maps are written with sorted keys, which
// keeps the document byte-for-byte stable for the same node, except
// where order means something to Swagger UI (ordered).

// openAPIVersion is 3.0.3 rather than 3.1: Swagger UI 5 renders both,
// and 3.0 is what most client generators and validators still expect.
const openAPIVersion = "3.0.3"

type document struct {
	OpenAPI    string               `json:"openapi"`
	Info       info                 `json:"info"`
	Servers    []server             `json:"servers"`
	Security   []securityNeed       `json:"security"`
	Tags       []tag                `json:"tags,omitempty"`
	Paths      map[string]*pathItem `json:"paths"`
	Components components           `json:"components"`
}

type info struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Version     string `json:"version"`
}

type server struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
}

// securityNeed maps a security scheme name to its scopes (none for an
// API key). An empty list of needs means "no authentication".
type securityNeed map[string][]string

type tag struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

type pathItem struct {
	Get        *operation  `json:"get,omitempty"`
	Put        *operation  `json:"put,omitempty"`
	Post       *operation  `json:"post,omitempty"`
	Delete     *operation  `json:"delete,omitempty"`
	Patch      *operation  `json:"patch,omitempty"`
	Parameters []parameter `json:"parameters,omitempty"`
}

// set stores op under the HTTP method (one of methodOrder); other
// methods are ignored.
func (p *pathItem) set(method string, op *operation) {
	slot := map[string]**operation{
		"GET": &p.Get, "PUT": &p.Put, "POST": &p.Post, "DELETE": &p.Delete, "PATCH": &p.Patch,
	}[method]
	if slot != nil {
		*slot = op
	}
}

// operations lists the operations the item holds.
func (p *pathItem) operations() []*operation {
	var out []*operation
	for _, op := range []*operation{p.Get, p.Put, p.Post, p.Delete, p.Patch} {
		if op != nil {
			out = append(out, op)
		}
	}
	return out
}

type operation struct {
	Tags        []string             `json:"tags,omitempty"`
	Summary     string               `json:"summary,omitempty"`
	Description string               `json:"description,omitempty"`
	OperationID string               `json:"operationId"`
	RequestBody *requestBody         `json:"requestBody,omitempty"`
	Responses   map[string]*response `json:"responses"`
	Deprecated  bool                 `json:"deprecated,omitempty"`
	// Security nil inherits the document's; an empty list means none.
	Security []securityNeed `json:"security,omitzero"`
}

// noSecurity is the empty, non-nil requirement list that lifts the
// document's global rune requirement from one operation.
func noSecurity() []securityNeed { return []securityNeed{} }

type parameter struct {
	Name        string  `json:"name"`
	In          string  `json:"in"`
	Description string  `json:"description,omitempty"`
	Required    bool    `json:"required"`
	Schema      *schema `json:"schema"`
}

type requestBody struct {
	Description string              `json:"description,omitempty"`
	Content     ordered[*mediaType] `json:"content"`
	Required    bool                `json:"required,omitempty"`
}

type response struct {
	Ref         string              `json:"$ref,omitempty"`
	Description string              `json:"description,omitempty"`
	Content     ordered[*mediaType] `json:"content,omitzero"`
}

type mediaType struct {
	Schema  *schema `json:"schema"`
	Example any     `json:"example,omitempty"`
}

// schema is a JSON schema as OpenAPI 3.0 restricts it. A schema with no
// type accepts any JSON value.
type schema struct {
	Ref                  string           `json:"$ref,omitempty"`
	Type                 string           `json:"type,omitempty"`
	Format               string           `json:"format,omitempty"`
	Description          string           `json:"description,omitempty"`
	Enum                 []string         `json:"enum,omitempty"`
	Default              any              `json:"default,omitempty"`
	Required             []string         `json:"required,omitempty"`
	Properties           ordered[*schema] `json:"properties,omitzero"`
	AdditionalProperties *bool            `json:"additionalProperties,omitempty"`
	XML                  *xmlObject       `json:"xml,omitempty"`
	// Example is raw JSON, so that an explicit null can be written.
	Example json.RawMessage `json:"example,omitempty"`
}

type xmlObject struct {
	Name string `json:"name"`
}

type components struct {
	Schemas         map[string]*schema         `json:"schemas"`
	Responses       map[string]*response       `json:"responses"`
	SecuritySchemes map[string]*securityScheme `json:"securitySchemes"`
}

type securityScheme struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	In          string `json:"in"`
	Description string `json:"description,omitempty"`
}

// ordered is a JSON object that keeps the order its keys were added in:
// Swagger UI shows properties in document order (usage order, required
// first) and preselects the first media type (JSON).
type ordered[V any] struct {
	keys []string
	vals map[string]V
}

// set adds or replaces key; a new key goes last.
func (o *ordered[V]) set(key string, v V) {
	if o.vals == nil {
		o.vals = map[string]V{}
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

func (o ordered[V]) len() int { return len(o.keys) }

// IsZero makes an empty ordered omitted under `omitzero`.
func (o ordered[V]) IsZero() bool { return len(o.keys) == 0 }

// MarshalJSON writes the object with its keys in insertion order.
func (o ordered[V]) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, fmt.Errorf("encoding key %q: %w", k, err)
		}
		val, err := json.Marshal(o.vals[k])
		if err != nil {
			return nil, fmt.Errorf("encoding value of %q: %w", k, err)
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
