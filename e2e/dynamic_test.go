package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/clnrest/clnrest/lnrpc"
)

// registerUpstreamPaths registers, through lightningd's RPC socket as
// another plugin would, the paths of upstream's test plugin
// (tests/plugins/dynamic_clnrest_path.py), and serves their methods.
func registerUpstreamPaths(t *testing.T, e *env) *lnrpc.Client {
	t.Helper()
	serve := func(method, result string) {
		e.node.RPC.Handle(method, "", func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return json.RawMessage(result), nil
		})
	}
	serve("dynamic-clnrest-method", `{"test-dynamic-clnrest":"success"}`)
	serve("dynamic-clnrest-method-2", `{"test-dynamic-clnrest-2":"success-2"}`)
	serve("invalid-nodeid", `{"test-invalid-nodeid":"success"}`)
	e.node.RPC.Handle("capture-route", "[version] [capture]", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		return p, nil
	})
	cli := lnrpc.New(e.node.RPC.SocketPath(), lnrpc.Config{})
	t.Cleanup(func() { cli.Close() })
	for _, params := range []string{
		`["test/no/rune_restrictions","dynamic-clnrest-method"]`,
		`["test/no/rune_required","dynamic-clnrest-method","GET",false]`,
		`["test/dynamic/clnrest","dynamic-clnrest-method","POST",true,{"method":"pay"}]`,
		`["test/dynamic/clnrest","dynamic-clnrest-method-2","PATCH",true,{"method":"pay"}]`,
		`["test/dynamic/clnrest","dynamic-clnrest-method","DELETE",true,{"method":"pay"}]`,
		`["invalid/nodeid","invalid-nodeid","POST",true,{"nodeid":"035d2b1192dfba134e10e540875d366ebc8bc353d5aa766b80c090b39c3a5d885d"}]`,
		`{"path":"v{version}/{capture}/go","rpc_method":"capture-route","rune_restrictions":{"params":{"amount_msat":9999}},"http_method":"GET"}`,
	} {
		res, err := cli.Call(context.Background(), "clnrest-register-path", json.RawMessage(params))
		if err != nil || string(res) != "{}" {
			t.Fatalf("clnrest-register-path %s: got %s, %v; want {}", params, res, err)
		}
	}
	return cli
}

