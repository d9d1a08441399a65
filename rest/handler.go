// Package rest is clnrest's HTTP front: it routes requests in upstream
// clnrest's order, turns POST /v1/<method> into a lightning-rpc call after
// checking the caller's rune, negotiates the body and response formats,
// serves paths that other plugins registered, and sets CORS and CSP
// headers. Every error it answers is a JSON object {"code","message"}.
package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/clnrest/clnrest/codec"
	"github.com/clnrest/clnrest/config"
	"github.com/clnrest/clnrest/lnrpc"
	"github.com/clnrest/clnrest/runeauth"
)

// Config is what a Handler needs.
type Config struct {
	// RPC reaches lightningd.
	RPC *lnrpc.Client
	// Auth checks runes.
	Auth *runeauth.Checker
	// Origins is the clnrest-cors-origins policy.
	Origins *config.Origins
	// CSP is sent as Content-Security-Policy on every response.
	CSP string
	// MaxBody is the largest request body accepted, in bytes.
	MaxBody int64
	// Paths holds the routes other plugins registered; nil means none.
	Paths Router
	// Docs serves the Swagger UI and /swagger.json; nil means none.
	Docs Docs
	// SocketIO serves /socket.io/; nil means none.
	SocketIO http.Handler
	// Logger receives the access log and errors; nil discards them.
	Logger *slog.Logger
	// BodyTimeout bounds how long a client may take to send its request
	// body once its headers are in, so that a slow-body client cannot
	// hold a request slot; a body not complete by then gets 408. Zero
	// means DefaultBodyTimeout.
	BodyTimeout time.Duration
	// MaxRequests caps the requests served at once; beyond it a request
	// gets 503 with Retry-After at once. Socket.IO traffic is not counted
	// (its long polls and WebSockets live for minutes and the hub bounds
	// them itself). Zero means config.DefaultMaxRequests.
	MaxRequests int
}

// DefaultBodyTimeout is the default Config.BodyTimeout: generous for an
// 8 MiB body on a slow link, short enough that slow-body clients are cut.
const DefaultBodyTimeout = 30 * time.Second

// Handler is clnrest's root http.Handler.
type Handler struct {
	rpc         *lnrpc.Client
	auth        *runeauth.Checker
	maxBody     int64
	bodyTimeout time.Duration
	paths       Router
	docs        Docs
	sio         http.Handler
	log         *slog.Logger
	root        http.Handler // routing wrapped in the request cap, CORS, CSP and access log
}

// NewHandler returns the root handler for cfg.
func NewHandler(cfg Config) *Handler {
	h := &Handler{
		rpc: cfg.RPC, auth: cfg.Auth, maxBody: cfg.MaxBody, bodyTimeout: cfg.BodyTimeout,
		paths: cfg.Paths, docs: cfg.Docs, sio: cfg.SocketIO, log: cfg.Logger,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.maxBody <= 0 {
		h.maxBody = config.DefaultMaxBody
	}
	if h.bodyTimeout <= 0 {
		h.bodyTimeout = DefaultBodyTimeout
	}
	maxRequests := cfg.MaxRequests
	if maxRequests <= 0 {
		maxRequests = config.DefaultMaxRequests
	}
	var routed http.Handler = http.HandlerFunc(h.route)
	routed = withRequestCap(routed, maxRequests)
	routed = withCORS(routed, cfg.Origins)
	routed = withCSP(routed, cfg.CSP)
	h.root = withAccessLog(routed, h.log)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.root.ServeHTTP(w, r) }

// routePath is the path every routing decision is made on: the path as
// the client sent it, still percent-encoded, so that an encoded '/'
// ("%2F") can never turn one segment into two on the way to a route.
func routePath(r *http.Request) string { return r.URL.EscapedPath() }

// isSocketIO reports whether a request belongs to the Socket.IO server.
func isSocketIO(r *http.Request) bool { return strings.HasPrefix(routePath(r), "/socket.io/") }

// route dispatches in the order of the contract: registered paths,
// list-methods, /v1/<method>, the documentation, Socket.IO, then 404.
// Paths are taken as sent: no cleaning of "..", "//" or a trailing '/',
// so that a path names exactly one route or none.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	path := routePath(r)
	if h.paths != nil {
		if rt, ok, err := h.paths.Match(path, r.Method); ok {
			if err != nil {
				h.writeError(w, r, err)
				return
			}
			h.serveCall(w, r, rt)
			return
		}
	}
	rel := strings.TrimPrefix(path, "/")
	switch {
	case rel == "v1/list-methods":
		h.listMethods(w, r)
	case strings.HasPrefix(rel, "v1/"):
		h.serveMethod(w, r, rel[len("v1/"):])
	case h.sio != nil && isSocketIO(r):
		h.sio.ServeHTTP(w, r)
	case h.docs != nil && h.docs.Owns(path):
		h.docs.ServeHTTP(w, r)
	case strings.Contains(rel, "v1/"):
		writeJSONError(w, newError(http.StatusNotFound, codeMethodNotFound, "Path invalid, version missing for CLN methods"))
	default:
		writeJSONError(w, newError(http.StatusNotFound, codeMethodNotFound, "Path not found"))
	}
}

