package lightningdtest

// The JSON-RPC front of the simulated lightningd, following
// lightningd/jsonrpc.c: requests are parsed in turn from one stream per
// connection, run concurrently, and each answer is written whole as
// {"jsonrpc","id","result"|"error"} followed by "\n\n".

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// JSON-RPC error codes lightningd uses (common/jsonrpc_errors.h).
const (
	codeInvalidRequest = -32600
	codeMethodNotFound = -32601
	codeInvalidParams  = -32602
	codeLightningd     = -1
)

// RPCError is an error object as lightningd sends it. Handlers return it
// to fail with a specific code; any other error becomes code -1.
type RPCError struct {
	Code    int64
	Message string
	Data    json.RawMessage // nil when absent
}

// Error implements error.
func (e *RPCError) Error() string {
	return fmt.Sprintf("lightningd error %d: %s", e.Code, e.Message)
}

// MarshalJSON writes {"code","message"[,"data"]} in lightningd's order.
func (e *RPCError) MarshalJSON() ([]byte, error) {
	msg, err := marshalJSON(e.Message)
	if err != nil {
		return nil, err
	}
	out := fmt.Appendf(nil, `{"code":%d,"message":%s`, e.Code, msg)
	if len(e.Data) > 0 {
		out = append(append(out, `,"data":`...), e.Data...)
	}
	return append(out, '}'), nil
}

var _ error = (*RPCError)(nil)

// Handler serves one command: params is the request's raw "params" (an
// object, an array, or whatever the client sent); the result is written
// verbatim as "result". Return *RPCError for a lightningd error.
type Handler func(ctx context.Context, params json.RawMessage) (json.RawMessage, error)

// StreamHandler serves one command by writing the raw JSON result value
// straight to the connection, for results too big to build in memory. An
// error returned before the first write becomes an ordinary error
// response; after it, the connection is closed, as the answer is broken.
type StreamHandler func(ctx context.Context, params json.RawMessage, w io.Writer) error

// RPCConfig configures NewRPCServer.
type RPCConfig struct {
	// SocketPath is where the unix socket listens (at most 107 bytes).
	SocketPath string
	// MasterSecret is the rune master secret (at most 55 bytes). If nil,
	// 32 random bytes are used; keep it to reproduce runes across servers.
	MasterSecret []byte
	// NodeID is the node's id, 66 hex characters. If empty, DefaultNodeID.
	NodeID string
	// Version is what getinfo reports. If empty, DefaultVersion.
	Version string
	// Notify receives the notifications lightningd would send to plugins,
	// e.g. "invoice_creation" with params {"invoice_creation":{...}}. It is
	// called on the request's goroutine and may be nil.
	Notify func(topic string, params json.RawMessage)
	// ListenBacklog is the socket's listen backlog: connections not yet
	// accepted beyond it are refused, and a non-blocking connect then
	// fails with EAGAIN ("Resource temporarily unavailable"). lightningd
	// uses 128 (listen(fd, 128) in jsonrpc_listen, lightningd/jsonrpc.c);
	// zero means Go's default, the system maximum.
	ListenBacklog int
	// OnStop is called once the answer to "stop" is written. It runs on
	// that request's goroutine: it may call CloseListener, but must not
	// call Close, which waits for that goroutine. May be nil.
	OnStop func()
}

// DefaultNodeID is the node id when RPCConfig.NodeID is empty: the id of
// the node in Core Lightning's documentation examples.
const DefaultNodeID = "033845802d25b4e074ccfd7cd8b339a41dc75bf9978a034800444b51d42b07799a"

// DefaultVersion is the version getinfo reports by default.
const DefaultVersion = "v25.12"

// command is one registered RPC command.
type command struct {
	usage   string
	handler Handler
	stream  StreamHandler
	after   func() // run after the answer is written (stop)
}

// RPCServer is a simulated lightningd JSON-RPC server. Its state (runes,
// invoices, datastore) lives as long as the server, across CloseListener
// and Listen.
type RPCServer struct {
	cfg    RPCConfig
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the server started
	node   *nodeState

	mu       sync.Mutex // protects the fields below
	listener net.Listener
	conns    map[net.Conn]struct{}
	commands map[string]*command
	delays   map[string]time.Duration
	errs     map[string]*RPCError
	calls    map[string]int
	closed   bool
}

