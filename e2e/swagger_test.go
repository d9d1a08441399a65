package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSwaggerThroughBinary(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	e.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if r := e.do("GET", "/", ""); r.status != http.StatusPermanentRedirect || r.header.Get("Location") != "/swagger-ui" {
		t.Errorf("GET /: got %d Location %q; want 308 to /swagger-ui", r.status, r.header.Get("Location"))
	}
	if r := e.do("GET", "/swagger-ui", ""); r.status != 200 && r.status != http.StatusMovedPermanently && r.status != http.StatusPermanentRedirect {
		t.Errorf("GET /swagger-ui: got %d", r.status)
	}
	doc := func() map[string]map[string]any {
		r := e.do("GET", "/swagger.json", "")
		if r.status != 200 {
			t.Fatalf("swagger.json: %d %s", r.status, r.body)
		}
		var d struct {
			Paths map[string]map[string]any `json:"paths"`
		}
		if err := json.Unmarshal([]byte(r.body), &d); err != nil {
			t.Fatalf("swagger.json: %v", err)
		}
		return d.Paths
	}
	paths := doc()
	for _, p := range []string{"/v1/getinfo", "/v1/invoice", "/v1/clnrest-register-path", "/v1/list-methods"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("document lacks %s", p)
		}
	}
	// A path registered later shows up: registering invalidates the document.
	if _, err := e.node.Plugin.Call(context.Background(), "clnrest-register-path", json.RawMessage(`["v1/keys/{keyset_id}","getinfo","GET",false]`)); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc()["/v1/keys/{keyset_id}"]; !ok {
		t.Error("registered path missing from the document after registration")
	}
	// A plugin that starts adds its command once plugin_started arrives.
	e.node.RPC.Handle("newplugin-method", "arg [opt]", func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{}`), nil })
	if err := e.node.Notify("plugin_started", json.RawMessage(`{"plugin_name":"newplugin","plugin_path":"/x/newplugin","methods":["newplugin-method"]}`)); err != nil {
		t.Fatal(err)
	}
	found := false
	for range 50 { // the notification reaches clnrest asynchronously
		if _, found = doc()["/v1/newplugin-method"]; found {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !found {
		t.Error("plugin method missing after plugin_started")
	}
	if r := e.do("GET", "/swagger.json", ""); !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Error("CSP missing on the document")
	}
}
