package lightningdtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestServer starts a server on a short temporary socket path.
func newTestServer(t *testing.T, cfg RPCConfig) *RPCServer {
	t.Helper()
	if cfg.SocketPath == "" {
		cfg.SocketPath = tempSocketPath(t)
	}
	s, err := NewRPCServer(cfg)
	if err != nil {
		t.Fatalf("NewRPCServer: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// tempSocketPath is a socket path well under the 108-byte limit.
func tempSocketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ld")
	if err != nil {
		t.Fatalf("MkdirTemp: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "lightning-rpc")
}

// testClient speaks raw JSON-RPC over one connection.
type testClient struct {
	t   *testing.T
	c   net.Conn
	dec *json.Decoder
}

type answer struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int64           `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

func dial(t *testing.T, s *RPCServer) *testClient {
	t.Helper()
	c, err := net.Dial("unix", s.SocketPath())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &testClient{t: t, c: c, dec: json.NewDecoder(c)}
}

func (tc *testClient) send(raw string) {
	tc.t.Helper()
	if _, err := tc.c.Write([]byte(raw)); err != nil {
		tc.t.Fatalf("write: %v", err)
	}
}

func (tc *testClient) recv() answer {
	tc.t.Helper()
	tc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var a answer
	if err := tc.dec.Decode(&a); err != nil {
		tc.t.Fatalf("reading answer: %v", err)
	}
	return a
}

// call sends one request with id 1 and returns its answer.
func (tc *testClient) call(method, params string) answer {
	tc.t.Helper()
	tc.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":%q,"params":%s}`, method, params))
	return tc.recv()
}

func TestAnswerBytes(t *testing.T) {
	s := newTestServer(t, RPCConfig{})
	s.Handle("echo", "[x]", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) { return p, nil })
	s.Handle("fail", "", func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, &RPCError{Code: 205, Message: "no <route> & \"x\"", Data: json.RawMessage(`{"k":1}`)}
	})
	tests := []struct{ name, req, want string }{
		{"result", `{"jsonrpc":"2.0","id":7,"method":"echo","params":{"a":[1,2]}}`,
			`{"jsonrpc":"2.0","id":7,"result":{"a":[1,2]}}` + "\n\n"},
		{"error with data", `{"jsonrpc":"2.0","id":"x","method":"fail","params":[]}`,
			`{"jsonrpc":"2.0","id":"x","error":{"code":205,"message":"no <route> & \"x\"","data":{"k":1}}}` + "\n\n"},
		{"unknown command", `{"jsonrpc":"2.0","id":3,"method":"nosuch","params":{}}`,
			`{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Unknown command 'nosuch'"}}` + "\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("unix", s.SocketPath())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte(tt.req)); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(tt.want))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("reading %d bytes: %v (got %q)", len(tt.want), err, got)
			}
			if string(got) != tt.want {
				t.Errorf("got %s; want %s", got, tt.want)
			}
		})
	}
}