// NewRPCServer builds the server with lightningd's built-in commands and
// starts listening on cfg.SocketPath.
func NewRPCServer(cfg RPCConfig) (*RPCServer, error) {
	if len(cfg.SocketPath) == 0 || len(cfg.SocketPath) > 107 {
		return nil, fmt.Errorf("creating rpc server: socket path %q must be 1 to 107 bytes", cfg.SocketPath)
	}
	if cfg.MasterSecret == nil {
		cfg.MasterSecret = make([]byte, 32)
		if _, err := rand.Read(cfg.MasterSecret); err != nil {
			return nil, fmt.Errorf("creating rpc server: reading random secret: %w", err)
		}
	}
	if cfg.NodeID == "" {
		cfg.NodeID = DefaultNodeID
	}
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	node, err := newNodeState(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating rpc server: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &RPCServer{
		cfg: cfg, ctx: ctx, cancel: cancel, node: node,
		conns:    map[net.Conn]struct{}{},
		commands: map[string]*command{},
		delays:   map[string]time.Duration{},
		errs:     map[string]*RPCError{},
		calls:    map[string]int{},
	}
	s.registerBuiltins()
	if err := s.Listen(); err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

// NodeID returns the simulated node's id.
func (s *RPCServer) NodeID() string { return s.cfg.NodeID }

// SocketPath returns the path of the unix socket.
func (s *RPCServer) SocketPath() string { return s.cfg.SocketPath }

// Listen starts accepting on the socket path again after CloseListener,
// as a restarted lightningd would, keeping all state.
func (s *RPCServer) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("listening: server is closed")
	}
	if s.listener != nil {
		return fmt.Errorf("listening on %s: already listening", s.cfg.SocketPath)
	}
	ln, err := listenUnix(s.cfg.SocketPath, s.cfg.ListenBacklog)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.cfg.SocketPath, err)
	}
	s.listener = ln
	s.wg.Add(1)
	go s.acceptLoop(ln)
	return nil
}

// listenUnix listens on a unix socket with the given backlog (zero: Go's
// default). The socket file is removed when the listener is closed.
func listenUnix(path string, backlog int) (net.Listener, error) {
	if backlog <= 0 {
		return net.Listen("unix", path)
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("creating socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close() // FileListener holds its own copy of the descriptor
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		return nil, fmt.Errorf("binding: %w", err)
	}
	if err := syscall.Listen(fd, backlog); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("listen(%d): %w", backlog, err)
	}
	ln, err := net.FileListener(f)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(true)
	}
	return ln, nil
}

// CloseListener stops accepting, removes the socket file and closes every
// open connection, as when lightningd goes away. Commands in flight run
// to completion; their answers are lost.
func (s *RPCServer) CloseListener() error {
	s.mu.Lock()
	ln := s.listener
	s.listener = nil
	conns := s.conns
	s.conns = map[net.Conn]struct{}{}
	s.mu.Unlock()
	var err error
	if ln != nil {
		err = ln.Close()
	}
	for c := range conns {
		c.Close()
	}
	if err != nil {
		return fmt.Errorf("closing listener on %s: %w", s.cfg.SocketPath, err)
	}
	return nil
}

// Close stops listening, closes all connections, cancels running
// handlers' contexts and waits for every goroutine of the server, so a
// handler that ignores its context delays Close.
func (s *RPCServer) Close() error {
	err := s.CloseListener()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return err
}

// Handle adds or replaces command; usage is what help shows after the
// name (lightningd's "[param]" style, e.g. "label [description]").
func (s *RPCServer) Handle(name, usage string, h Handler) {
	s.setCommand(name, &command{usage: usage, handler: h})
}

// HandleStream adds or replaces a command whose result is streamed.
func (s *RPCServer) HandleStream(name, usage string, h StreamHandler) {
	s.setCommand(name, &command{usage: usage, stream: h})
}

func (s *RPCServer) setCommand(name string, c *command) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commands[name] = c
}

// Remove unregisters command; calling it then gives "Unknown command".
func (s *RPCServer) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.commands, name)
}

// SetDelay makes every later call of method wait d before running; zero
// clears it.
func (s *RPCServer) SetDelay(method string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.delays, method)
		return
	}
	s.delays[method] = d
}

// SetError makes every later call of method fail with e instead of
// running; nil clears it. A registered command is still required.
func (s *RPCServer) SetError(method string, e *RPCError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e == nil {
		delete(s.errs, method)
		return
	}
	s.errs[method] = e
}

