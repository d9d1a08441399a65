package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lightningd plays lightningd's side of the pipes in tests.
type lightningd struct {
	t      *testing.T
	p      *Plugin
	stdin  *io.PipeWriter // the plugin's stdin
	msgs   chan map[string]json.RawMessage
	runErr chan error
	logs   []logParams // lines of a log notification not yet returned by nextLog
}

func startPlugin(t *testing.T, cfg Config) *lightningd {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := New(inR, outW, cfg)
	ld := &lightningd{t: t, p: p, stdin: inW, msgs: make(chan map[string]json.RawMessage, 1<<16), runErr: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { ld.runErr <- p.Run(ctx); outW.Close() }()
	go func() {
		defer close(ld.msgs)
		dec := json.NewDecoder(outR)
		for {
			var m map[string]json.RawMessage
			if err := dec.Decode(&m); err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
					t.Errorf("plugin wrote something that is not JSON: %v", err)
				}
				return
			}
			ld.msgs <- m
		}
	}()
	t.Cleanup(func() { cancel(); inW.Close(); outR.Close() })
	return ld
}

func (ld *lightningd) send(format string, args ...any) {
	ld.t.Helper()
	if _, err := fmt.Fprintf(ld.stdin, format, args...); err != nil {
		ld.t.Fatalf("writing to plugin: %v", err)
	}
}

// next returns the next message that is not a log notification.
func (ld *lightningd) next() map[string]json.RawMessage {
	ld.t.Helper()
	for {
		select {
		case m, ok := <-ld.msgs:
			if !ok {
				ld.t.Fatal("plugin closed stdout")
			}
			if string(m["method"]) == `"log"` {
				continue
			}
			return m
		case <-time.After(60 * time.Second):
			ld.t.Fatal("no message from plugin within 60s")
		}
	}
}

// logParams are a log notification's params.
type logParams struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// nextLog returns the next log line. A notification that joins several
// lines gives them one by one, as lightningd splits them.
func (ld *lightningd) nextLog() logParams {
	ld.t.Helper()
	if len(ld.logs) > 0 {
		lp := ld.logs[0]
		ld.logs = ld.logs[1:]
		return lp
	}
	for {
		select {
		case m := <-ld.msgs:
			if string(m["method"]) != `"log"` {
				continue
			}
			var lp logParams
			if err := json.Unmarshal(m["params"], &lp); err != nil {
				ld.t.Fatalf("log params: %v", err)
			}
			for _, line := range strings.Split(lp.Message, "\n") {
				ld.logs = append(ld.logs, logParams{Level: lp.Level, Message: line})
			}
			return ld.nextLog()
		case <-time.After(5 * time.Second):
			ld.t.Fatal("no log within 5s")
		}
	}
}

func (ld *lightningd) waitExit() error {
	ld.t.Helper()
	select {
	case err := <-ld.runErr:
		return err
	case <-time.After(5 * time.Second):
		ld.t.Fatal("Run did not return within 5s")
		return nil
	}
}

func testConfig() Config {
	return Config{
		Options: []Option{
			{Name: "clnrest-port", Type: "int", Description: "port"},
			{Name: "clnrest-cors-origins", Type: "string", Default: json.RawMessage(`"*"`), Description: "origins", Multi: true},
		},
		Methods: []Method{{
			Name: "echo", Usage: "[anything]", Description: "echoes params",
			Handle: func(_ context.Context, params json.RawMessage) (json.RawMessage, error) { return params, nil },
		}, {
			Name: "fail", Usage: "", Description: "fails",
			Handle: func(context.Context, json.RawMessage) (json.RawMessage, error) {
				return nil, &Error{Code: 1234, Message: "it failed"}
			},
		}, {
			Name: "plainfail", Usage: "", Description: "fails with a plain error",
			Handle: func(context.Context, json.RawMessage) (json.RawMessage, error) {
				return nil, errors.New("plain")
			},
		}},
		Subscriptions: []string{"*"},
		Dynamic:       true,
	}
}

