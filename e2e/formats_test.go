package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestFormats sends listdatastore's params in each format and reads the
// result in each, as upstream's test_clnrest.py does.
func TestFormats(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	if r := e.post("/v1/datastore", `{"key":["project"],"string":"clnrest"}`); r.status != 201 {
		t.Fatalf("datastore: %d %s", r.status, r.body)
	}
	requests := []struct{ name, contentType, body string }{
		{"json", "application/json", `{"key":"project"}`},
		{"yaml", "application/yaml", "key: project\n"},
		{"xml", "application/xml", "<listdatastore><key>project</key></listdatastore>"},
		{"form", "application/x-www-form-urlencoded", "key=project"},
		{"form array", "application/x-www-form-urlencoded", "key[0]=project"},
	}
	responses := []struct{ name, accept, contentType, want string }{
		{"json", "application/json", "application/json", `"key":["project"]`},
		{"yaml", "application/yaml", "application/yaml", "key:\n  - project"},
		{"xml", "application/xml", "application/xml", "<key>project</key>"},
		{"form", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded", "datastore[0][key][0]=project"},
		{"q-values", "text/html;q=1, application/yaml;q=0.9, */*;q=0.1", "application/yaml", "key:\n  - project"},
	}
	for _, req := range requests {
		for _, res := range responses {
			t.Run(req.name+" to "+res.name, func(t *testing.T) {
				r := e.post("/v1/listdatastore", req.body, "Content-Type", req.contentType, "Accept", res.accept)
				if r.status != 201 {
					t.Fatalf("got %d %s; want 201", r.status, r.body)
				}
				if got := r.header.Get("Content-Type"); got != res.contentType {
					t.Errorf("Content-Type: got %q; want %q", got, res.contentType)
				}
				if !strings.Contains(r.body, res.want) {
					t.Errorf("body %q lacks %q", r.body, res.want)
				}
			})
		}
	}
}

// TestExactNumbers sends u64 and below-float64-precision integers in every
// format and checks they come back unchanged in every format.
func TestExactNumbers(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	e.node.RPC.Handle("echo", "[anything]", func(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
		return params, nil
	})
	const max, neg = "18446744073709551615", "-9007199254740993"
	bodies := []struct{ name, contentType, body string }{
		{"json", "application/json", `{"amount_msat":` + max + `,"n":` + neg + `}`},
		{"yaml", "application/yaml", "amount_msat: " + max + "\nn: " + neg + "\n"},
		{"xml", "application/xml", "<echo><amount_msat>" + max + "</amount_msat><n>" + neg + "</n></echo>"},
		{"form", "application/x-www-form-urlencoded", "amount_msat=" + max + "&n=" + url.QueryEscape(neg)},
	}
	accepts := []struct{ name, accept string }{
		{"json", "application/json"}, {"yaml", "application/yaml"}, {"xml", "application/xml"}, {"form", "application/x-www-form-urlencoded"},
	}
	for _, b := range bodies {
		for _, a := range accepts {
			t.Run(b.name+" to "+a.name, func(t *testing.T) {
				r := e.post("/v1/echo", b.body, "Content-Type", b.contentType, "Accept", a.accept)
				if r.status != 201 {
					t.Fatalf("got %d %s", r.status, r.body)
				}
				for _, want := range []string{max, neg} {
					if !strings.Contains(r.body, want) {
						t.Errorf("body %q lacks %s", r.body, want)
					}
				}
				if strings.Contains(r.body, "e+") || strings.Contains(r.body, "E+") {
					t.Errorf("body %q has a float", r.body)
				}
			})
		}
	}
	t.Run("json integers stay integers", func(t *testing.T) {
		r := e.post("/v1/echo", bodies[0].body)
		if r.body != `{"amount_msat":`+max+`,"n":`+neg+`}` {
			t.Errorf("got %s", r.body)
		}
	})
}
