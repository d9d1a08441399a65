package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Paths holds the REST routes that other plugins register with
// clnrest-register-path. It lives as long as the plugin process.
//
// A path is a sequence of '/'-separated segments. A segment is static
// text, or one {name} capture with optional static text before and after
// it ("v{version}", "{id}.json"). Paths are matched as sent, percent-
// encoded, as upstream's router does: static text compares with the raw
// segment, so "%2F" never acts as a separator, and a capture's value is
// percent-decoded after the match. Captures become string params. When
// several registrations match a request, the one with static text in the
// earliest differing segment wins, as in upstream's router.
type Paths struct {
	mu      sync.RWMutex // protects entries
	entries []*pathEntry
}

var _ Router = (*Paths)(nil)

// pathEntry is one registered path and its routes by HTTP method.
type pathEntry struct {
	path     string
	segments []segment
	byMethod map[string]Registration
}

// segment is one parsed path segment.
type segment struct {
	prefix, name, suffix string // name == "" for a static segment (prefix only)
}

// Registration is one registered route.
type Registration struct {
	Path         string
	HTTPMethod   string
	RPCMethod    string
	RuneRequired bool
	// Restrictions replace what checkrune is given, when set.
	NodeID string
	Method string
	Params json.RawMessage
}

// RegisterError is a refused registration; its message is upstream's.
type RegisterError struct{ Message string }

func (e *RegisterError) Error() string { return e.Message }

func refuse(format string, args ...any) error {
	return &RegisterError{Message: fmt.Sprintf(format, args...)}
}