func TestIDsEchoedVerbatim(t *testing.T) {
	s := newTestServer(t, RPCConfig{})
	tc := dial(t, s)
	ids := []string{`1`, `-5`, `18446744073709551615`, `"abc"`, `"clnrest:getinfo#12"`, `"quote\"d"`, `1.50`}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			tc.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"getinfo","params":{}}`)
			a := tc.recv()
			if string(a.ID) != id {
				t.Errorf("got id %s; want %s", a.ID, id)
			}
			if a.Error != nil {
				t.Errorf("got error %+v; want result", a.Error)
			}
		})
	}
}

func TestMalformedRequests(t *testing.T) {
	s := newTestServer(t, RPCConfig{})
	tests := []struct {
		name, req string
		wantID    string
		wantCode  int64
		wantMsg   string
	}{
		{"not an object", `[1,2]`, "null", -32600, "Expected {} for json command"},
		{"no id", `{"jsonrpc":"2.0","method":"getinfo","params":{}}`, "null", -32600, "No id"},
		{"object id", `{"jsonrpc":"2.0","id":{},"method":"getinfo","params":{}}`, "null", -32600, "Expected string/primitive for id"},
		{"no jsonrpc", `{"id":1,"method":"getinfo","params":{}}`, "null", -32600, `jsonrpc: "2.0" must be specified in the request`},
		{"wrong jsonrpc", `{"jsonrpc":"1.0","id":1,"method":"getinfo","params":{}}`, "null", -32600, `jsonrpc: "2.0" must be specified in the request`},
		{"no method", `{"jsonrpc":"2.0","id":2,"params":{}}`, "2", -32600, "No method"},
		{"no params", `{"jsonrpc":"2.0","id":3,"method":"getinfo"}`, "3", -32600, "No params"},
		{"method not string", `{"jsonrpc":"2.0","id":4,"method":5,"params":{}}`, "4", -32600, "Expected string for method"},
		{"unknown", `{"jsonrpc":"2.0","id":"u","method":"frobnicate","params":{}}`, `"u"`, -32601, "Unknown command 'frobnicate'"},
		{"params null", `{"jsonrpc":"2.0","id":6,"method":"getinfo","params":null}`, "6", -32602, "Expected array or object for params"},
	}
	tc := dial(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc.send(tt.req)
			a := tc.recv()
			if a.Error == nil {
				t.Fatalf("got result %s; want error", a.Result)
			}
			if string(a.ID) != tt.wantID || a.Error.Code != tt.wantCode || a.Error.Message != tt.wantMsg {
				t.Errorf("got id %s, %d %q; want id %s, %d %q", a.ID, a.Error.Code, a.Error.Message, tt.wantID, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestUnparseableRequestClosesConnection(t *testing.T) {
	s := newTestServer(t, RPCConfig{})
	tc := dial(t, s)
	tc.send(`{"jsonrpc":"2.0",,}`)
	a := tc.recv()
	if a.Error == nil || a.Error.Code != -32600 || !strings.HasPrefix(a.Error.Message, "Failed to parse RPC JSON response") {
		t.Errorf("got %+v; want -32600 Failed to parse ...", a.Error)
	}
	var more answer
	if err := tc.dec.Decode(&more); err == nil {
		t.Errorf("got another answer %+v; want the connection closed", more)
	}
}

func TestConcurrentCallsOnOneConnection(t *testing.T) {
	s := newTestServer(t, RPCConfig{})
	s.Handle("sleep", "ms", func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		var ms []int
		if err := json.Unmarshal(p, &ms); err != nil || len(ms) != 1 {
			return nil, &RPCError{Code: -32602, Message: "want [ms]"}
		}
		select {
		case <-time.After(time.Duration(ms[0]) * time.Millisecond):
		case <-ctx.Done():
		}
		return json.RawMessage(fmt.Sprintf(`{"slept":%d}`, ms[0])), nil
	})
	tc := dial(t, s)
	// Sent in one write: the slow call must not hold up the fast ones.
	tc.send(`{"jsonrpc":"2.0","id":"slow","method":"sleep","params":[400]}` +
		`{"jsonrpc":"2.0","id":"fast","method":"sleep","params":[0]}` + "\n" +
		`{"jsonrpc":"2.0","id":"mid","method":"sleep","params":[150]}`)
	var order []string
	for range 3 {
		a := tc.recv()
		order = append(order, string(a.ID))
	}
	if got, want := strings.Join(order, ","), `"fast","mid","slow"`; got != want {
		t.Errorf("got order %s; want %s", got, want)
	}
}

func TestManyParallelCallsAllAnswered(t *testing.T) {
	s := newTestServer(t, RPCConfig{})
	tc := dial(t, s)
	const n = 50
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, `{"jsonrpc":"2.0","id":%d,"method":"getinfo","params":[]}`, i)
	}
	tc.send(sb.String())
	seen := map[string]bool{}
	for range n {
		a := tc.recv()
		if a.Error != nil {
			t.Fatalf("got error %+v", a.Error)
		}
		seen[string(a.ID)] = true
	}
	if len(seen) != n {
		t.Errorf("got %d distinct ids; want %d", len(seen), n)
	}
	if got := s.Calls("getinfo"); got != n {
		t.Errorf("Calls(getinfo): got %d; want %d", got, n)
	}
}

func TestSetDelayAndSetError(t *testing.T) {
	s := newTestServer(t, RPCConfig{})
	tc := dial(t, s)
	forced := &RPCError{Code: -4, Message: "Plugin terminated before replying to RPC call."}
	tests := []struct {
		name     string
		delay    time.Duration
		err      *RPCError
		wantCode int64
		minTime  time.Duration
	}{
		{"plain", 0, nil, 0, 0},
		{"delayed", 200 * time.Millisecond, nil, 0, 200 * time.Millisecond},
		{"forced error", 0, forced, -4, 0},
		{"delayed error", 100 * time.Millisecond, forced, -4, 100 * time.Millisecond},
		{"cleared again", 0, nil, 0, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.SetDelay("getinfo", tt.delay)
			s.SetError("getinfo", tt.err)
			start := time.Now()
			a := tc.call("getinfo", "{}")
			elapsed := time.Since(start)
			gotCode := int64(0)
			if a.Error != nil {
				gotCode = a.Error.Code
			}
			if gotCode != tt.wantCode {
				t.Errorf("got code %d; want %d", gotCode, tt.wantCode)
			}
			if elapsed < tt.minTime {
				t.Errorf("got answer after %v; want at least %v", elapsed, tt.minTime)
			}
			if got := s.Calls("getinfo"); got != i+1 {
				t.Errorf("Calls: got %d; want %d", got, i+1)
			}
		})
	}
}

func TestHandleAndRemove(t *testing.T) {
	s := newTestServer(t, RPCConfig{})
	tc := dial(t, s)
	s.Handle("clnrest-register-path", "path rpc_method [http_method] [rune_required] [rune_restrictions]",
		func(_ context.Context, p json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{}`), nil })
	steps := []struct {
		name     string
		do       func()
		wantHelp bool
		wantCode int64
	}{
		{"added", func() {}, true, 0},
		{"removed", func() { s.Remove("clnrest-register-path") }, false, -32601},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			a := tc.call("clnrest-register-path", `["a","getinfo"]`)
			code := int64(0)
			if a.Error != nil {
				code = a.Error.Code
			}
			if code != st.wantCode {
				t.Errorf("call: got code %d; want %d", code, st.wantCode)
			}
			h := tc.call("help", `{}`)
			got := strings.Contains(string(h.Result), `"clnrest-register-path path rpc_method [http_method] [rune_required] [rune_restrictions]"`)
			if got != st.wantHelp {
				t.Errorf("in help: got %v; want %v (help %s)", got, st.wantHelp, h.Result)
			}
		})
	}
}

