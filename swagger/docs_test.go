package swagger

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// startDocs serves a Docs on a real socket; the server closes with the test.
func startDocs(t *testing.T, cfg Config) (*Docs, *httptest.Server) {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return d, srv
}

// noRedirect is a client that reports redirects instead of following them.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, header map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return reply{resp.StatusCode, resp.Header, string(body)}
}

func TestNewRoot(t *testing.T) {
	tests := []struct {
		root    string
		wantUI  string
		wantErr bool
	}{
		{"/", "/swagger-ui", false},
		{"", "/swagger-ui", false},
		{"/docs", "/docs", false},
		{"/docs/", "/docs", false},
		{"/a/b", "/a/b", false},
		{"docs", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.root, func(t *testing.T) {
			d, err := New(Config{Root: tt.root})
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v; want error %v", err, tt.wantErr)
			}
			if err == nil && d.UIPath() != tt.wantUI {
				t.Errorf("got UI at %s; want %s", d.UIPath(), tt.wantUI)
			}
		})
	}
}

func TestOwns(t *testing.T) {
	tests := []struct {
		root, path string
		want       bool
	}{
		{"/", "/", true},
		{"/", "/swagger.json", true},
		{"/", "/swagger-ui", true},
		{"/", "/swagger-ui/", true},
		{"/", "/swagger-ui/swagger-ui.css", true},
		{"/", "/swagger-uix", false},
		{"/", "/docs", false},
		{"/", "/v1/getinfo", false},
		{"/", "/socket.io/", false},
		{"/docs", "/", true},
		{"/docs", "/swagger.json", true},
		{"/docs", "/docs", true},
		{"/docs", "/docs/swagger-ui-bundle.js", true},
		{"/docs", "/docsx", false},
		{"/docs", "/swagger-ui", false},
		{"/docs/", "/docs/", true},
	}
	for _, tt := range tests {
		t.Run(tt.root+" "+tt.path, func(t *testing.T) {
			d, err := New(Config{Root: tt.root})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := d.Owns(tt.path); got != tt.want {
				t.Errorf("Owns(%q) = %v; want %v", tt.path, got, tt.want)
			}
		})
	}
}