// supportedMethods are the HTTP methods a path can be registered for.
var supportedMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// Register adds a route from clnrest-register-path's params: positional
// [path, rpc_method, http_method?, rune_required?, rune_restrictions?]
// or the same names in an object. A path that, read as a request path,
// matches an existing registration joins it, and conflicts when its HTTP
// method is taken there.
func (p *Paths) Register(params json.RawMessage) (Registration, error) {
	reg, err := parseRegistration(params)
	if err != nil {
		return reg, err
	}
	if reg.Path == "/" {
		return reg, refuse("Path must not be root")
	}
	reg.Path = strings.Trim(reg.Path, "/")
	if reg.Path == "" {
		return reg, refuse("Path must not be empty")
	}
	if strings.Contains(reg.Path, "{*") {
		return reg, refuse("Wildcards not supported")
	}
	segs, err := parsePattern(reg.Path)
	if err != nil {
		return reg, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, _ := p.lookup(reg.Path); e != nil {
		if _, taken := e.byMethod[reg.HTTPMethod]; taken {
			return reg, refuse("Conflicting path '%s' already exists with http_method: %s", reg.Path, reg.HTTPMethod)
		}
		e.byMethod[reg.HTTPMethod] = reg
		return reg, nil
	}
	p.entries = append(p.entries, &pathEntry{path: reg.Path, segments: segs, byMethod: map[string]Registration{reg.HTTPMethod: reg}})
	return reg, nil
}

// Match resolves a request path as sent, percent-encoded, with its
// leading '/' (r.URL.EscapedPath()).
func (p *Paths) Match(path, httpMethod string) (Route, bool, error) {
	rel := strings.TrimPrefix(path, "/")
	p.mu.RLock()
	defer p.mu.RUnlock()
	e, captures := p.lookup(rel)
	if e == nil {
		return Route{}, false, nil
	}
	reg, ok := e.byMethod[httpMethod]
	if !ok {
		return Route{}, true, newError(http.StatusMethodNotAllowed, codeMethodNotFound,
			fmt.Sprintf("Dynamic path: %s has no http_method:%s registered", rel, httpMethod))
	}
	return Route{
		Method: reg.RPCMethod, Captures: captures, RuneRequired: reg.RuneRequired,
		CheckNodeID: reg.NodeID, CheckMethod: reg.Method, CheckParams: reg.Params,
	}, true, nil
}

// List returns every registration, in registration order of their paths.
func (p *Paths) List() []Registration {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []Registration
	for _, e := range p.entries {
		for _, m := range supportedMethods {
			if r, ok := e.byMethod[m]; ok {
				out = append(out, r)
			}
		}
	}
	return out
}

// lookup finds the best entry matching a request path without its
// leading '/'. Callers hold p.mu.
func (p *Paths) lookup(rel string) (*pathEntry, map[string]string) {
	if len(p.entries) == 0 {
		return nil, nil // the common case: no plugin registered a path
	}
	parts := strings.Split(rel, "/")
	var best *pathEntry
	var bestCaptures map[string]string
	for _, e := range p.entries {
		captures, ok := matchSegments(e.segments, parts)
		if ok && (best == nil || moreSpecific(e.segments, best.segments)) {
			best, bestCaptures = e, captures
		}
	}
	return best, bestCaptures
}

func matchSegments(segs []segment, parts []string) (map[string]string, bool) {
	if len(segs) != len(parts) {
		return nil, false
	}
	var captures map[string]string
	for i, s := range segs {
		part := parts[i]
		if s.name == "" {
			if part != s.prefix {
				return nil, false
			}
			continue
		}
		if len(part) <= len(s.prefix)+len(s.suffix) || !strings.HasPrefix(part, s.prefix) || !strings.HasSuffix(part, s.suffix) {
			return nil, false
		}
		value, err := url.PathUnescape(part[len(s.prefix) : len(part)-len(s.suffix)])
		if err != nil {
			return nil, false
		}
		if captures == nil {
			captures = map[string]string{}
		}
		captures[s.name] = value
	}
	return captures, true
}

// moreSpecific reports whether a beats b: at the first segment where they
// differ in kind, static text beats a capture with affixes, which beats a
// bare capture.
func moreSpecific(a, b []segment) bool {
	for i := range a {
		ka, kb := a[i].rank(), b[i].rank()
		if ka != kb {
			return ka > kb
		}
	}
	return false
}

func (s segment) rank() int {
	switch {
	case s.name == "":
		return 2
	case s.prefix != "" || s.suffix != "":
		return 1
	}
	return 0
}

// parsePattern splits a registered path into segments.
func parsePattern(path string) ([]segment, error) {
	var segs []segment
	names := map[string]bool{}
	for _, part := range strings.Split(path, "/") {
		if part == "" {
			return nil, refuse("Path '%s' has an empty segment", path)
		}
		open := strings.IndexByte(part, '{')
		if open < 0 {
			if strings.IndexByte(part, '}') >= 0 {
				return nil, refuse("Path '%s' has an unmatched '}'", path)
			}
			segs = append(segs, segment{prefix: part})
			continue
		}
		end := strings.IndexByte(part, '}')
		if end < open || strings.ContainsAny(part[end+1:], "{}") {
			return nil, refuse("Path '%s': a segment holds at most one {name} capture", path)
		}
		name := part[open+1 : end]
		if name == "" || names[name] {
			return nil, refuse("Path '%s': capture names must be present and unique", path)
		}
		names[name] = true
		segs = append(segs, segment{prefix: part[:open], name: name, suffix: part[end+1:]})
	}
	return segs, nil
}

// parseRegistration reads clnrest-register-path's params.
func parseRegistration(params json.RawMessage) (Registration, error) {
	reg := Registration{HTTPMethod: http.MethodPost, RuneRequired: true}
	fields, err := registrationFields(params)
	if err != nil {
		return reg, err
	}
	if err := requiredString(fields, "path", &reg.Path); err != nil {
		return reg, err
	}
	if err := requiredString(fields, "rpc_method", &reg.RPCMethod); err != nil {
		return reg, err
	}
	if raw, ok := fields["http_method"]; ok {
		var m string
		if json.Unmarshal(raw, &m) != nil {
			return reg, refuse("http_method must be a string")
		}
		reg.HTTPMethod = strings.ToUpper(m)
	}
	if raw, ok := fields["rune_required"]; ok {
		if json.Unmarshal(raw, &reg.RuneRequired) != nil {
			return reg, refuse("rune_required must be a boolean")
		}
	}
	if raw, ok := fields["rune_restrictions"]; ok {
		if err := readRestrictions(raw, &reg); err != nil {
			return reg, err
		}
	}
	if !slices.Contains(supportedMethods, reg.HTTPMethod) {
		return reg, refuse("%s is not a supported http method!", reg.HTTPMethod)
	}
	if reg.HTTPMethod != http.MethodGet && !reg.RuneRequired {
		return reg, refuse("rune_required must be true for anything but GET requests")
	}
	return reg, nil
}

var registrationOrder = []string{"path", "rpc_method", "http_method", "rune_required", "rune_restrictions"}

// registrationFields turns positional or named params into named fields,
// dropping nulls as upstream does.
func registrationFields(params json.RawMessage) (map[string]json.RawMessage, error) {
	fields := map[string]json.RawMessage{}
	var arr []json.RawMessage
	if err := json.Unmarshal(params, &arr); err == nil {
		if len(arr) > len(registrationOrder) {
			return nil, refuse("Too many arguments: at most %d", len(registrationOrder))
		}
		for i, v := range arr {
			fields[registrationOrder[i]] = v
		}
	} else if err := json.Unmarshal(params, &fields); err != nil {
		return nil, refuse("Input arguments must be an array or object")
	}
	for k, v := range fields {
		if string(v) == "null" {
			delete(fields, k)
		}
	}
	return fields, nil
}

func requiredString(fields map[string]json.RawMessage, name string, dst *string) error {
	raw, ok := fields[name]
	if !ok {
		return refuse("%s is required", name)
	}
	if json.Unmarshal(raw, dst) != nil {
		return refuse("%s must be a string", name)
	}
	return nil
}

func readRestrictions(raw json.RawMessage, reg *Registration) error {
	var r struct {
		NodeID *string          `json:"nodeid"`
		Method *string          `json:"method"`
		Params *json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return refuse("rune_restrictions must be an object with nodeid, method and params: %v", err)
	}
	if r.NodeID != nil {
		reg.NodeID = *r.NodeID
	}
	if r.Method != nil {
		reg.Method = *r.Method
	}
	if r.Params != nil && string(*r.Params) != "null" {
		var obj map[string]json.RawMessage
		if json.Unmarshal(*r.Params, &obj) != nil {
			return refuse("rune_restrictions.params must be an object")
		}
		reg.Params = *r.Params
	}
	return nil
}