// Calls reports how many well-formed requests named method arrived,
// whether or not the command exists.
func (s *RPCServer) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// commandNames returns the registered commands with their usage,
// sorted by name as lightningd's strmap iterates them.
func (s *RPCServer) commandNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.commands))
	for name := range s.commands {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// usageOf returns the help line of a command, and whether it exists.
func (s *RPCServer) usageOf(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.commands[name]
	if !ok {
		return "", false
	}
	return name + " " + c.usage, true
}

func (s *RPCServer) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.listener != ln {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// rpcConn is one client connection.
type rpcConn struct {
	c   net.Conn
	wmu sync.Mutex // protects writes to c, so answers never interleave
}

// write sends one complete answer.
func (rc *rpcConn) write(b []byte) {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	// A failed write means the client went away; lightningd drops the
	// answer too.
	_, _ = rc.c.Write(b)
}

// serveConn reads requests until EOF or a parse error, runs each on its
// own goroutine, and closes the connection once all have answered.
func (s *RPCServer) serveConn(c net.Conn) {
	defer s.wg.Done()
	rc := &rpcConn{c: c}
	var inflight sync.WaitGroup
	defer func() {
		inflight.Wait()
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	dec := json.NewDecoder(c)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			// EOF, even inside a request, just ends the connection.
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed) {
				rest, _ := io.ReadAll(io.LimitReader(dec.Buffered(), 1<<10))
				msg := fmt.Sprintf("Failed to parse RPC JSON response '%s'", rest)
				rc.write(errorAnswer([]byte("null"), &RPCError{Code: codeInvalidRequest, Message: msg}))
			}
			return
		}
		req, id, rpcErr := parseRequest(raw)
		if rpcErr != nil {
			rc.write(errorAnswer(id, rpcErr))
			continue
		}
		s.wg.Add(1)
		inflight.Add(1)
		go func() {
			defer s.wg.Done()
			defer inflight.Done()
			s.dispatch(rc, req)
		}()
	}
}

// request is a well-formed JSON-RPC request.
type request struct {
	id     json.RawMessage // raw token, echoed verbatim
	method string          // raw contents of the method string
	params json.RawMessage
}

// parseRequest validates a request the way parse_request in
// lightningd/jsonrpc.c does, with its messages. The returned id is the
// one to answer an error with ("null" before the id is known good).
func parseRequest(raw json.RawMessage) (request, json.RawMessage, *RPCError) {
	null := json.RawMessage("null")
	invalid := func(msg string) *RPCError { return &RPCError{Code: codeInvalidRequest, Message: msg} }
	members, err := jsonObjectMembers(raw)
	if err != nil {
		return request{}, null, invalid("Expected {} for json command")
	}
	get := func(key string) json.RawMessage {
		for _, m := range members {
			if m.key == key {
				return m.value
			}
		}
		return nil
	}
	id := get("id")
	if id == nil {
		return request{}, null, invalid("No id")
	}
	if k := jsonKind(id); k == '{' || k == '[' {
		return request{}, null, invalid("Expected string/primitive for id")
	}
	if v := get("jsonrpc"); jsonKind(v) != '"' || jsonContent(v) != "2.0" {
		return request{}, null, invalid(`jsonrpc: "2.0" must be specified in the request`)
	}
	method, params := get("method"), get("params")
	switch {
	case method == nil:
		return request{}, id, invalid("No method")
	case params == nil:
		return request{}, id, invalid("No params")
	case jsonKind(method) != '"':
		return request{}, id, invalid("Expected string for method")
	}
	return request{id: id, method: jsonContent(method), params: params}, id, nil
}

// lookup counts the call and returns what to do with it.
func (s *RPCServer) lookup(method string) (*command, time.Duration, *RPCError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
	return s.commands[method], s.delays[method], s.errs[method]
}

// dispatch runs one request and writes its answer.
func (s *RPCServer) dispatch(rc *rpcConn, req request) {
	cmd, delay, forced := s.lookup(req.method)
	if cmd == nil {
		rc.write(errorAnswer(req.id, &RPCError{Code: codeMethodNotFound,
			Message: fmt.Sprintf("Unknown command '%s'", req.method)}))
		return
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
	}
	if forced != nil {
		rc.write(errorAnswer(req.id, forced))
		return
	}
	if cmd.stream != nil {
		s.runStream(rc, req, cmd.stream)
		return
	}
	result, err := cmd.handler(s.ctx, req.params)
	if err != nil {
		rc.write(errorAnswer(req.id, asRPCError(err)))
		return
	}
	rc.write(resultAnswer(req.id, result))
	if cmd.after != nil {
		cmd.after()
	}
}