func TestServe(t *testing.T) {
	rpc := &fakeRPC{}
	rpc.set(nil, helpGetinfo)
	_, def := startDocs(t, Config{Root: "/", RPC: rpc})
	_, docs := startDocs(t, Config{Root: "/docs", RPC: rpc})
	gzipped := map[string]string{"Accept-Encoding": "gzip"}
	tests := []struct {
		name      string
		srv       *httptest.Server
		method    string
		path      string
		header    map[string]string
		status    int
		ctype     string
		location  string
		bodyHas   string
		gzipBody  bool
		encoding  string
		byteCount int // minimum body length
	}{
		{"root redirects to the UI", def, "GET", "/", nil, 308, "", "/swagger-ui", "", false, "", 0},
		{"root redirects any method", def, "POST", "/", nil, 308, "", "/swagger-ui", "", false, "", 0},
		{"page", def, "GET", "/swagger-ui", nil, 200, "text/html; charset=utf-8", "", `<script src="/swagger-ui/swagger-ui-bundle.js">`, false, "", 0},
		{"page with slash", def, "GET", "/swagger-ui/", nil, 200, "text/html; charset=utf-8", "", `<div id="swagger-ui">`, false, "", 0},
		{"page as index.html", def, "GET", "/swagger-ui/index.html", nil, 200, "text/html; charset=utf-8", "", `swagger-ui.css`, false, "", 0},
		{"page has no inline script", def, "GET", "/swagger-ui", nil, 200, "", "", `<script src="/swagger-ui/clnrest-swagger-init.js"></script>`, false, "", 0},
		{"init script reads /swagger.json", def, "GET", "/swagger-ui/clnrest-swagger-init.js", nil, 200, "text/javascript; charset=utf-8", "", `url: "/swagger.json"`, false, "", 0},
		{"bundle inflated for a client without gzip", def, "GET", "/swagger-ui/swagger-ui-bundle.js", map[string]string{"Accept-Encoding": "identity"}, 200, "text/javascript; charset=utf-8", "", "SwaggerUIBundle", false, "", 1_000_000},
		{"bundle gzipped for a client with gzip", def, "GET", "/swagger-ui/swagger-ui-bundle.js", gzipped, 200, "text/javascript; charset=utf-8", "", "SwaggerUIBundle", true, "gzip", 0},
		{"gzip refused with q=0", def, "GET", "/swagger-ui/swagger-ui.css", map[string]string{"Accept-Encoding": "gzip;q=0"}, 200, "text/css; charset=utf-8", "", ".swagger-ui", false, "", 0},
		{"favicon", def, "GET", "/swagger-ui/favicon-32x32.png", nil, 200, "image/png", "", "PNG", false, "", 0},
		{"unknown asset is a JSON 404", def, "GET", "/swagger-ui/nope.js", nil, 404, "application/json", "", `{"code":-32601,"message":"Path not found"}`, false, "", 0},
		{"POST to the page is a JSON 405", def, "POST", "/swagger-ui", nil, 405, "application/json", "", `"code":-32601`, false, "", 0},
		{"spec", def, "GET", "/swagger.json", nil, 200, "application/json", "", `"/v1/getinfo"`, false, "", 0},
		{"spec gzipped", def, "GET", "/swagger.json", gzipped, 200, "application/json", "", `"/v1/getinfo"`, true, "gzip", 0},
		{"HEAD spec", def, "HEAD", "/swagger.json", nil, 200, "application/json", "", "", false, "", 0},
		{"DELETE spec", def, "DELETE", "/swagger.json", nil, 405, "application/json", "", `only answers GET`, false, "", 0},
		{"custom root: hello at /", docs, "GET", "/", nil, 200, "text/plain; charset=utf-8", "", "Hello, World!", false, "", 0},
		{"custom root: page", docs, "GET", "/docs", nil, 200, "text/html; charset=utf-8", "", `<script src="/docs/swagger-ui-bundle.js">`, false, "", 0},
		{"custom root: asset", docs, "GET", "/docs/swagger-ui.css", nil, 200, "text/css; charset=utf-8", "", ".swagger-ui", false, "", 0},
		{"custom root: spec", docs, "GET", "/swagger.json", nil, 200, "application/json", "", `"openapi":"3.0.3"`, false, "", 0},
		{"custom root: no fallback UI", docs, "GET", "/swagger-ui", nil, 404, "application/json", "", "Path not found", false, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, tt.srv.URL+tt.path, tt.header)
			if r.status != tt.status {
				t.Fatalf("got status %d; want %d (body %.200s)", r.status, tt.status, r.body)
			}
			if tt.ctype != "" && r.header.Get("Content-Type") != tt.ctype {
				t.Errorf("got Content-Type %q; want %q", r.header.Get("Content-Type"), tt.ctype)
			}
			if got := r.header.Get("Location"); got != tt.location {
				t.Errorf("got Location %q; want %q", got, tt.location)
			}
			if got := r.header.Get("Content-Encoding"); got != tt.encoding {
				t.Errorf("got Content-Encoding %q; want %q", got, tt.encoding)
			}
			body := r.body
			if tt.gzipBody {
				body = gunzip(t, body)
			}
			if !strings.Contains(body, tt.bodyHas) {
				t.Errorf("got body %.300q; want it to contain %q", body, tt.bodyHas)
			}
			if len(body) < tt.byteCount {
				t.Errorf("got %d bytes; want at least %d", len(body), tt.byteCount)
			}
		})
	}
}

func gunzip(t *testing.T, s string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(s))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return string(out)
}

func TestNotModified(t *testing.T) {
	_, srv := startDocs(t, Config{})
	first := do(t, "GET", srv.URL+"/swagger-ui/swagger-ui.css", nil)
	etag := first.header.Get("ETag")
	if etag == "" {
		t.Fatalf("got no ETag; want one")
	}
	again := do(t, "GET", srv.URL+"/swagger-ui/swagger-ui.css", map[string]string{"If-None-Match": etag})
	if again.status != http.StatusNotModified || again.body != "" {
		t.Errorf("got %d with %d bytes; want 304 and no body", again.status, len(again.body))
	}
}

// paths decodes /swagger.json and returns its path names.
func specPaths(t *testing.T, srv *httptest.Server) map[string]any {
	t.Helper()
	r := do(t, "GET", srv.URL+"/swagger.json", nil)
	if r.status != http.StatusOK {
		t.Fatalf("got status %d; want 200", r.status)
	}
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("decoding /swagger.json: %v", err)
	}
	return doc.Paths
}

