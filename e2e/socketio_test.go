package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clnrest/clnrest/lnrpc"
)

// sioProc is a Socket.IO client process printing JSON lines.
type sioProc struct {
	name   string
	cmd    *exec.Cmd
	mu     sync.Mutex // protects events
	events []map[string]any
	lines  chan map[string]any
	done   chan struct{}
	// stderr keeps the end of what the client wrote there (its library's
	// logging, a traceback), for the failure message; exit is its exit
	// status once done is closed.
	stderr *tailBuffer
	exit   error
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

func startSIOProc(t *testing.T, name string, cmd *exec.Cmd) *sioProc {
	t.Helper()
	c := &sioProc{name: name, cmd: cmd, lines: make(chan map[string]any, 64), done: make(chan struct{}),
		stderr: &tailBuffer{max: 8 << 10}}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			c.mu.Lock()
			c.events = append(c.events, ev)
			c.mu.Unlock()
			select {
			case c.lines <- ev:
			default:
			}
		}
		c.exit = cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-c.done })
	return c
}

// waitEvent waits for an event named one of names and returns it.
func (c *sioProc) waitEvent(t *testing.T, d time.Duration, names ...string) map[string]any {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev := <-c.lines:
			for _, n := range names {
				if ev["event"] == n {
					return ev
				}
			}
		case <-c.done:
			t.Fatalf("%s ended (%v) without %v; events %v; stderr:\n%s", c.name, c.exit, names, c.all(), c.stderr)
		case <-deadline:
			t.Fatalf("%s: no %v within %v; events %v; stderr:\n%s", c.name, names, d, c.all(), c.stderr)
		}
	}
}

func (c *sioProc) wait(t *testing.T) []map[string]any {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not finish", c.name)
	}
	return c.all()
}

func (c *sioProc) all() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]any(nil), c.events...)
}

func (c *sioProc) messages() []map[string]any {
	var out []map[string]any
	for _, ev := range c.all() {
		if ev["event"] == "message" {
			out = append(out, ev)
		}
	}
	return out
}

const debianPython = "/usr/bin/python3"

func requirePythonSocketIO(t *testing.T) {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import socketio, requests").Run(); err != nil {
		requireClient(t, "python3-socketio and python3-requests (Debian)")
	}
}

func wsTestdata(name string) string {
	p, _ := filepath.Abs(filepath.Join("..", "websocket", "testdata", name))
	return p
}

// pythonClient runs the python-socketio client in one style: "session"
// (upstream's documented example: a requests.Session with the rune header
// as http_session), "headers" or "auth".
func pythonClient(t *testing.T, e *env, style, rune, transports string, count int, timeout time.Duration) *sioProc {
	t.Helper()
	ca := filepath.Join(e.certsDir(), "ca.pem")
	args := []string{wsTestdata("python_client.py"), "--url", e.base, "--style", style, "--ca", ca,
		"--count", fmt.Sprint(count), "--timeout", fmt.Sprint(timeout.Seconds())}
	if rune != "" {
		// "=": a rune is base64url and may begin with "-", which argparse
		// would take for an option.
		args = append(args, "--rune="+rune)
	}
	if transports != "" {
		args = append(args, "--transports", transports)
	}
	cmd := exec.Command(debianPython, args...)
	// python-engineio ignores http_session.verify when polling.
	cmd.Env = append(os.Environ(), "REQUESTS_CA_BUNDLE="+ca)
	return startSIOProc(t, "python "+style, cmd)
}

func nodeClient(t *testing.T, e *env, cfg map[string]any) *sioProc {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		requireClient(t, "node")
	}
	nodeDir, _ := filepath.Abs(filepath.Join("node"))
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "socket.io-client")); err != nil {
		requireClient(t, "socket.io-client (npm ci in e2e/node)")
	}
	cfg["url"] = e.base
	cfg["ca"] = filepath.Join(e.certsDir(), "ca.pem")
	arg, _ := json.Marshal(cfg)
	cmd := exec.Command(node, wsTestdata("node_client.js"), string(arg))
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(nodeDir, "node_modules"))
	return startSIOProc(t, "node", cmd)
}

func createInvoice(t *testing.T, e *env, label string, msat string) {
	t.Helper()
	cli := lnrpc.New(e.node.RPC.SocketPath(), lnrpc.Config{})
	defer cli.Close()
	// lightning-cli invoice, on lightningd's socket.
	if _, err := cli.Call(context.Background(), "invoice", json.RawMessage(`{"amount_msat":`+msat+`,"label":"`+label+`","description":"d"}`)); err != nil {
		t.Fatalf("invoice: %v", err)
	}
}