func TestManifest(t *testing.T) {
	ld := startPlugin(t, testConfig())
	ld.send(`{"jsonrpc":"2.0","id":"cln:getmanifest#1","method":"getmanifest","params":{"allow-deprecated-apis":false,"unknown":1}}`)
	m := ld.next()
	if got, want := string(m["id"]), `"cln:getmanifest#1"`; got != want {
		t.Errorf("id: got %s; want %s", got, want)
	}
	var res struct {
		Options []struct {
			Name    string          `json:"name"`
			Type    string          `json:"type"`
			Default json.RawMessage `json:"default"`
			Multi   bool            `json:"multi"`
		} `json:"options"`
		RPCMethods    []struct{ Name, Usage, Description string } `json:"rpcmethods"`
		Subscriptions []string                                    `json:"subscriptions"`
		Dynamic       bool                                        `json:"dynamic"`
		NonNumericIDs bool                                        `json:"nonnumericids"`
	}
	if err := json.Unmarshal(m["result"], &res); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if len(res.Options) != 2 || res.Options[0].Name != "clnrest-port" || res.Options[0].Type != "int" || res.Options[0].Default != nil {
		t.Errorf("option 0: got %+v", res.Options)
	}
	if o := res.Options[1]; !o.Multi || string(o.Default) != `"*"` {
		t.Errorf("option 1: got %+v; want multi with default \"*\"", o)
	}
	if len(res.RPCMethods) != 3 || res.RPCMethods[0].Name != "echo" || res.RPCMethods[0].Usage != "[anything]" {
		t.Errorf("rpcmethods: got %+v", res.RPCMethods)
	}
	if len(res.Subscriptions) != 1 || res.Subscriptions[0] != "*" || !res.Dynamic || !res.NonNumericIDs {
		t.Errorf("got subscriptions %v dynamic %v nonnumericids %v", res.Subscriptions, res.Dynamic, res.NonNumericIDs)
	}
}

