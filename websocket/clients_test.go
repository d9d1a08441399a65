package websocket

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Real clients: python-socketio (Debian's python3-socketio, run with
// /usr/bin/python3) and socket.io-client 4 for Node (from e2e/node). A
// test whose client is missing skips, unless CLNREST_REQUIRE_CLIENTS=1.

const debianPython = "/usr/bin/python3"

// requireTool skips (or, with CLNREST_REQUIRE_CLIENTS=1, fails) when
// problem is not empty.
func requireTool(t *testing.T, problem string) {
	t.Helper()
	if problem == "" {
		return
	}
	if os.Getenv("CLNREST_REQUIRE_CLIENTS") == "1" {
		t.Fatalf("%s (CLNREST_REQUIRE_CLIENTS=1)", problem)
	}
	t.Skipf("%s; set CLNREST_REQUIRE_CLIENTS=1 to make this a failure", problem)
}

func pythonProblem() string {
	if _, err := os.Stat(debianPython); err != nil {
		return debianPython + " is missing"
	}
	out, err := exec.Command(debianPython, "-c", "import socketio, engineio, requests, websocket").CombinedOutput()
	if err != nil {
		return "python-socketio is not installed (apt-get install python3-socketio python3-requests python3-websocket): " + strings.TrimSpace(string(out))
	}
	return ""
}

// nodeModules is where e2e/node installs socket.io-client.
func nodeModules() string { return filepath.Join("..", "e2e", "node", "node_modules") }

func nodeProblem() string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is not installed"
	}
	if _, err := os.Stat(filepath.Join(nodeModules(), "socket.io-client")); err != nil {
		return "socket.io-client is not installed (run npm ci in e2e/node)"
	}
	return ""
}

// writeCA writes the TLS test server's certificate as a PEM file.
func writeCA(t *testing.T, th *testHub) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: th.tls.Certificate().Raw})
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clientEvent is one line a client script prints.
type clientEvent struct {
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Message   string          `json:"message"`
	Transport string          `json:"transport"`
}

// runClient starts a client script and returns its events as they come.
func runClient(t *testing.T, cmd *exec.Cmd) <-chan clientEvent {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	events := make(chan clientEvent, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev clientEvent
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.UseNumber()
			if err := dec.Decode(&ev); err != nil {
				t.Errorf("client printed %q: %v", sc.Text(), err)
				continue
			}
			events <- ev
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("client stderr:\n%s", stderr.String())
		}
	})
	return events
}

// nextEvent returns the client's next event, failing after d.
func nextEvent(t *testing.T, events <-chan clientEvent, d time.Duration) clientEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("client exited without the expected output")
		}
		return ev
	case <-time.After(d):
		t.Fatalf("client printed nothing for %s", d)
	}
	return clientEvent{}
}

// expectConnected waits for the client's connect and for the hub to
// count it.
func expectConnected(t *testing.T, th *testHub, events <-chan clientEvent) {
	t.Helper()
	if ev := nextEvent(t, events, 20*time.Second); ev.Event != "connect" {
		t.Fatalf("client's first event: got %+v; want connect", ev)
	}
	th.waitClients(t, 1, 5*time.Second)
}

var published = []string{u64Params, `{"block_added":{"hash":"00000000000000000002","height":800000}}`}

func TestPythonSocketIOClients(t *testing.T) {
	requireTool(t, pythonProblem())
	th := startHub(t, Config{})
	ca := writeCA(t, th)
	tests := []struct {
		name, url, style, rune, transports string
		wantTransport                      string
	}{
		{name: "docs example over TLS", url: th.tls.URL, style: "session", rune: "good", wantTransport: "websocket"},
		{name: "headers, websocket only", url: th.plain.URL, style: "headers", rune: "good", transports: "websocket", wantTransport: "websocket"},
		{name: "auth payload, polling only", url: th.tls.URL, style: "auth", rune: "good", transports: "polling", wantTransport: "polling"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := runClient(t, pythonCmd(t, tt.url, tt.style, tt.rune, ca, tt.transports, len(published)))
			expectConnected(t, th, events)
			// python-socketio runs each event handler on its own thread,
			// so messages that arrive together may be printed out of
			// order: publish one at a time.
			for i, want := range published {
				th.Publish(json.RawMessage(want))
				ev := nextEvent(t, events, 10*time.Second)
				if ev.Event != "message" || string(ev.Data) != want {
					t.Fatalf("event %d: got %s %s; want message %s", i, ev.Event, ev.Data, want)
				}
			}
			if ev := nextEvent(t, events, 10*time.Second); ev.Event != "done" || ev.Transport != tt.wantTransport {
				t.Errorf("last event: got %+v; want done on %s", ev, tt.wantTransport)
			}
			th.waitClients(t, 0, 5*time.Second)
		})
	}
	t.Run("refused", func(t *testing.T) {
		for rune, want := range refusals {
			events := runClient(t, pythonCmd(t, th.tls.URL, "session", rune, ca, "", 1))
			ev := nextEvent(t, events, 20*time.Second)
			if ev.Event != "connect_error" || canonical(t, ev.Data) != canonical(t, []byte(want)) {
				t.Errorf("rune %q: got %s %s; want connect_error %s", rune, ev.Event, ev.Data, want)
			}
		}
	})
}

