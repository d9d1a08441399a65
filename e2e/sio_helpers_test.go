package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	gws "github.com/gorilla/websocket"
)

// sioClient speaks Engine.IO 4 / Socket.IO 5 over one websocket to the
// clnrest under test, so that a test decides when (and whether) it reads:
// hundreds of them are cheap, which the Python and Node clients are not.
type sioClient struct {
	conn *gws.Conn
	// Connect is clnrest's answer to CONNECT: "40{...}" when admitted,
	// "44{...}" (connect_error) when refused.
	Connect string
}

// sioOptions tunes dialSIO.
type sioOptions struct {
	// readBuf sets SO_RCVBUF of the TCP connection; a small one makes a
	// client that stops reading back up into clnrest quickly. 0 = default.
	readBuf int
}

// errSIODisconnected is what next returns when clnrest sent DISCONNECT.
var errSIODisconnected = errors.New("server sent DISCONNECT")

// dialSIO opens a websocket session with the env's unrestricted rune in
// the Rune header and joins namespace "/".
func (e *env) dialSIO(ctx context.Context, o sioOptions) (*sioClient, error) {
	u := strings.Replace(e.base, "http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
	d := gws.Dialer{
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
	if strings.HasPrefix(e.base, "https") {
		d.TLSClientConfig = &tls.Config{RootCAs: e.caPool()}
	}
	conn, resp, err := d.DialContext(ctx, u, http.Header{"Rune": {e.rune}})
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", u, err)
	}
	_ = resp.Body.Close()
	c := &sioClient{conn: conn}
	open, err := c.read(ctx)
	if err != nil || !strings.HasPrefix(open, "0{") {
		conn.Close()
		return nil, fmt.Errorf("reading OPEN packet: got %q, %v", open, err)
	}
	if err := conn.WriteMessage(gws.TextMessage, []byte("40")); err != nil {
		conn.Close()
		return nil, fmt.Errorf("writing CONNECT: %w", err)
	}
	if c.Connect, err = c.read(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("reading CONNECT answer: %w", err)
	}
	return c, nil
}

// mustDialSIO is dialSIO that fails the test, with the client closed at
// cleanup.
func (e *env) mustDialSIO(o sioOptions) *sioClient {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := e.dialSIO(ctx, o)
	if err != nil {
		e.t.Fatalf("Socket.IO client: %v", err)
	}
	e.t.Cleanup(c.Close)
	if !strings.HasPrefix(c.Connect, "40") {
		e.t.Fatalf("Socket.IO CONNECT answer: got %s; want 40{...}", c.Connect)
	}
	return c
}

// read returns the next Engine.IO packet other than a ping, which it
// answers with a pong as every client must.
func (c *sioClient) read(ctx context.Context) (string, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Time{}
	}
	_ = c.conn.SetReadDeadline(dl)
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

// next returns the argument of the next "message" event, as JSON text.
func (c *sioClient) next(ctx context.Context) (string, error) {
	for {
		p, err := c.read(ctx)
		if err != nil {
			return "", err
		}
		switch {
		case p == "41":
			return "", errSIODisconnected
		case strings.HasPrefix(p, `42["message",`) && strings.HasSuffix(p, "]"):
			return p[len(`42["message",`) : len(p)-1], nil
		case strings.HasPrefix(p, "42"):
			return "", fmt.Errorf("unexpected event %q", p)
		}
	}
}

// Close drops the connection without a goodbye.
func (c *sioClient) Close() { _ = c.conn.Close() }

// clnrestStats is the answer of the clnrest-stats rpc method.
type clnrestStats struct {
	Goroutines           int   `json:"goroutines"`
	RESTRequestsInFlight int64 `json:"rest_requests_in_flight"`
	SocketIOClients      int   `json:"socketio_clients"`
	RSSBytes             int64 `json:"rss_bytes"`
	RSSPeakBytes         int64 `json:"rss_peak_bytes"`
	OpenFDs              int   `json:"open_fds"`
	FastPathRequests     int64 `json:"rest_fast_path_requests"`
	ConnectionsHandedOff int64 `json:"rest_connections_handed_off"`
}

// stats calls clnrest-stats the way lightning-cli would.
func (e *env) stats() clnrestStats {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := e.node.Plugin.Call(ctx, "clnrest-stats", nil)
	if err != nil {
		e.t.Fatalf("clnrest-stats: %v", err)
	}
	var s clnrestStats
	if err := json.Unmarshal(raw, &s); err != nil {
		e.t.Fatalf("clnrest-stats answer %s: %v", raw, err)
	}
	return s
}

// procStatus reads VmRSS, VmHWM and Threads of a process, in kB and
// threads, from /proc/<pid>/status.
type procStatus struct {
	RSSkB, HWMkB, Threads int64
}

func readProcStatus(pid int) (procStatus, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return procStatus{}, fmt.Errorf("reading status of %d: %w", pid, err)
	}
	var s procStatus
	for _, line := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			s.RSSkB = n
		case "VmHWM":
			s.HWMkB = n
		case "Threads":
			s.Threads = n
		}
	}
	return s, nil
}

// openFDs counts the file descriptors a process holds: its listener,
// client connections, lightning-rpc connections and pipes.
func openFDs(pid int) (int, error) {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0, fmt.Errorf("listing fds of %d: %w", pid, err)
	}
	return len(ents), nil
}

// baseline is what a settled clnrest holds: goroutines and descriptors.
type baseline struct {
	goroutines int
	fds        int
}

// settle waits until clnrest's goroutines and descriptors are back to at
// most want plus slack (connections closing, idle lightning-rpc
// connections, timers), and returns what it last saw. It fails the test
// when they stay above for d: a leak.
func (e *env) settle(want baseline, slack baseline, d time.Duration) baseline {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for {
		fds, err := openFDs(e.node.Plugin.PID())
		if err != nil {
			e.t.Fatal(err)
		}
		got := baseline{goroutines: e.stats().Goroutines, fds: fds}
		if got.goroutines <= want.goroutines+slack.goroutines && got.fds <= want.fds+slack.fds {
			return got
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("after %s: got %d goroutines, %d fds; want at most %d+%d goroutines, %d+%d fds (a leak)",
				d, got.goroutines, got.fds, want.goroutines, slack.goroutines, want.fds, slack.fds)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// measure reads clnrest's goroutines and descriptors now.
func (e *env) measure() baseline {
	e.t.Helper()
	fds, err := openFDs(e.node.Plugin.PID())
	if err != nil {
		e.t.Fatal(err)
	}
	return baseline{goroutines: e.stats().Goroutines, fds: fds}
}
