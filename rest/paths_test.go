package rest

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
)

// upstreamRegistrations are the registrations of upstream's test plugin
// (tests/plugins/dynamic_clnrest_path.py), in order.
var upstreamRegistrations = []string{
	`["test/no/rune_restrictions","dynamic-clnrest-method"]`,
	`["test/no/rune_required","dynamic-clnrest-method","GET",false]`,
	`["test/dynamic/clnrest","dynamic-clnrest-method","POST",true,{"method":"pay"}]`,
	`["test/dynamic/clnrest","dynamic-clnrest-method-2","PATCH",true,{"method":"pay"}]`,
	`["test/dynamic/clnrest","dynamic-clnrest-method","DELETE",true,{"method":"pay"}]`,
	`["invalid/nodeid","invalid-nodeid","POST",true,{"nodeid":"035d2b1192dfba134e10e540875d366ebc8bc353d5aa766b80c090b39c3a5d885d"}]`,
	`{"path":"v{version}/{capture}/go","rpc_method":"capture-route","rune_restrictions":{"params":{"amount_msat":9999}},"http_method":"GET"}`,
}

func registered(t *testing.T) *Paths {
	t.Helper()
	p := &Paths{}
	for _, r := range upstreamRegistrations {
		if _, err := p.Register(json.RawMessage(r)); err != nil {
			t.Fatalf("Register(%s): %v", r, err)
		}
	}
	return p
}