// refusals maps runes to the connect_error data clients must see.
var refusals = map[string]string{
	"":       `{"message":"Not authorized: Missing rune","data":{"code":1501,"message":"Not authorized: Missing rune"}}`,
	"bad":    `{"message":"Not authorized: Not derived from master","data":{"code":1501,"message":"Not authorized: Not derived from master"}}`,
	"forbid": `{"message":"Not permitted: method is equal to listclnrest-notifications","data":{"code":1502,"message":"Not permitted: method is equal to listclnrest-notifications"}}`,
}

func pythonCmd(t *testing.T, url, style, rune, ca, transports string, count int) *exec.Cmd {
	args := []string{"testdata/python_client.py", "--url", url, "--style", style, "--ca", ca, "--count", strconv.Itoa(count)}
	if rune != "" {
		// "=": a rune is base64url and may begin with "-", which argparse
		// would take for an option.
		args = append(args, "--rune="+rune)
	}
	if transports != "" {
		args = append(args, "--transports", transports)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, debianPython, args...)
	// Debian's python-engineio passes verify=True on every polling
	// request, which overrides http_session.verify; requests then takes
	// the CA from the environment. (Its websocket takes http_session's.)
	cmd.Env = append(os.Environ(), "REQUESTS_CA_BUNDLE="+ca)
	return cmd
}

func TestNodeSocketIOClients(t *testing.T) {
	requireTool(t, nodeProblem())
	th := startHub(t, Config{})
	ca := writeCA(t, th)
	tests := []struct {
		name          string
		cfg           map[string]any
		wantTransport string
	}{
		{name: "docs example over TLS", cfg: map[string]any{"url": th.tls.URL, "rune": "good", "ca": ca, "waitUpgrade": true}, wantTransport: "websocket"},
		{name: "auth payload, websocket only", cfg: map[string]any{"url": th.plain.URL, "auth": "good", "transports": []string{"websocket"}}, wantTransport: "websocket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg["count"] = len(published)
			events := runClient(t, nodeCmd(t, tt.cfg))
			expectConnected(t, th, events)
			for _, p := range published {
				th.Publish(json.RawMessage(p))
			}
			// Messages are emitted a tick after their frames arrive.
			var raws []string
			messages := 0
			ev := nextEvent(t, events, 10*time.Second)
			for ; ev.Event != "done"; ev = nextEvent(t, events, 10*time.Second) {
				switch ev.Event {
				case "raw":
					var frame string
					_ = json.Unmarshal(ev.Data, &frame)
					raws = append(raws, frame)
				case "message":
					messages++
				default:
					t.Fatalf("unexpected event %+v", ev)
				}
			}
			if ev.Transport != tt.wantTransport {
				t.Errorf("transport at the end: got %q; want %q", ev.Transport, tt.wantTransport)
			}
			var want []string
			for _, p := range published {
				want = append(want, `2["message",`+p+`]`)
			}
			if strings.Join(raws, "\n") != strings.Join(want, "\n") || messages != len(want) {
				t.Errorf("frames: got %q and %d message events; want %q and %d", raws, messages, want, len(want))
			}
			th.waitClients(t, 0, 5*time.Second)
		})
	}
	t.Run("refused", func(t *testing.T) {
		for rune, want := range refusals {
			events := runClient(t, nodeCmd(t, map[string]any{"url": th.tls.URL, "rune": rune, "ca": ca}))
			ev := nextEvent(t, events, 20*time.Second)
			var w struct {
				Message string          `json:"message"`
				Data    json.RawMessage `json:"data"`
			}
			_ = json.Unmarshal([]byte(want), &w)
			if ev.Event != "connect_error" || ev.Message != w.Message || string(ev.Data) != string(w.Data) {
				t.Errorf("rune %q: got %s %q %s; want connect_error %q %s", rune, ev.Event, ev.Message, ev.Data, w.Message, w.Data)
			}
		}
	})
}

func nodeCmd(t *testing.T, cfg map[string]any) *exec.Cmd {
	arg, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, "node", "testdata/node_client.js", string(arg))
	abs, err := filepath.Abs(nodeModules())
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "NODE_PATH="+abs)
	return cmd
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// canonical re-encodes a JSON object with sorted keys, numbers kept.
func canonical(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