// TestSocketIOPython: the documented Python client styles, refused runes,
// and exactly one invoice_creation per authorized client with its msat an
// integer.
func TestSocketIOPython(t *testing.T) {
	requirePythonSocketIO(t)
	e := start(t, nil)
	readonly, err := e.node.RPC.CreateReadonlyRune()
	if err != nil {
		t.Fatal(err)
	}
	forbid, _ := e.node.RPC.CreateRune([]string{"method/listclnrest-notifications"})
	accepted := []*sioProc{
		pythonClient(t, e, "session", e.rune, "", 2, 8*time.Second),
		pythonClient(t, e, "session", readonly, "", 2, 8*time.Second),
		pythonClient(t, e, "headers", e.rune, "websocket", 2, 8*time.Second),
		pythonClient(t, e, "auth", readonly, "", 2, 8*time.Second),
	}
	refused := []struct {
		client *sioProc
		want   string
	}{
		{pythonClient(t, e, "session", "", "", 1, 8*time.Second), "Not authorized: Missing rune"},
		{pythonClient(t, e, "headers", foreignRune(t), "", 1, 8*time.Second), "Not authorized: Not derived from master"},
		{pythonClient(t, e, "auth", forbid, "", 1, 8*time.Second), "Not permitted: method is equal to listclnrest-notifications"},
	}
	for _, c := range accepted {
		c.waitEvent(t, 20*time.Second, "connect")
	}
	createInvoice(t, e, "sio-python", "18446744073709551615")
	for _, c := range accepted {
		events := c.wait(t)
		msgs := c.messages()
		if len(msgs) != 1 {
			t.Errorf("%s: got %d messages; want exactly 1 (events %v); stderr:\n%s", c.name, len(msgs), events, c.stderr)
			continue
		}
		data, _ := json.Marshal(msgs[0]["data"])
		if !strings.Contains(string(data), `"invoice_creation"`) || !strings.Contains(string(data), `"label":"sio-python"`) {
			t.Errorf("%s: got %s; want the invoice_creation", c.name, data)
		}
	}
	for _, r := range refused {
		events := r.client.wait(t)
		got, _ := json.Marshal(events)
		if !strings.Contains(string(got), r.want) {
			t.Errorf("%s: events %s; want connect_error %q; stderr:\n%s", r.client.name, got, r.want, r.client.stderr)
		}
		if len(r.client.messages()) != 0 {
			t.Errorf("%s: a refused client received messages", r.client.name)
		}
	}
}

// TestSocketIONode: socket.io-client like upstream's NodeJS example
// (extraHeaders: {rune}) over https with the generated ca.pem; the u64
// amount arrives as an integer on the wire.
func TestSocketIONode(t *testing.T) {
	e := start(t, nil)
	c := nodeClient(t, e, map[string]any{"rune": e.rune, "count": 1, "waitUpgrade": true, "timeout": 20000})
	c.waitEvent(t, 20*time.Second, "connect")
	time.Sleep(500 * time.Millisecond) // let the upgrade to websocket finish
	createInvoice(t, e, "sio-node", "18446744073709551615")
	events := c.wait(t)
	raw := ""
	for _, ev := range events {
		if ev["event"] == "raw" {
			raw, _ = ev["data"].(string)
		}
	}
	if !strings.Contains(raw, `"msat":18446744073709551615`) || !strings.Contains(raw, `"label":"sio-node"`) {
		t.Errorf("raw frame %q; want invoice_creation with the exact integer (events %v)", raw, events)
	}
	refused := nodeClient(t, e, map[string]any{"count": 1, "timeout": 10000})
	if ev := refused.waitEvent(t, 20*time.Second, "connect_error"); !strings.Contains(fmt.Sprint(ev), "Not authorized: Missing rune") {
		t.Errorf("no-rune client: got %v", ev)
	}
}

// TestSocketIORecheck: a blacklisted rune's socket is disconnected by the
// periodic recheck.
func TestSocketIORecheck(t *testing.T) {
	requirePythonSocketIO(t)
	e := start(t, map[string]any{"clnrest-ws-recheck": 1})
	victim, _ := e.node.RPC.CreateRune([]string{"method=listclnrest-notifications"})
	c := pythonClient(t, e, "headers", victim, "websocket", 5, 30*time.Second)
	c.waitEvent(t, 20*time.Second, "connect")
	cli := lnrpc.New(e.node.RPC.SocketPath(), lnrpc.Config{})
	defer cli.Close()
	var shown struct {
		Runes []struct {
			UniqueID string `json:"unique_id"`
		} `json:"runes"`
	}
	res, err := cli.Call(context.Background(), "showrunes", json.RawMessage(`{"rune":"`+victim+`"}`))
	if err != nil || json.Unmarshal(res, &shown) != nil || len(shown.Runes) != 1 {
		t.Fatalf("showrunes: %s %v", res, err)
	}
	id := shown.Runes[0].UniqueID
	if _, err := cli.Call(context.Background(), "blacklistrune", json.RawMessage(`{"start":`+id+`}`)); err != nil {
		t.Fatalf("blacklistrune: %v", err)
	}
	e.waitLog(`Socket.IO client disconnected .*rune_id=` + id + `\b`)
	createInvoice(t, e, "after-blacklist", "1000")
	time.Sleep(time.Second)
	if n := len(c.messages()); n != 0 {
		t.Errorf("blacklisted client received %d messages", n)
	}
}