func TestRegisterErrors(t *testing.T) {
	tests := []struct{ params, want string }{
		{`["/","normal-route"]`, "Path must not be root"},
		{`{"path":"","rpc_method":"normal-route"}`, "Path must not be empty"},
		{`{"path":"//","rpc_method":"normal-route"}`, "Path must not be empty"},
		{`{"path":"/{*wild}","rpc_method":"normal-route"}`, "Wildcards not supported"},
		{`{"path":"v1/keys/{keyset_id}","rpc_method":"normal-route","http_method":"PATCH","rune_required":false}`, "rune_required must be true for anything but GET requests"},
		{`["a","m","CONNECT"]`, "CONNECT is not a supported http method!"},
		{`["a","m","head"]`, "HEAD is not a supported http method!"},
		{`{"path":"v{version}/{capture}/go","rpc_method":"capture-route","http_method":"GET"}`, "Conflicting path 'v{version}/{capture}/go' already exists with http_method: GET"},
		{`{"path":"v1/{capture}/go","rpc_method":"capture-route","http_method":"GET"}`, "Conflicting path 'v1/{capture}/go' already exists with http_method: GET"},
		{`["test/dynamic/clnrest","x","post"]`, "Conflicting path 'test/dynamic/clnrest' already exists with http_method: POST"},
		{`[]`, "path is required"},
		{`["a"]`, "rpc_method is required"},
		{`[1,"m"]`, "path must be a string"},
		{`["a","m",1]`, "http_method must be a string"},
		{`["a","m","GET","yes"]`, "rune_required must be a boolean"},
		{`"a"`, "Input arguments must be an array or object"},
		{`["a/{x}{y}","m"]`, "Path 'a/{x}{y}': a segment holds at most one {name} capture"},
		{`["a/{x}/{x}","m"]`, "Path 'a/{x}/{x}': capture names must be present and unique"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			p := registered(t)
			_, err := p.Register(json.RawMessage(tc.params))
			var re *RegisterError
			if !errors.As(err, &re) || re.Message != tc.want {
				t.Errorf("Register(%s): got %v; want %q", tc.params, err, tc.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	p := registered(t)
	// Joins the existing v{version}/{capture}/go entry for POST.
	if _, err := p.Register(json.RawMessage(`{"path":"v1/{capture}/go","rpc_method":"capture-route","rune_restrictions":{"params":{"amount_msat":9999}}}`)); err != nil {
		t.Fatalf("joining registration: %v", err)
	}
	for _, r := range []string{`{"path":"v1/keys/{keyset_id}","rpc_method":"normal-route"}`, `{"path":"v1/keys","rpc_method":"normal-route"}`} {
		if _, err := p.Register(json.RawMessage(r)); err != nil {
			t.Fatalf("Register(%s): %v", r, err)
		}
	}
	tests := []struct {
		name, path, method string
		wantOK             bool
		want               Route
		wantErr            string
	}{
		{"positional defaults", "/test/no/rune_restrictions", "POST", true, Route{Method: "dynamic-clnrest-method", RuneRequired: true}, ""},
		{"no rune GET", "/test/no/rune_required", "GET", true, Route{Method: "dynamic-clnrest-method"}, ""},
		{"method restriction", "/test/dynamic/clnrest", "PATCH", true, Route{Method: "dynamic-clnrest-method-2", RuneRequired: true, CheckMethod: "pay"}, ""},
		{"405", "/test/dynamic/clnrest", "GET", true, Route{}, "Dynamic path: test/dynamic/clnrest has no http_method:GET registered"},
		{"nodeid", "/invalid/nodeid", "POST", true, Route{Method: "invalid-nodeid", RuneRequired: true, CheckNodeID: "035d2b1192dfba134e10e540875d366ebc8bc353d5aa766b80c090b39c3a5d885d"}, ""},
		{"captures", "/v2/ct1/go", "GET", true, Route{Method: "capture-route", RuneRequired: true, Captures: map[string]string{"version": "2", "capture": "ct1"}, CheckParams: json.RawMessage(`{"amount_msat":9999}`)}, ""},
		{"joined POST", "/v1/x/go", "POST", true, Route{Method: "capture-route", RuneRequired: true, Captures: map[string]string{"version": "1", "capture": "x"}, CheckParams: json.RawMessage(`{"amount_msat":9999}`)}, ""},
		{"static beats capture", "/v1/keys", "POST", true, Route{Method: "normal-route", RuneRequired: true}, ""},
		{"keyset", "/v1/keys/abc", "POST", true, Route{Method: "normal-route", RuneRequired: true, Captures: map[string]string{"keyset_id": "abc"}}, ""},
		{"not registered", "/v1/getinfo", "POST", false, Route{}, ""},
		{"prefix must match", "/x2/ct1/go", "GET", false, Route{}, ""},
		{"empty capture", "/v/ct1/go", "GET", false, Route{}, ""},
		{"trailing slash is another path", "/test/no/rune_required/", "GET", false, Route{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := p.Match(tc.path, tc.method)
			if ok != tc.wantOK {
				t.Fatalf("Match(%s %s): got ok=%v; want %v", tc.method, tc.path, ok, tc.wantOK)
			}
			if tc.wantErr != "" {
				var e *Error
				if !errors.As(err, &e) || e.Message != tc.wantErr || e.Status != http.StatusMethodNotAllowed || e.Code != -32601 {
					t.Fatalf("got %v; want 405 %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v; want %+v", got, tc.want)
			}
		})
	}
	if got := len(p.List()); got != 10 {
		t.Errorf("List: got %d registrations; want 10", got)
	}
}

// TestMatchEscaped: paths are matched as sent; "%2F" never separates
// segments, static text compares with the raw segment, and captures are
// decoded after the match.
func TestMatchEscaped(t *testing.T) {
	p := &Paths{}
	for _, r := range []string{`["v1/keys/{id}","getkey","GET",false]`, `["v1/keys/{a}/{b}","twokeys","GET",false]`} {
		if _, err := p.Register(json.RawMessage(r)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, path string
		wantOK     bool
		wantMethod string
		wantCap    map[string]string
	}{
		{"plain", "/v1/keys/abc", true, "getkey", map[string]string{"id": "abc"}},
		{"encoded slash stays in the capture", "/v1/keys/a%2Fb", true, "getkey", map[string]string{"id": "a/b"}},
		{"real slash is two segments", "/v1/keys/a/b", true, "twokeys", map[string]string{"a": "a", "b": "b"}},
		{"encoded static text", "/v1/k%65ys/abc", false, "", nil},
		{"encoded separator before static", "/v1%2Fkeys/abc", false, "", nil},
		{"bad escape in capture", "/v1/keys/%zz", false, "", nil},
		{"dot segments are text", "/v1/keys/../keys/abc", false, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, ok, err := p.Match(tc.path, http.MethodGet)
			if ok != tc.wantOK || err != nil {
				t.Fatalf("Match(%q): got ok %v err %v; want ok %v", tc.path, ok, err, tc.wantOK)
			}
			if ok && (rt.Method != tc.wantMethod || !reflect.DeepEqual(rt.Captures, tc.wantCap)) {
				t.Errorf("Match(%q): got %s %v; want %s %v", tc.path, rt.Method, rt.Captures, tc.wantMethod, tc.wantCap)
			}
		})
	}
}