func TestDynamicPaths(t *testing.T) {
	e := start(t, nil) // https, as upstream's tests
	registerUpstreamPaths(t, e)
	rune := func(restr string) string {
		r, err := e.node.RPC.CreateRune([]string{restr})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	wrongID := rune("id=0266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c03518")
	rightID := rune("id=035d2b1192dfba134e10e540875d366ebc8bc353d5aa766b80c090b39c3a5d885d")
	notpay, pay := rune("method=notpay"), rune("method=pay")
	tests := []struct {
		name, method, path, rune, body string
		wantStatus                     int
		wantBody                       string
	}{
		{"GET on POST/PATCH/DELETE path", "GET", "/test/dynamic/clnrest", e.rune, "", 405, `{"code":-32601,"message":"Dynamic path: test/dynamic/clnrest has no http_method:GET registered"}`},
		{"POST", "POST", "/test/dynamic/clnrest", e.rune, "", 201, `{"test-dynamic-clnrest":"success"}`},
		{"PATCH other method", "PATCH", "/test/dynamic/clnrest", e.rune, "", 201, `{"test-dynamic-clnrest-2":"success-2"}`},
		{"DELETE", "DELETE", "/test/dynamic/clnrest", e.rune, "", 201, `{"test-dynamic-clnrest":"success"}`},
		{"captures", "GET", "/v2/ct1/go", e.rune, "", 201, `{"capture":"ct1","version":"2"}`},
		{"capture and body clash", "GET", "/v2/ct1/go", e.rune, `{"capture":"x"}`, 400, `{"code":-32602,"message":"Duplicate key: capture"}`},
		{"missing rune", "POST", "/test/no/rune_restrictions", "", "", 403, `{"code":1501,"message":"Not authorized: Missing rune"}`},
		{"rune", "POST", "/test/no/rune_restrictions", e.rune, "", 201, `{"test-dynamic-clnrest":"success"}`},
		{"no rune required", "GET", "/test/no/rune_required", "", "", 201, `{"test-dynamic-clnrest":"success"}`},
		{"wrong node id", "POST", "/invalid/nodeid", wrongID, "", 401, `{"code":1502,"message":"Not permitted: id is not equal to 0266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c03518"}`},
		{"right node id", "POST", "/invalid/nodeid", rightID, "", 201, `{"test-invalid-nodeid":"success"}`},
		{"method notpay", "POST", "/test/dynamic/clnrest", notpay, "", 401, `{"code":1502,"message":"Not permitted: method is not equal to notpay"}`},
		{"method pay", "POST", "/test/dynamic/clnrest", pay, "", 201, `{"test-dynamic-clnrest":"success"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.rune != "" {
				headers = []string{"Rune", tc.rune}
			}
			r := e.do(tc.method, tc.path, tc.body, headers...)
			if r.status != tc.wantStatus {
				t.Errorf("status: got %d; want %d (%s)", r.status, tc.wantStatus, r.body)
			}
			if tc.name == "captures" {
				var got map[string]string
				if json.Unmarshal([]byte(r.body), &got) != nil || got["capture"] != "ct1" || got["version"] != "2" || len(got) != 2 {
					t.Errorf("params: got %s; want version 2 and capture ct1", r.body)
				}
				return
			}
			if r.body != tc.wantBody {
				t.Errorf("body: got %s; want %s", r.body, tc.wantBody)
			}
		})
	}
}

func TestDynamicPathErrors(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	cli := registerUpstreamPaths(t, e)
	tests := []struct{ params, want string }{
		{`{"path":"v{version}/{capture}/go","rpc_method":"capture-route","rune_restrictions":{"params":{"amount_msat":9999}},"http_method":"GET"}`, "Conflicting path 'v{version}/{capture}/go' already exists with http_method: GET"},
		{`{"path":"v1/{capture}/go","rpc_method":"capture-route","rune_restrictions":{"params":{"amount_msat":9999}},"http_method":"GET"}`, "Conflicting path 'v1/{capture}/go' already exists with http_method: GET"},
		{`["/","normal-route"]`, "Path must not be root"},
		{`{"path":"","rpc_method":"normal-route"}`, "Path must not be empty"},
		{`{"path":"/{*wild}","rpc_method":"normal-route"}`, "Wildcards not supported"},
		{`{"path":"v1/keys/{keyset_id}","rpc_method":"normal-route","http_method":"PATCH","rune_required":false}`, "rune_required must be true for anything but GET requests"},
		{`["a/b","m","TRACE"]`, "TRACE is not a supported http method!"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			_, err := cli.Call(context.Background(), "clnrest-register-path", json.RawMessage(tc.params))
			var rpcErr *lnrpc.Error
			if !errors.As(err, &rpcErr) || rpcErr.Message != tc.want || rpcErr.Code != -32700 {
				t.Errorf("got %v; want -32700 %q", err, tc.want)
			}
		})
	}
	// These join or add registrations without error, as upstream's test does.
	for _, params := range []string{
		`{"path":"v1/{capture}/go","rpc_method":"capture-route","rune_restrictions":{"params":{"amount_msat":9999}}}`,
		`{"path":"v1/keys/{keyset_id}","rpc_method":"getinfo"}`,
		`{"path":"v1/keys","rpc_method":"getinfo"}`,
	} {
		if _, err := cli.Call(context.Background(), "clnrest-register-path", json.RawMessage(params)); err != nil {
			t.Errorf("%s: %v", params, err)
		}
	}
	// Registered paths take precedence over /v1/<method>.
	if r := e.post("/v1/keys", ""); r.status != 201 || !json.Valid([]byte(r.body)) {
		t.Errorf("POST /v1/keys: got %d %s", r.status, r.body)
	}
	if r := e.post("/v1/x/go", ""); r.status != 201 {
		t.Errorf("POST /v1/x/go (joined registration): got %d %s", r.status, r.body)
	}
}