// TestHandleStream50MB streams a large listinvoices-style result.
func TestHandleStream50MB(t *testing.T) {
	s := newTestServer(t, RPCConfig{})
	const entries = 50 * 1024
	entry := `{"label":"` + strings.Repeat("x", 1000) + `","status":"unpaid"}` // 1024 bytes with the comma
	s.HandleStream("biglist", "", func(_ context.Context, _ json.RawMessage, w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		bw.WriteString(`{"invoices":[`)
		for i := range entries {
			if i > 0 {
				bw.WriteString(",")
			}
			bw.WriteString(entry)
		}
		bw.WriteString(`]}`)
		return bw.Flush()
	})
	tc := dial(t, s)
	// "after" may be answered before or after the stream, never inside it.
	tc.send(`{"jsonrpc":"2.0","id":"big","method":"biglist","params":{}}{"jsonrpc":"2.0","id":"after","method":"getinfo","params":{}}`)
	tc.c.SetReadDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReaderSize(tc.c, 1<<20)
	sizes := map[string]int{}
	for range 2 {
		head, n := readAnswerLine(t, r)
		switch {
		case bytes.HasPrefix(head, []byte(`{"jsonrpc":"2.0","id":"big","result":{"invoices":[`)):
			sizes["big"] = n
		case bytes.HasPrefix(head, []byte(`{"jsonrpc":"2.0","id":"after","result":{"id":`)):
			sizes["after"] = n
		default:
			t.Fatalf("got answer starting %q", head)
		}
	}
	wantLen := len(`{"jsonrpc":"2.0","id":"big","result":`) + len(`{"invoices":[`) + entries*len(entry) + entries - 1 + len(`]}`) + len("}\n\n")
	if sizes["big"] != wantLen {
		t.Errorf("got %d bytes of streamed answer; want %d", sizes["big"], wantLen)
	}
	if sizes["after"] == 0 {
		t.Errorf("got no answer to the call after the stream")
	}
}

// readAnswerLine reads one answer (which has no raw newline inside)
// and its "\n\n" ending, returning its first bytes and its length.
func readAnswerLine(t *testing.T, r *bufio.Reader) ([]byte, int) {
	t.Helper()
	var head []byte
	n := 0
	for {
		line, err := r.ReadSlice('\n')
		if len(head) < 64 {
			head = append(head, line[:min(len(line), 64)]...)
		}
		n += len(line)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			t.Fatalf("reading answer: %v", err)
		}
	}
	if nl, err := r.ReadByte(); err != nil || nl != '\n' {
		t.Fatalf("got %q, %v after an answer; want the second newline", nl, err)
	}
	return head, n + 1
}