// runStream lets h write the result straight to the connection, holding
// the connection's write lock from the first byte to the closing brace.
func (s *RPCServer) runStream(rc *rpcConn, req request, h StreamHandler) {
	w := &streamWriter{rc: rc, id: req.id}
	err := h(s.ctx, req.params, w)
	if !w.started {
		if err == nil {
			err = &RPCError{Code: codeLightningd, Message: "stream handler wrote no result"}
		}
		rc.write(errorAnswer(req.id, asRPCError(err)))
		return
	}
	defer rc.wmu.Unlock()
	if err != nil || w.err != nil {
		rc.c.Close()
		return
	}
	_, _ = rc.c.Write([]byte("}\n\n"))
}

// streamWriter writes the answer's head before the first result byte.
type streamWriter struct {
	rc      *rpcConn
	id      json.RawMessage
	started bool
	err     error
}

func (w *streamWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if !w.started {
		w.rc.wmu.Lock()
		w.started = true
		head := append(append([]byte(`{"jsonrpc":"2.0","id":`), w.id...), `,"result":`...)
		if _, err := w.rc.c.Write(head); err != nil {
			w.err = err
			return 0, err
		}
	}
	n, err := w.rc.c.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

// asRPCError keeps an *RPCError and turns anything else into code -1.
func asRPCError(err error) *RPCError {
	var re *RPCError
	if errors.As(err, &re) {
		return re
	}
	return &RPCError{Code: codeLightningd, Message: err.Error()}
}

func resultAnswer(id, result json.RawMessage) []byte {
	if len(bytes.TrimSpace(result)) == 0 {
		result = json.RawMessage("{}")
	}
	b := append([]byte(`{"jsonrpc":"2.0","id":`), id...)
	b = append(append(b, `,"result":`...), result...)
	return append(b, "}\n\n"...)
}

func errorAnswer(id json.RawMessage, e *RPCError) []byte {
	obj, err := e.MarshalJSON()
	if err != nil {
		obj = []byte(`{"code":-1,"message":"unencodable error"}`)
	}
	b := append([]byte(`{"jsonrpc":"2.0","id":`), id...)
	b = append(append(b, `,"error":`...), obj...)
	return append(b, "}\n\n"...)
}

// marshalJSON encodes v compactly without HTML escaping, as lightningd
// writes '<', '>' and '&' unescaped.
func marshalJSON(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// jsonKind classifies a raw JSON value like jsmn does: '"' string, '{'
// object, '[' array, 'p' primitive, 0 absent.
func jsonKind(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	switch raw[0] {
	case '"', '{', '[':
		return raw[0]
	}
	return 'p'
}

// jsonContent is the token text lightningd works with: a string's bytes
// between the quotes, still escaped, or any other value's raw text.
func jsonContent(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if jsonKind(raw) == '"' && len(raw) >= 2 {
		return string(raw[1 : len(raw)-1])
	}
	return string(raw)
}

// jsonMember is one member of a raw JSON object.
type jsonMember struct {
	key   string // raw contents of the key string, still escaped
	value json.RawMessage
}

// jsonObjectMembers splits a raw JSON object into its members in order,
// duplicates included, keeping every value's exact bytes.
func jsonObjectMembers(raw json.RawMessage) ([]jsonMember, error) {
	b := bytes.TrimSpace(raw)
	if len(b) < 2 || b[0] != '{' || !json.Valid(b) {
		return nil, errors.New("splitting JSON object: not an object")
	}
	var out []jsonMember
	i := skipSpace(b, 1)
	for b[i] != '}' {
		keyEnd := skipJSONValue(b, i)
		key := string(b[i+1 : keyEnd-1])
		i = skipSpace(b, keyEnd) + 1 // past ':'
		i = skipSpace(b, i)
		end := skipJSONValue(b, i)
		out = append(out, jsonMember{key: key, value: json.RawMessage(b[i:end])})
		i = skipSpace(b, end)
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return out, nil
}

// jsonArrayElements splits a raw JSON array into its elements.
func jsonArrayElements(raw json.RawMessage) ([]json.RawMessage, error) {
	b := bytes.TrimSpace(raw)
	if len(b) < 2 || b[0] != '[' || !json.Valid(b) {
		return nil, errors.New("splitting JSON array: not an array")
	}
	var out []json.RawMessage
	i := skipSpace(b, 1)
	for b[i] != ']' {
		end := skipJSONValue(b, i)
		out = append(out, json.RawMessage(b[i:end]))
		i = skipSpace(b, end)
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return out, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && strings.IndexByte(" \t\r\n", b[i]) >= 0 {
		i++
	}
	return i
}

// skipJSONValue returns the index just past the value starting at b[i].
// b must be valid JSON.
func skipJSONValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i
			}
		case ',', ' ', '\t', '\r', '\n', ':':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}