// serveMethod serves POST /v1/<method>; rawMethod is the segment as sent.
// The name checkrune sees is the name lightningd runs: both come from this
// one decoded string.
func (h *Handler) serveMethod(w http.ResponseWriter, r *http.Request, rawMethod string) {
	if r.Method != http.MethodPost {
		writeJSONError(w, newError(http.StatusMethodNotAllowed, codeMethodNotFound, "Path invalid, http_method must be POST for CLN methods"))
		return
	}
	method, err := url.PathUnescape(rawMethod)
	if err != nil || !validMethodName(method) {
		writeJSONError(w, newError(http.StatusNotFound, codeMethodNotFound, fmt.Sprintf("Unknown command '%s'", rawMethod)))
		return
	}
	h.serveCall(w, r, Route{Method: method, RuneRequired: true})
}

// validMethodName accepts the names lightningd commands have: letters,
// digits, '-', '_' and '.'. Anything else (a '/', "..", spaces) cannot be
// a command, so it is refused before it reaches checkrune or lightningd.
func validMethodName(m string) bool {
	if m == "" || len(m) > 128 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return m != "." && m != ".."
}

// serveCall runs one REST call: negotiate formats, read the body, check
// the rune, call lightningd and stream the result back.
func (h *Handler) serveCall(w http.ResponseWriter, r *http.Request, rt Route) {
	ct := r.Header.Get("Content-Type")
	in, ok := requestFormat(ct)
	if !ok {
		writeJSONError(w, newError(http.StatusNotAcceptable, codeInvalidRequest, "Unsupported content-type header: "+ct))
		return
	}
	accept := r.Header.Get("Accept")
	out, ok := responseFormat(accept)
	if !ok {
		writeJSONError(w, newError(http.StatusNotAcceptable, codeInvalidRequest, "Unsupported accept header: "+accept))
		return
	}
	params, err := h.readParams(w, r, in, rt)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.authorize(r, rt, params); err != nil {
		h.writeError(w, r, err)
		return
	}
	res, err := h.rpc.Stream(r.Context(), rt.Method, params)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer res.Close()
	w.Header().Set("Content-Type", out.contentType())
	w.WriteHeader(http.StatusCreated)
	if err := encode(w, res, out, rt.Method); err != nil {
		h.log.Warn("response cut short", "method", rt.Method, "format", out.String(), "err", err)
		// The status is sent; aborting makes the client see a broken
		// response instead of a truncated one that parses.
		panic(http.ErrAbortHandler)
	}
}

func encode(w io.Writer, res io.Reader, f format, method string) error {
	switch f {
	case formatYAML:
		return codec.EncodeYAML(w, res)
	case formatXML:
		return codec.EncodeXML(w, res, method)
	case formatForm:
		return codec.EncodeForm(w, res)
	default:
		_, err := io.Copy(w, res)
		return err
	}
}

// maxYAMLBody bounds YAML bodies below clnrest-max-body: YAML is parsed
// into a node tree of about 40 bytes per input byte before any limit can
// apply, so an 8 MiB YAML body could cost 300 MB.
const maxYAMLBody = 1 << 20