func TestHandleStreamErrors(t *testing.T) {
	s := newTestServer(t, RPCConfig{})
	s.HandleStream("failearly", "", func(context.Context, json.RawMessage, io.Writer) error {
		return &RPCError{Code: 905, Message: "Unknown invoice"}
	})
	s.HandleStream("faillate", "", func(_ context.Context, _ json.RawMessage, w io.Writer) error {
		io.WriteString(w, `{"invoices":[`)
		return errors.New("disk on fire")
	})
	t.Run("before first write", func(t *testing.T) {
		a := dial(t, s).call("failearly", "{}")
		if a.Error == nil || a.Error.Code != 905 || a.Error.Message != "Unknown invoice" {
			t.Errorf("got %+v; want 905 Unknown invoice", a.Error)
		}
	})
	t.Run("after first write", func(t *testing.T) {
		tc := dial(t, s)
		tc.send(`{"jsonrpc":"2.0","id":1,"method":"faillate","params":{}}`)
		tc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(tc.c)
		if err != nil {
			t.Fatalf("ReadAll: %v", err)
		}
		if want := `{"jsonrpc":"2.0","id":1,"result":{"invoices":[`; string(got) != want {
			t.Errorf("got %q then close; want %q then close", got, want)
		}
	})
}

func TestCloseListenerAndListenKeepState(t *testing.T) {
	s := newTestServer(t, RPCConfig{})
	rune1, err := s.CreateRune([]string{"method=getinfo"})
	if err != nil {
		t.Fatal(err)
	}
	tc := dial(t, s)
	if err := s.CloseListener(); err != nil {
		t.Fatalf("CloseListener: %v", err)
	}
	tc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := tc.c.Read(make([]byte, 1)); err == nil {
		t.Errorf("read on old connection: got data; want EOF")
	}
	if _, err := net.Dial("unix", s.SocketPath()); err == nil {
		t.Errorf("dial while closed: got connection; want error")
	}
	if err := s.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	a := dial(t, s).call("checkrune", fmt.Sprintf(`{"rune":%q,"method":"getinfo"}`, rune1))
	if string(a.Result) != `{"valid":true}` {
		t.Errorf("checkrune after relisten: got %s %+v; want valid", a.Result, a.Error)
	}
}

func TestNewServerSameSecretAcceptsOldRunes(t *testing.T) {
	path := tempSocketPath(t)
	secret := bytes.Repeat([]byte{7}, 32)
	first, err := NewRPCServer(RPCConfig{SocketPath: path, MasterSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	r, err := first.CreateRune()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	tests := []struct {
		name   string
		secret []byte
		want   string
	}{
		{"same secret", secret, `{"valid":true}`},
		{"other secret", bytes.Repeat([]byte{8}, 32), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, RPCConfig{SocketPath: path, MasterSecret: tt.secret})
			a := dial(t, s).call("checkrune", fmt.Sprintf(`[%q]`, r))
			if string(a.Result) != tt.want {
				t.Errorf("got %s %+v; want %q", a.Result, a.Error, tt.want)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestStopCallsOnStopAfterAnswer(t *testing.T) {
	var mu sync.Mutex
	stopped := 0
	s := newTestServer(t, RPCConfig{OnStop: func() { mu.Lock(); stopped++; mu.Unlock() }})
	a := dial(t, s).call("stop", "{}")
	if string(a.Result) != `{"result":"Shutdown complete"}` {
		t.Errorf("got %s; want {\"result\":\"Shutdown complete\"}", a.Result)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		n := stopped
		mu.Unlock()
		if n == 1 || time.Now().After(deadline) {
			if n != 1 {
				t.Errorf("OnStop calls: got %d; want 1", n)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewRPCServerRejectsLongPath(t *testing.T) {
	_, err := NewRPCServer(RPCConfig{SocketPath: "/tmp/" + strings.Repeat("x", 110)})
	if err == nil {
		t.Errorf("got nil error; want path length error")
	}
}

// TestListenBacklog: with or without an explicit backlog the server
// answers, removes its socket file when the listener closes, and listens
// again.
func TestListenBacklog(t *testing.T) {
	for _, backlog := range []int{0, 128} {
		t.Run(fmt.Sprint(backlog), func(t *testing.T) {
			s := newTestServer(t, RPCConfig{ListenBacklog: backlog})
			if a := dial(t, s).call("getinfo", "{}"); a.Error != nil {
				t.Fatalf("getinfo: got error %+v; want a result", a.Error)
			}
			if err := s.CloseListener(); err != nil {
				t.Fatalf("CloseListener: %v", err)
			}
			if _, err := os.Stat(s.SocketPath()); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("socket file after CloseListener: got %v; want it removed", err)
			}
			if err := s.Listen(); err != nil {
				t.Fatalf("Listen again: %v", err)
			}
			if a := dial(t, s).call("getinfo", "{}"); a.Error != nil {
				t.Fatalf("getinfo after Listen: got error %+v; want a result", a.Error)
			}
		})
	}
}