// TestFallbackThenRetry: while lightningd cannot answer, the document
// has the generic operation and is not kept; once it answers, the
// commands appear and the document is kept.
func TestFallbackThenRetry(t *testing.T) {
	rpc := &fakeRPC{}
	rpc.set(errUnreachable)
	_, srv := startDocs(t, Config{RPC: rpc})

	steps := []struct {
		name      string
		err       error
		wantPath  string
		wantCalls int
	}{
		{"unreachable: generic operation", errUnreachable, "/v1/{rpc_method}", 1},
		{"still unreachable: asked again", errUnreachable, "/v1/{rpc_method}", 2},
		{"reachable: commands", nil, "/v1/invoice", 3},
		{"kept: not asked again", nil, "/v1/invoice", 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			rpc.set(st.err, helpGetinfo, helpInvoice)
			paths := specPaths(t, srv)
			if _, ok := paths[st.wantPath]; !ok {
				t.Errorf("got paths %v; want %s", keys(paths), st.wantPath)
			}
			if _, ok := paths["/v1/list-methods"]; !ok {
				t.Errorf("got paths %v; want /v1/list-methods", keys(paths))
			}
			if got := rpc.helpCalls(); got != st.wantCalls {
				t.Errorf("got %d help calls; want %d", got, st.wantCalls)
			}
		})
	}
}

func TestNoRPC(t *testing.T) {
	_, srv := startDocs(t, Config{})
	if _, ok := specPaths(t, srv)["/v1/{rpc_method}"]; !ok {
		t.Errorf("got no generic operation without RPC; want it")
	}
}

// TestInvalidate: a plugin adds a command and registers a path; after
// Invalidate the next document shows both.
func TestInvalidate(t *testing.T) {
	rpc := &fakeRPC{}
	rpc.set(nil, helpGetinfo)
	var mu sync.Mutex // protects registered
	var registered []DynamicPath
	d, srv := startDocs(t, Config{RPC: rpc, Paths: func() []DynamicPath {
		mu.Lock()
		defer mu.Unlock()
		return append([]DynamicPath(nil), registered...)
	}})

	before := specPaths(t, srv)
	rpc.set(nil, helpGetinfo, helpPlugin)
	mu.Lock()
	registered = append(registered, DynamicPath{Path: "v1/{capture}/go", HTTPMethod: "GET", RPCMethod: "summary"})
	mu.Unlock()
	kept := specPaths(t, srv)
	d.Invalidate()
	after := specPaths(t, srv)

	tests := []struct {
		name  string
		paths map[string]any
		path  string
		want  bool
	}{
		{"before: no plugin method", before, "/v1/summary", false},
		{"kept until Invalidate", kept, "/v1/summary", false},
		{"after: plugin method", after, "/v1/summary", true},
		{"after: registered path", after, "/v1/{capture}/go", true},
		{"after: getinfo still there", after, "/v1/getinfo", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := tt.paths[tt.path]; got != tt.want {
				t.Errorf("got %s present %v; want %v", tt.path, got, tt.want)
			}
		})
	}
	if got := rpc.helpCalls(); got != 2 {
		t.Errorf("got %d help calls; want 2", got)
	}
}

// TestConcurrentFirstRequests: requests that arrive while the first
// document is being built wait for it instead of each calling help; an
// Invalidate during the build keeps its result from being kept.
func TestConcurrentFirstRequests(t *testing.T) {
	rpc := &fakeRPC{block: make(chan struct{})}
	rpc.set(nil, helpGetinfo)
	d, srv := startDocs(t, Config{RPC: rpc})

	const n = 5
	var wg sync.WaitGroup
	results := make([]map[string]any, n)
	for i := range n {
		wg.Go(func() { results[i] = specPaths(t, srv) })
	}
	waitFor(t, func() bool { return rpc.helpCalls() == 1 })
	d.Invalidate() // while the build waits on help
	close(rpc.block)
	wg.Wait()
	for i, p := range results {
		if _, ok := p["/v1/getinfo"]; !ok {
			t.Errorf("request %d: got paths %v; want /v1/getinfo", i, keys(p))
		}
	}
	// The first build was dropped by Invalidate; the next waiter built
	// again and kept it; the others used that.
	if got := rpc.helpCalls(); got != 2 {
		t.Errorf("got %d help calls for %d concurrent requests; want 2", got, n)
	}
	specPaths(t, srv)
	if got := rpc.helpCalls(); got != 2 {
		t.Errorf("got %d help calls after one more request; want 2 (the document kept)", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("condition not met in time")
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
