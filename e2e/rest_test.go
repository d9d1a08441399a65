package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestErrors checks every status, code and message of contract §4-§6.
func TestErrors(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	getinfoOnly, err := e.node.RPC.CreateRune([]string{"method=getinfo"})
	if err != nil {
		t.Fatal(err)
	}
	notGetinfo, _ := e.node.RPC.CreateRune([]string{"method/getinfo"})
	foreign := foreignRune(t)
	tests := []struct {
		name, method, path, body string
		headers                  []string
		wantStatus               int
		wantBody                 string
	}{
		{"missing rune", "POST", "/v1/getinfo", "", nil, 403, `{"code":1501,"message":"Not authorized: Missing rune"}`},
		{"empty rune", "POST", "/v1/getinfo", "", []string{"Rune", ""}, 403, `{"code":1501,"message":"Not authorized: Missing rune"}`},
		{"lower-case header", "POST", "/v1/getinfo", "", []string{"rune", "x"}, 401, `{"code":-32602,"message":"rune: should be base64 string: invalid token (see logs for details)"}`},
		{"not derived", "POST", "/v1/getinfo", "", []string{"Rune", foreign}, 401, `{"code":1501,"message":"Not authorized: Not derived from master"}`},
		{"method not equal", "POST", "/v1/invoice", `{"amount_msat":1,"label":"a","description":"d"}`, []string{"Rune", getinfoOnly}, 401, `{"code":1502,"message":"Not permitted: method is not equal to getinfo"}`},
		{"method equal", "POST", "/v1/getinfo", "", []string{"Rune", notGetinfo}, 401, `{"code":1502,"message":"Not permitted: method is equal to getinfo"}`},
		{"GET on method", "GET", "/v1/getinfo", "", []string{"Rune", e.rune}, 405, `{"code":-32601,"message":"Path invalid, http_method must be POST for CLN methods"}`},
		{"PUT on method", "PUT", "/v1/getinfo", "", []string{"Rune", e.rune}, 405, `{"code":-32601,"message":"Path invalid, http_method must be POST for CLN methods"}`},
		{"version missing", "POST", "/api/v1/getinfo", "", []string{"Rune", e.rune}, 404, `{"code":-32601,"message":"Path invalid, version missing for CLN methods"}`},
		{"path not found", "GET", "/nothing/here", "", nil, 404, `{"code":-32601,"message":"Path not found"}`},
		{"unknown command", "POST", "/v1/nosuchcommand", "", []string{"Rune", e.rune}, 404, `{"code":-32601,"message":"Unknown command 'nosuchcommand'"}`},
		{"method error 500", "POST", "/v1/invoice", `{"label":"x"}`, []string{"Rune", e.rune}, 500, `{"code":-32602,"message":"missing required parameter: amount_msat"}`},
		{"content-type", "POST", "/v1/getinfo", "x", []string{"Rune", e.rune, "Content-Type", "text/plain"}, 406, `{"code":-32600,"message":"Unsupported content-type header: text/plain"}`},
		{"accept", "POST", "/v1/getinfo", "", []string{"Rune", e.rune, "Accept", "text/plain"}, 406, `{"code":-32600,"message":"Unsupported accept header: text/plain"}`},
		{"bad json", "POST", "/v1/getinfo", "{", []string{"Rune", e.rune}, 400, ""},
		{"json array", "POST", "/v1/getinfo", "[]", []string{"Rune", e.rune}, 400, ""},
		{"bad yaml", "POST", "/v1/getinfo", "a: [", []string{"Rune", e.rune, "Content-Type", "application/yaml"}, 400, ""},
		{"xml wrong root", "POST", "/v1/getinfo", "<other/>", []string{"Rune", e.rune, "Content-Type", "application/xml"}, 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.body, tc.headers...)
			if r.status != tc.wantStatus {
				t.Errorf("status: got %d; want %d (body %s)", r.status, tc.wantStatus, r.body)
			}
			if got := r.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type: got %q; want application/json", got)
			}
			if tc.wantBody != "" && r.body != tc.wantBody {
				t.Errorf("body: got %s; want %s", r.body, tc.wantBody)
			}
			var obj struct {
				Code    *int64  `json:"code"`
				Message *string `json:"message"`
			}
			if err := json.Unmarshal([]byte(r.body), &obj); err != nil || obj.Code == nil || obj.Message == nil {
				t.Errorf("body %s is not an error object: %v", r.body, err)
			}
		})
	}
	t.Run("406 and 403 run nothing", func(t *testing.T) {
		before := e.node.RPC.Calls("getinfo") + e.node.RPC.Calls("checkrune")
		e.do("POST", "/v1/getinfo", "", "Rune", e.rune, "Accept", "image/png")
		e.do("POST", "/v1/getinfo", "", "Rune", e.rune, "Content-Type", "text/plain")
		e.do("POST", "/v1/getinfo", "")
		if after := e.node.RPC.Calls("getinfo") + e.node.RPC.Calls("checkrune"); after != before {
			t.Errorf("lightningd calls: got %d more; want none", after-before)
		}
	})
	t.Run("413", func(t *testing.T) {
		r := e.post("/v1/getinfo", `{"x":"`+strings.Repeat("a", 9<<20)+`"}`)
		if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, `"code":-32600`) {
			t.Errorf("got %d %s; want 413 error object", r.status, r.body)
		}
	})
}

func TestSuccessAndNulls(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	r := e.post("/v1/getinfo", "")
	if r.status != 201 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("getinfo: got %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var info struct{ ID string }
	if err := json.Unmarshal([]byte(r.body), &info); err != nil || info.ID != e.node.RPC.NodeID() {
		t.Errorf("getinfo id: got %q (%v); want %s", info.ID, err, e.node.RPC.NodeID())
	}
	// Nulls are removed before lightningd sees them: expiry null would be refused.
	r = e.post("/v1/invoice", `{"amount_msat":1000,"label":"nulls","description":"d","expiry":null,"fallbacks":null}`)
	if r.status != 201 || !strings.Contains(r.body, `"bolt11":"lnbcrt`) {
		t.Errorf("invoice with nulls: got %d %s; want 201", r.status, r.body)
	}
	// axios sends an empty form body on a bare POST.
	r = e.post("/v1/getinfo", "", "Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json, text/plain, */*")
	if r.status != 201 {
		t.Errorf("empty form body: got %d %s; want 201", r.status, r.body)
	}
}

func TestListMethods(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	r := e.do("GET", "/v1/list-methods", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("got %d %q", r.status, r.header.Get("Content-Type"))
	}
	for _, want := range []string{"Command: getinfo \n", "Command: invoice amount_msat label description", "Command: clnrest-register-path path rpc_method [http_method] [rune_required] [rune_restrictions]\n", "\n-----"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("list-methods lacks %q", want)
		}
	}
}
