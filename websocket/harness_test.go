package websocket

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"

	"github.com/clnrest/clnrest/runeauth"
)

// fakeAuth stands in for lightningd's checkrune: "good" passes, "bad" and
// "forbid" are refused the way lightningd refuses them, other runes can
// be set per test, and every call is recorded.
type fakeAuth struct {
	mu      sync.Mutex // protects answers and calls
	answers map[string]error
	calls   []runeauth.Request
}

func newFakeAuth() *fakeAuth {
	return &fakeAuth{answers: map[string]error{
		"good":   nil,
		"bad":    &runeauth.Error{Status: 401, Code: 1501, Message: "Not authorized: Not derived from master"},
		"forbid": &runeauth.Error{Status: 401, Code: 1502, Message: "Not permitted: method is equal to listclnrest-notifications"},
	}}
}

func (f *fakeAuth) Check(_ context.Context, r runeauth.Request) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r)
	err, ok := f.answers[r.Rune]
	if !ok {
		return &runeauth.Error{Status: 401, Code: 1501, Message: "Not authorized: Not derived from master"}
	}
	return err
}

func (f *fakeAuth) set(rune string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[rune] = err
}

func (f *fakeAuth) recorded() []runeauth.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]runeauth.Request(nil), f.calls...)
}

// logBuffer collects a hub's log lines.
type logBuffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor waits until the log contains every one of parts on one line.
func (l *logBuffer) waitFor(t *testing.T, d time.Duration, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, line := range strings.Split(l.String(), "\n") {
			if containsAll(line, parts) {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("log has no line with %q after %s; got:\n%s", parts, d, l.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// testHub is a Hub served over plain HTTP and over TLS.
type testHub struct {
	*Hub
	auth  *fakeAuth
	logs  *logBuffer
	plain *httptest.Server
	tls   *httptest.Server
}

func startHub(t testing.TB, cfg Config) *testHub {
	t.Helper()
	th := &testHub{auth: newFakeAuth(), logs: &logBuffer{}}
	if cfg.Auth == nil {
		cfg.Auth = th.auth
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(th.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	th.Hub = h
	th.plain = httptest.NewServer(h)
	th.tls = httptest.NewTLSServer(h)
	t.Cleanup(func() {
		_ = h.Close()
		th.plain.Close()
		th.tls.Close()
	})
	return th
}

// waitClients waits until the hub counts n connected clients.
func (th *testHub) waitClients(t testing.TB, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for th.Clients() != n {
		if time.Now().After(deadline) {
			t.Fatalf("hub has %d clients after %s; want %d", th.Clients(), d, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawOptions configures a rawClient.
type rawOptions struct {
	header  http.Header // sent as is: keys are not canonicalized
	auth    string      // CONNECT auth payload (JSON), "" for none
	tls     *tls.Config // for wss:// URLs
	readBuf int         // SO_RCVBUF for the TCP connection; 0 = default
}

// rawClient speaks Engine.IO 4 / Socket.IO 5 over a websocket, so that a
// test controls exactly when it reads.
type rawClient struct {
	conn *gws.Conn
	// Open is the server's Engine.IO OPEN packet: "0{...}".
	Open string
	// Connect is the server's answer to CONNECT: "40{...}" or "44{...}".
	Connect string
}

// dialRaw opens a websocket session at base (an http:// or https://
// server URL) and sends CONNECT for namespace "/".
func dialRaw(ctx context.Context, base string, o rawOptions) (*rawClient, error) {
	u := strings.Replace(base, "http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
	d := gws.Dialer{
		TLSClientConfig:  o.tls,
		HandshakeTimeout: 10 * time.Second,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil && o.readBuf > 0 {
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetReadBuffer(o.readBuf)
				}
			}
			return c, err
		},
	}
	conn, resp, err := d.DialContext(ctx, u, o.header)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", u, err)
	}
	_ = resp.Body.Close()
	c := &rawClient{conn: conn}
	if c.Open, err = c.read(ctx); err != nil || !strings.HasPrefix(c.Open, "0{") {
		conn.Close()
		return nil, fmt.Errorf("reading OPEN packet: got %q, %v", c.Open, err)
	}
	if err := conn.WriteMessage(gws.TextMessage, []byte("40"+o.auth)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("writing CONNECT: %w", err)
	}
	if c.Connect, err = c.read(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("reading CONNECT answer: %w", err)
	}
	return c, nil
}

// read returns the next Engine.IO packet other than a ping, which it
// answers.
func (c *rawClient) read(ctx context.Context) (string, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetReadDeadline(dl)
	}
	for {
		_, p, err := c.conn.ReadMessage()
		if err != nil {
			return "", err
		}
		if string(p) == "2" {
			if err := c.conn.WriteMessage(gws.TextMessage, []byte("3")); err != nil {
				return "", err
			}
			continue
		}
		return string(p), nil
	}
}

// errDisconnected is returned by next when the server sent DISCONNECT.
var errDisconnected = errors.New("server sent DISCONNECT")

// next returns the payload of the next "message" event, as JSON text.
func (c *rawClient) next(ctx context.Context) (string, error) {
	for {
		p, err := c.read(ctx)
		if err != nil {
			return "", err
		}
		switch {
		case p == "41":
			return "", errDisconnected
		case strings.HasPrefix(p, `42["message",`) && strings.HasSuffix(p, "]"):
			return p[len(`42["message",`) : len(p)-1], nil
		case strings.HasPrefix(p, "42"):
			return "", fmt.Errorf("unexpected event %q", p)
		}
	}
}

// emit sends an event from the client.
func (c *rawClient) emit(event string, data any) error {
	b, err := json.Marshal([]any{event, data})
	if err != nil {
		return err
	}
	return c.conn.WriteMessage(gws.TextMessage, append([]byte("42"), b...))
}

func (c *rawClient) Close() { _ = c.conn.Close() }

// mustDial dials and requires the connection to be accepted.
func mustDial(t testing.TB, base string, o rawOptions) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dialRaw(ctx, base, o)
	if err != nil {
		t.Fatalf("dialRaw: %v", err)
	}
	t.Cleanup(c.Close)
	if !strings.HasPrefix(c.Connect, "40{") {
		t.Fatalf("CONNECT answer: got %q; want 40{...}", c.Connect)
	}
	_ = c.conn.SetReadDeadline(time.Time{})
	return c
}

func runeHeader(rune string) http.Header { return http.Header{"Rune": {rune}} }

// tlsConfig trusts the test server's certificate.
func tlsConfig(srv *httptest.Server) *tls.Config {
	return &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
}

// pollClient speaks Engine.IO 4 over HTTP long-polling.
type pollClient struct {
	http *http.Client
	url  string // base URL of the session, with sid
}

// openPoll starts a polling session and returns it with the OPEN
// packet's sid filled in the URL.
func openPoll(ctx context.Context, srv *httptest.Server, header http.Header) (*pollClient, error) {
	base := srv.URL + "/socket.io/?EIO=4&transport=polling"
	p := &pollClient{http: srv.Client(), url: base}
	packets, err := p.get(ctx, header)
	if err != nil {
		return nil, err
	}
	if len(packets) == 0 || !strings.HasPrefix(packets[0], "0{") {
		return nil, fmt.Errorf("polling handshake: got %q; want an OPEN packet", packets)
	}
	var open struct{ Sid string }
	if err := json.Unmarshal([]byte(packets[0][1:]), &open); err != nil || open.Sid == "" {
		return nil, fmt.Errorf("polling handshake %q: no sid (%v)", packets[0], err)
	}
	p.url = base + "&sid=" + open.Sid
	return p, nil
}

// get polls once and returns the Engine.IO packets received.
func (p *pollClient) get(ctx context.Context, header http.Header) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s %s", p.url, resp.Status, b.String())
	}
	return strings.Split(b.String(), "\x1e"), nil
}

// post sends Engine.IO packets.
func (p *pollClient) post(ctx context.Context, packets ...string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, strings.NewReader(strings.Join(packets, "\x1e")))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s", p.url, resp.Status)
	}
	return nil
}
