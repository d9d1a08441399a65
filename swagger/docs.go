// Package swagger serves clnrest's API documentation: the Swagger UI,
// embedded in the binary so it works offline and under clnrest's default
// Content-Security-Policy, and /swagger.json, an OpenAPI 3.0 document
// built from lightningd's `help` (one operation per command, with its
// parameters) and the paths plugins registered with clnrest-register-path.
package swagger

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Caller runs a lightningd command; *lnrpc.Client implements it.
type Caller interface {
	Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error)
}

// Config is what Docs needs.
type Config struct {
	// Root is clnrest-swagger-root. "/" (or "") serves the UI at
	// /swagger-ui and redirects "/" there, as upstream does; any other
	// root serves the UI there and answers "/" with upstream's plain
	// "Hello, World!".
	Root string
	// RPC answers `help`. Nil documents only the generic operation.
	RPC Caller
	// Paths returns the registered dynamic paths now; nil means none.
	Paths func() []DynamicPath
	// Version is shown as the document's info.version; "" means "dev".
	Version string
	// Logger receives build failures; nil discards them.
	Logger *slog.Logger
}

// helpTimeout bounds the `help` call behind one /swagger.json request.
const helpTimeout = 10 * time.Second

// specPath is where the OpenAPI document is served, whatever the root.
const specPath = "/swagger.json"

// uiFallback is where the UI lives when the root is "/" (upstream's
// SWAGGER_FALLBACK), so that "/" can redirect to it.
const uiFallback = "/swagger-ui"

// Docs serves the UI and the document. The document is built on the
// first request for it and kept until Invalidate; a document made while
// lightningd could not answer `help` is served but not kept, so the next
// request tries again.
type Docs struct {
	cfg    Config
	uiRoot string
	ui     http.Handler
	log    *slog.Logger

	buildMu sync.Mutex // serializes builds, so concurrent first requests make one `help` call

	mu    sync.Mutex // protects doc, valid and gen
	doc   []byte
	valid bool
	gen   uint64 // counts Invalidate calls, so a build that raced one is not kept
}

var _ http.Handler = (*Docs)(nil)

// New checks cfg and returns a Docs. Nothing is asked of lightningd yet.
func New(cfg Config) (*Docs, error) {
	root := cfg.Root
	if root == "" {
		root = "/"
	}
	if !strings.HasPrefix(root, "/") {
		return nil, fmt.Errorf("swagger root %q: must start with '/'", cfg.Root)
	}
	if root != "/" {
		root = strings.TrimRight(root, "/")
		if root == "" {
			root = "/"
		}
	}
	cfg.Root = root
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	d := &Docs{cfg: cfg, uiRoot: root, log: cfg.Logger}
	if root == "/" {
		d.uiRoot = uiFallback
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	ui, err := newUI(d.uiRoot, specPath)
	if err != nil {
		return nil, err
	}
	d.ui = ui
	return d, nil
}

// UIPath is where the Swagger UI is served.
func (d *Docs) UIPath() string { return d.uiRoot }

// Owns reports whether path is one that Docs serves: "/", the UI root and
// everything under it, and /swagger.json.
func (d *Docs) Owns(path string) bool {
	return path == "/" || path == specPath || path == d.uiRoot || strings.HasPrefix(path, d.uiRoot+"/")
}

// Invalidate drops the kept document: the set of commands or registered
// paths may have changed. The next request for it rebuilds it.
func (d *Docs) Invalidate() {
	d.mu.Lock()
	d.valid = false
	d.gen++
	d.mu.Unlock()
}

// ServeHTTP answers the paths that Owns accepts, and a JSON 404 for any
// other.
func (d *Docs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case !d.Owns(path):
		writeError(w, http.StatusNotFound, "Path not found")
	case path == "/" && d.cfg.Root == "/":
		// Upstream redirects "/" whatever the HTTP method.
		http.Redirect(w, r, d.uiRoot, http.StatusPermanentRedirect)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("Path %s only answers GET", path))
	case path == specPath:
		d.serveSpec(w, r)
	case path == "/":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("Hello, World!"))
	default:
		d.ui.ServeHTTP(w, r)
	}
}

// serveSpec answers /swagger.json, gzipped for clients that accept it:
// the document for a full node is about 0.5 MB, 35 kB gzipped.
func (d *Docs) serveSpec(w http.ResponseWriter, r *http.Request) {
	body := d.spec(r.Context())
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Accept-Encoding")
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		_, _ = w.Write(body)
		return
	}
	h.Set("Content-Encoding", "gzip")
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		d.log.Error("swagger: compressing /swagger.json", "error", err)
		return
	}
	_, _ = zw.Write(body)
	_ = zw.Close()
}

// spec returns the kept document, or builds one.
func (d *Docs) spec(ctx context.Context) []byte {
	if doc, ok := d.kept(); ok {
		return doc
	}
	d.buildMu.Lock()
	defer d.buildMu.Unlock()
	if doc, ok := d.kept(); ok {
		return doc // built while this request waited
	}
	d.mu.Lock()
	gen := d.gen
	d.mu.Unlock()

	doc, complete := d.build(ctx)
	if complete {
		d.mu.Lock()
		if gen == d.gen {
			d.doc, d.valid = doc, true
		}
		d.mu.Unlock()
	}
	return doc
}

func (d *Docs) kept() ([]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.doc, d.valid
}

// build makes a document now. complete is false when `help` failed, in
// which case the document lists the generic operation instead.
func (d *Docs) build(ctx context.Context) (doc []byte, complete bool) {
	in := docInput{Version: d.cfg.Version}
	in.Commands, in.HelpErr = d.commands(ctx)
	if in.HelpErr != nil {
		d.log.Warn("swagger: documenting only the generic operation", "error", in.HelpErr)
	}
	if d.cfg.Paths != nil {
		in.Paths = d.cfg.Paths()
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // the document is JSON, never inlined in HTML
	if err := enc.Encode(buildDocument(in)); err != nil {
		// Unreachable with the types above; answer something valid anyway.
		d.log.Error("swagger: encoding the OpenAPI document", "error", err)
		return []byte(`{"openapi":"3.0.3","info":{"title":"clnrest","version":"dev"},"paths":{}}`), false
	}
	return out.Bytes(), in.HelpErr == nil
}

// commands asks lightningd for its commands.
func (d *Docs) commands(ctx context.Context) ([]command, error) {
	if d.cfg.RPC == nil {
		return nil, fmt.Errorf("calling help: no lightningd connection configured")
	}
	ctx, cancel := context.WithTimeout(ctx, helpTimeout)
	defer cancel()
	res, err := d.cfg.RPC.Call(ctx, "help", json.RawMessage(`{}`))
	if err != nil {
		return nil, fmt.Errorf("calling help: %w", err)
	}
	return parseHelp(res)
}

// writeError answers with clnrest's JSON error shape.
func writeError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{-32601, msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