// readParams reads and decodes the body into a JSON object, drops nulls
// and merges the path's captures. An empty body is {} whatever its
// Content-Type, as clients such as axios send one on a bare POST.
func (h *Handler) readParams(w http.ResponseWriter, r *http.Request, f format, rt Route) (json.RawMessage, error) {
	body, err := h.readBody(w, r)
	if err != nil {
		return nil, err
	}
	if f == formatYAML && int64(len(body)) > maxYAMLBody {
		return nil, newError(http.StatusRequestEntityTooLarge, codeInvalidRequest,
			"YAML request body is larger than the YAML limit of "+strconv.Itoa(maxYAMLBody)+" bytes; send large params as JSON")
	}
	params := json.RawMessage(`{}`)
	if len(bytes.TrimSpace(body)) > 0 {
		if params, err = decode(bytes.NewReader(body), f, rt.Method); err != nil {
			return nil, err
		}
		if params, err = codec.RemoveNulls(params); err != nil {
			return nil, err
		}
	}
	return mergeCaptures(params, rt.Captures)
}

// readBody reads the whole body within bodyTimeout and maxBody. The read
// deadline must not outlive the body: left in place, it would fire in the
// server's background read (which watches for the client going away)
// while lightningd is still working, and cancel the request. So no
// deadline is set without a body, and it is lifted once the body is in.
// After a failed read it stays, so that the server does not wait on the
// rest of a slow body before closing the connection.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	rc := http.NewResponseController(w)
	deadline := rc.SetReadDeadline(time.Now().Add(h.bodyTimeout)) == nil
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		if deadline {
			rc.SetReadDeadline(time.Time{})
		}
		return body, nil
	case errors.As(err, &tooLarge):
		return nil, err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, newError(http.StatusRequestTimeout, codeInvalidRequest,
			"Request body was not received within "+h.bodyTimeout.String())
	}
	return nil, newError(http.StatusBadRequest, codeParseError, "reading request body: "+err.Error())
}

func decode(r io.Reader, f format, method string) (json.RawMessage, error) {
	var lim codec.Limits
	switch f {
	case formatYAML:
		return codec.DecodeYAML(r, lim)
	case formatXML:
		return codec.DecodeXML(r, method, lim)
	case formatForm:
		return codec.DecodeForm(r, lim)
	default:
		return codec.DecodeJSON(r, lim)
	}
}

// mergeCaptures adds a registered path's {name} captures to params as
// strings; a name given both ways is an error rather than a silent pick.
func mergeCaptures(params json.RawMessage, captures map[string]string) (json.RawMessage, error) {
	if len(captures) == 0 {
		return params, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(params, &m); err != nil {
		return nil, fmt.Errorf("merging path captures: %w", err)
	}
	for k, v := range captures {
		if _, dup := m[k]; dup {
			return nil, newError(http.StatusBadRequest, codeInvalidParams, "Duplicate key: "+k)
		}
		s, _ := json.Marshal(v) // strings always marshal
		m[k] = s
	}
	return json.Marshal(m)
}

// authorize checks the rune unless the route is a GET path registered
// without one.
func (h *Handler) authorize(r *http.Request, rt Route, params json.RawMessage) error {
	if !rt.RuneRequired && r.Method == http.MethodGet {
		return nil
	}
	rune, err := runeauth.FromHeader(r.Header)
	if err != nil {
		return err
	}
	req := runeauth.Request{Rune: rune, NodeID: rt.CheckNodeID, Method: rt.CheckMethod, Params: rt.CheckParams}
	if req.Method == "" {
		req.Method = rt.Method
	}
	if req.Params == nil {
		req.Params = params
	}
	return h.auth.Check(r.Context(), req)
}

// listMethods answers GET /v1/list-methods with one block per command of
// lightningd's help, as upstream does; names are HTML-escaped.
func (h *Handler) listMethods(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeJSONError(w, newError(http.StatusMethodNotAllowed, codeMethodNotFound, "Path invalid, http_method must be GET for /v1/list-methods"))
		return
	}
	res, err := h.rpc.Call(r.Context(), "help", json.RawMessage(`{}`))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var help struct {
		Help []struct {
			Command string `json:"command"`
		} `json:"help"`
	}
	if err := json.Unmarshal(res, &help); err != nil {
		h.writeError(w, r, fmt.Errorf("reading help's answer: %w", err))
		return
	}
	const line = "\n" + "---------------------------------------------------------------------------------------------------------------------------------------------------------------------------" + "\n"
	var b strings.Builder
	for _, c := range help.Help {
		b.WriteString("Command: " + html.EscapeString(c.Command) + "\n" + line + "\n")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, b.String())
}