func TestInit(t *testing.T) {
	tests := []struct {
		name      string
		initErr   error
		wantReply string
	}{
		{"accepted", nil, `{}`},
		{"disabled", &DisableError{Reason: "`clnrest-port` option is not configured"}, `{"disable":"` + "`clnrest-port` option is not configured" + `"}`},
		{"other error disables", errors.New("boom"), `{"disable":"boom"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			var got Init
			cfg.Init = func(_ context.Context, in Init) error { got = in; return tc.initErr }
			ld := startPlugin(t, cfg)
			ld.send(`{"jsonrpc":"2.0","id":7,"method":"init","params":{"options":{"clnrest-port":3010,"clnrest-cors-origins":["*","https://a.example"]},"configuration":{"lightning-dir":"/ld/regtest","rpc-file":"lightning-rpc","startup":true,"network":"regtest","feature_set":{"init":"02"}}}}`)
			m := ld.next()
			if string(m["id"]) != "7" {
				t.Errorf("id: got %s; want 7", m["id"])
			}
			if string(m["result"]) != tc.wantReply {
				t.Errorf("init reply: got %s; want %s", m["result"], tc.wantReply)
			}
			if string(got.Options["clnrest-port"]) != "3010" || string(got.Options["clnrest-cors-origins"]) != `["*","https://a.example"]` {
				t.Errorf("options: got %v", got.Options)
			}
			if got.Configuration.RPCPath() != "/ld/regtest/lightning-rpc" || got.Configuration.Network != "regtest" {
				t.Errorf("configuration: got %+v", got.Configuration)
			}
		})
	}
}

func TestRPCPath(t *testing.T) {
	tests := []struct{ dir, file, want string }{
		{"/ld/bitcoin", "lightning-rpc", "/ld/bitcoin/lightning-rpc"},
		{"/ld/bitcoin", "/run/ln.sock", "/run/ln.sock"},
		{"/ld/bitcoin", "sub/rpc", "/ld/bitcoin/sub/rpc"},
	}
	for _, tc := range tests {
		if got := (Configuration{LightningDir: tc.dir, RPCFile: tc.file}).RPCPath(); got != tc.want {
			t.Errorf("RPCPath(%q, %q): got %q; want %q", tc.dir, tc.file, got, tc.want)
		}
	}
}

func TestMethods(t *testing.T) {
	tests := []struct {
		name, request, wantID, wantResult, wantError string
	}{
		{"named params, string id", `{"jsonrpc":"2.0","id":"cli:echo#1/cln:echo#2","method":"echo","params":{"a":18446744073709551615}}`,
			`"cli:echo#1/cln:echo#2"`, `{"a":18446744073709551615}`, ""},
		{"positional params, numeric id", `{"jsonrpc":"2.0","id":42,"method":"echo","params":["x",-9007199254740993]}`,
			`42`, `["x",-9007199254740993]`, ""},
		{"no params", `{"jsonrpc":"2.0","id":1.5,"method":"echo"}`, `1.5`, `{}`, ""},
		{"rpc error keeps code", `{"jsonrpc":"2.0","id":"x","method":"fail","params":{}}`, `"x"`, "", `{"code":1234,"message":"it failed"}`},
		{"plain error", `{"jsonrpc":"2.0","id":"y","method":"plainfail","params":{}}`, `"y"`, "", `{"code":-32603,"message":"plain"}`},
		{"unknown method", `{"jsonrpc":"2.0","id":"z","method":"nope","params":{}}`, `"z"`, "", `{"code":-32601,"message":"Unknown method \"nope\""}`},
	}
	ld := startPlugin(t, testConfig())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ld.send("%s", tc.request)
			m := ld.next()
			if got := string(m["id"]); got != tc.wantID {
				t.Errorf("id: got %s; want %s", got, tc.wantID)
			}
			if got := string(m["result"]); got != tc.wantResult {
				t.Errorf("result: got %s; want %s", got, tc.wantResult)
			}
			if got := string(m["error"]); got != tc.wantError {
				t.Errorf("error: got %s; want %s", got, tc.wantError)
			}
		})
	}
}

// TestStreamFraming feeds messages with no separators, odd whitespace and
// split writes: the reader must handle any stream of JSON values.
func TestStreamFraming(t *testing.T) {
	ld := startPlugin(t, testConfig())
	stream := `{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}{"jsonrpc":"2.0","id":2,"method":"echo","params":[2]}` +
		"\n\n\t " + `{"jsonrpc":"2.0",` + "\n" + `"id":3,"method":"echo","params":[3]}`
	for i := 0; i < len(stream); i += 7 {
		end := min(i+7, len(stream))
		ld.send("%s", stream[i:end])
	}
	seen := map[string]string{}
	for range 3 {
		m := ld.next()
		seen[string(m["id"])] = string(m["result"])
	}
	for i := 1; i <= 3; i++ {
		if got, want := seen[fmt.Sprint(i)], fmt.Sprintf("[%d]", i); got != want {
			t.Errorf("id %d: got %q; want %q", i, got, want)
		}
	}
}

func TestHugeMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB message")
	}
	ld := startPlugin(t, testConfig())
	big := strings.Repeat("a", 100<<20)
	go func() {
		fmt.Fprintf(ld.stdin, `{"jsonrpc":"2.0","id":"big","method":"echo","params":{"s":"%s"}}`, big)
	}()
	m := ld.next()
	if got, want := len(m["result"]), len(big)+len(`{"s":""}`); got != want {
		t.Errorf("result length: got %d; want %d", got, want)
	}
}

// TestNotificationsNeverBlockReader holds the consumer of notifications
// and checks that lightningd can still send thousands of notifications
// and get method answers meanwhile, and that every notification is then
// delivered in order.
func TestNotificationsNeverBlockReader(t *testing.T) {
	cfg := testConfig()
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	cfg.OnNotification = func(topic string, params json.RawMessage) {
		<-release
		mu.Lock()
		got = append(got, topic+string(params))
		mu.Unlock()
	}
	ld := startPlugin(t, cfg)
	const n = 20000
	for i := range n {
		ld.send(`{"jsonrpc":"2.0","method":"invoice_creation","params":{"invoice_creation":{"n":%d}}}`, i)
	}
	ld.send(`{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":"log notifications are not delivered"}}`)
	ld.send(`{"jsonrpc":"2.0","id":"after","method":"echo","params":{}}`)
	if m := ld.next(); string(m["id"]) != `"after"` {
		t.Fatalf("got %v; want the answer to \"after\" while notifications are held", m)
	}
	close(release)
	ld.send(`{"jsonrpc":"2.0","method":"shutdown","params":{}}`)
	if err := ld.waitExit(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n+1 {
		t.Fatalf("delivered %d notifications; want %d (all, then shutdown)", len(got), n+1)
	}
	for i := range n {
		if want := fmt.Sprintf(`invoice_creation{"invoice_creation":{"n":%d}}`, i); got[i] != want {
			t.Fatalf("notification %d: got %s; want %s", i, got[i], want)
		}
	}
	if got[n] != "shutdown{}" {
		t.Errorf("last: got %s; want shutdown{}", got[n])
	}
}

func TestStop(t *testing.T) {
	tests := []struct {
		name string
		stop func(ld *lightningd)
	}{
		{"shutdown notification", func(ld *lightningd) { ld.send(`{"jsonrpc":"2.0","method":"shutdown","params":{}}`) }},
		{"stdin EOF", func(ld *lightningd) { ld.stdin.Close() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			started := make(chan struct{})
			cfg.Methods = append(cfg.Methods, Method{Name: "slow", Handle: func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
				close(started)
				<-ctx.Done()
				return json.RawMessage(`"cancelled"`), nil
			}})
			ld := startPlugin(t, cfg)
			ld.send(`{"jsonrpc":"2.0","id":"s","method":"slow","params":{}}`)
			<-started
			tc.stop(ld)
			if err := ld.waitExit(); err != nil {
				t.Fatalf("Run: got %v; want nil", err)
			}
			if m := ld.next(); string(m["id"]) != `"s"` || string(m["result"]) != `"cancelled"` {
				t.Errorf("in-flight call: got %v; want it answered before exit", m)
			}
		})
	}
}

func TestMalformedInput(t *testing.T) {
	ld := startPlugin(t, testConfig())
	ld.send(`{"jsonrpc":"2.0","id":1,"method":`)
	ld.send(`]`)
	if err := ld.waitExit(); err == nil {
		t.Fatal("Run: got nil; want a decoding error")
	}
}

func TestConcurrentWritesNeverInterleave(t *testing.T) {
	ld := startPlugin(t, testConfig())
	const writers, each = 16, 200
	// Responses and log lines from many goroutines at once; the reader in
	// startPlugin fails the test if any output is not a JSON value.
	logger := slog.New(ld.p.LogHandler(slog.LevelInfo))
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				logger.Info(strings.Repeat("x", 1000), "writer", w, "i", i)
			}
		})
	}
	for i := range each {
		ld.send(`{"jsonrpc":"2.0","id":%d,"method":"echo","params":{"i":%d}}`, i, i)
	}
	wg.Wait()
	// Every line arrives once, and each writer's lines in the order it
	// logged them, however they were joined into notifications.
	var logs, answers int
	next := make(map[string]int) // writer → the i expected next
	deadline := time.After(10 * time.Second)
	for logs < writers*each || answers < each {
		select {
		case m := <-ld.msgs:
			if string(m["method"]) != `"log"` {
				answers++
				continue
			}
			var lp logParams
			if err := json.Unmarshal(m["params"], &lp); err != nil {
				t.Fatalf("log params: %v", err)
			}
			for _, line := range strings.Split(lp.Message, "\n") {
				var w, i int
				if _, err := fmt.Sscanf(line[1000:], " writer=%d i=%d", &w, &i); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				key := strconv.Itoa(w)
				if i != next[key] {
					t.Fatalf("writer %d: got line %d; want %d", w, i, next[key])
				}
				next[key]++
				logs++
			}
		case <-deadline:
			t.Fatalf("got %d logs and %d answers; want %d and %d", logs, answers, writers*each, each)
		}
	}
}
