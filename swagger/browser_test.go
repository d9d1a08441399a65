package swagger

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// defaultCSP is clnrest-csp's default (contract §2).
const defaultCSP = "default-src 'self'; font-src 'self'; img-src 'self' data:; frame-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline';"

// strictCSP drops 'unsafe-inline': the page must not need it.
const strictCSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"

// restStandIn stands in for clnrest's REST side: POST /v1/<method>
// answers 201 when the rune header is the expected one, as clnrest does
// after checkrune, and records what it got; everything else goes to
// Docs. Every response carries csp, as clnrest's middleware sets it.
type restStandIn struct {
	docs *Docs
	rune string
	csp  string

	mu  sync.Mutex // protects got
	got []restCall
}

// restCall is one request the stand-in received.
type restCall struct {
	path, rune, contentType, body string
}

func (s *restStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", s.csp)
	if !strings.HasPrefix(r.URL.Path, "/v1/") || r.URL.Path == "/v1/list-methods" {
		s.docs.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.got = append(s.got, restCall{r.URL.Path, r.Header.Get("Rune"), r.Header.Get("Content-Type"), string(body)})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.Header.Get("Rune") != s.rune {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"code":1501,"message":"Not authorized: Missing rune"}`))
		return
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"id":"022d223620a359a47ff7f7ac447c85c46c923da53389221a0054c11c1e3ca31d59","alias":"SILENTARTIST","blockheight":110,"fees_collected_msat":18446744073709551615}`))
}

func (s *restStandIn) calls() []restCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]restCall(nil), s.got...)
}

// browserResult is what testdata/node/tryitout.mjs prints.
type browserResult struct {
	Status          string   `json:"status"`
	Body            string   `json:"body"`
	CSPViolations   []string `json:"cspViolations"`
	ForeignRequests []string `json:"foreignRequests"`
	PageErrors      []string `json:"pageErrors"`
	Error           string   `json:"error"`
}

// TestTryItOut drives the UI in Chromium (Debian's chromium package and
// playwright-core from testdata/node): Authorize with a rune, expand
// POST /v1/getinfo, Try it out, Execute; under clnrest's default CSP
// and under one without 'unsafe-inline'. Nothing may be blocked or
// fetched from another origin. Skipped in -short mode and when the tools
// are missing (unless CLNREST_REQUIRE_CLIENTS=1).
func TestTryItOut(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	node, errNode := exec.LookPath("node")
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if errNode != nil || !exists(chromium) || !exists("testdata/node/node_modules/playwright-core") {
		requireClients(t, "node, "+chromium+" or testdata/node/node_modules is missing (apt-get install chromium; npm ci in swagger/testdata/node)")
	}
	const rune = "tU-RLjMiDpY2U0o3W1oFowar36RFGpWloPbW9-RuZdo9MyZpZD0wMjRiOWExZmE4ZTAwNmYxZTM5MzdmNjVmNjZjNDA4ZTZkYThlMWNhNzI4ZWE0MzIyMmE3MzgxZGYxY2M0NDk2MDUmbWV0aG9kPWdldGluZm8="
	tests := []struct {
		name, root, csp, method string
		wantSent                string // the JSON body Try it out sent, untouched
	}{
		{"getinfo, default CSP, root /", "/", defaultCSP, "getinfo", `{}`},
		{"getinfo, strict CSP, root /docs", "/docs", strictCSP, "getinfo", `{}`},
		// Every param listed as null, which clnrest strips: an untouched
		// example sends nothing lightningd would refuse.
		{"invoice example is all null", "/", defaultCSP, "invoice",
			`{"amount_msat":null,"label":null,"description":null,"expiry":null,"fallbacks":null,"preimage":null,` +
				`"exposeprivatechannels":null,"cltv":null,"deschashonly":null,"dev-routes":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rpc := &fakeRPC{}
			rpc.set(nil, helpGetinfo, helpInvoice)
			d, err := New(Config{Root: tt.root, RPC: rpc})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			stand := &restStandIn{docs: d, rune: rune, csp: tt.csp}
			srv := httptest.NewServer(stand)
			defer srv.Close()

			shot := filepath.Join(t.TempDir(), "tryitout.png")
			if dir := os.Getenv("CLNREST_SCREENSHOTS"); dir != "" {
				shot = filepath.Join(dir, "swagger-"+identifier(tt.name)+".png")
			}
			got := runBrowser(t, node, chromium, srv.URL+d.UIPath(), rune, shot, tt.method)

			if got.Status != "201" {
				t.Errorf("got status %q; want 201 (error %q)", got.Status, got.Error)
			}
			// Swagger UI parses the JSON in the browser, so it shows
			// 18446744073709551615 rounded; clnrest sent it exactly.
			for _, want := range []string{`"alias": "SILENTARTIST"`, `"fees_collected_msat": 1844674407370955`} {
				if !strings.Contains(got.Body, want) {
					t.Errorf("got body %q; want it to contain %s", got.Body, want)
				}
			}
			if len(got.CSPViolations)+len(got.ForeignRequests)+len(got.PageErrors) > 0 {
				t.Errorf("got CSP violations %q, foreign requests %q, page errors %q; want none",
					got.CSPViolations, got.ForeignRequests, got.PageErrors)
			}
			calls := stand.calls()
			if len(calls) != 1 {
				t.Fatalf("got %d calls %q; want one", len(calls), calls)
			}
			c := calls[0]
			if c.path != "/v1/"+tt.method || c.rune != rune || c.contentType != "application/json" {
				t.Errorf("got %s with rune %q and Content-Type %q; want /v1/%s with the rune, as JSON", c.path, c.rune, c.contentType, tt.method)
			}
			if compact(t, c.body) != tt.wantSent {
				t.Errorf("got body %s; want %s", c.body, tt.wantSent)
			}
		})
	}
}

func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("body %q is not JSON: %v", s, err)
	}
	return b.String()
}

func runBrowser(t *testing.T, node, chromium, url, rune, shot, method string) browserResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "tryitout.mjs", url, rune, shot, method, "rpc")
	cmd.Dir = "testdata/node"
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := cmd.Output()
	var got browserResult
	if jerr := json.Unmarshal(out, &got); jerr != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("tryitout.mjs: %v, output %q: %v\n%s", err, out, jerr, stderr)
	}
	if err != nil {
		t.Fatalf("tryitout.mjs: %v: %s (status %q)", err, got.Error, got.Status)
	}
	return got
}
