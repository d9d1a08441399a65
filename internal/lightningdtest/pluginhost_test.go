package lightningdtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakePluginPath is the fake plugin built once by TestMain from
// testdata/fakeplugin.
var fakePluginPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lightningdtest-fakeplugin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating temp dir:", err)
		os.Exit(1)
	}
	fakePluginPath = filepath.Join(dir, "fakeplugin")
	build := exec.Command("go", "build", "-o", fakePluginPath, "./testdata/fakeplugin")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building fake plugin: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer is a bytes.Buffer safe for the host's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fakeConfig is a config for the fake plugin in a fresh lightning dir.
func fakeConfig(t *testing.T, env ...string) PluginConfig {
	t.Helper()
	return PluginConfig{
		Binary:         fakePluginPath,
		LightningDir:   t.TempDir(),
		Env:            env,
		Log:            &lockedBuffer{},
		StartupTimeout: 20 * time.Second,
	}
}

// startFake starts the plugin and kills it when the test ends.
func startFake(t *testing.T, cfg PluginConfig) *Plugin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := StartPlugin(ctx, cfg)
	if err != nil {
		t.Fatalf("StartPlugin: %v\nlog:\n%s", err, cfg.Log)
	}
	t.Cleanup(func() { p.Kill() })
	return p
}

// fakeState is what the fake plugin reports through fake-state.
type fakeState struct {
	GetManifest   json.RawMessage   `json:"getmanifest"`
	Init          json.RawMessage   `json:"init"`
	IDs           []json.RawMessage `json:"ids"`
	Notifications []json.RawMessage `json:"notifications"`
	Cwd           string            `json:"cwd"`
	Args          []string          `json:"args"`
	Env           map[string]string `json:"env"`
}

func callFakeState(t *testing.T, p *Plugin) fakeState {
	t.Helper()
	raw, err := p.Call(context.Background(), "fake-state", nil)
	if err != nil {
		t.Fatalf("calling fake-state: %v", err)
	}
	var st fakeState
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("decoding fake-state %s: %v", raw, err)
	}
	return st
}

// initParams is init's params as the fake plugin received them.
type initParams struct {
	Options       json.RawMessage            `json:"options"`
	Configuration map[string]json.RawMessage `json:"configuration"`
}

func TestStartPluginSendsOptions(t *testing.T) {
	tests := []struct {
		name    string
		options map[string]any
		want    string
	}{
		{
			name: "unset options get manifest defaults, multi as arrays",
			want: `{"fake-host":"127.0.0.1","fake-origins":["*"],"fake-count":[7],"fake-bool":true}`,
		},
		{
			name: "values typed per option type",
			options: map[string]any{
				"fake-port": 3010, "fake-host": "::1",
				"fake-origins": []string{"https://a.example", "https://b.example"},
				"fake-list":    []string{"x"}, "fake-count": []string{"1", "-2"},
				"fake-flag": true, "fake-bool": "no", "fake-secret": "s3cret",
			},
			want: `{"fake-port":3010,"fake-host":"::1",` +
				`"fake-origins":["https://a.example","https://b.example"],"fake-list":["x"],` +
				`"fake-count":[1,-2],"fake-flag":true,"fake-bool":false,"fake-secret":"s3cret"}`,
		},
		{
			name: "config-file text, unset flag and empty multi",
			options: map[string]any{
				"fake-port": "3010", "fake-bool": "YES", "fake-flag": false,
				"fake-list": []string{}, "fake-host": "<&>",
			},
			want: `{"fake-port":3010,"fake-host":"<&>","fake-origins":["*"],"fake-count":[7],"fake-bool":true}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fakeConfig(t)
			cfg.Options = tt.options
			p := startFake(t, cfg)
			var params initParams
			if err := json.Unmarshal(callFakeState(t, p).Init, &params); err != nil {
				t.Fatalf("decoding init params: %v", err)
			}
			if got := string(params.Options); got != tt.want {
				t.Errorf("init options = %s; want %s", got, tt.want)
			}
			if v := p.StdoutViolations(); len(v) != 0 {
				t.Errorf("StdoutViolations = %q; want none", v)
			}
		})
	}
}

func TestStartPluginConfiguration(t *testing.T) {
	tests := []struct {
		name        string
		network     string
		rpcFile     string
		version     string
		developer   bool
		wantNetwork string
		wantRPCFile string
		wantVersion string
		wantManif   string
		wantArgs    []string
	}{
		{"defaults", "", "", "", false, "regtest", "lightning-rpc", DefaultLightningdVersion,
			`{"allow-deprecated-apis":true}`, nil},
		{"developer testnet", "testnet", "/tmp/x-rpc", "v24.08", true, "testnet", "/tmp/x-rpc", "v24.08",
			`{"allow-deprecated-apis":false}`, []string{"--developer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fakeConfig(t)
			cfg.Network, cfg.RPCFile, cfg.Version, cfg.Developer = tt.network, tt.rpcFile, tt.version, tt.developer
			st := callFakeState(t, startFake(t, cfg))
			netDir := filepath.Join(cfg.LightningDir, tt.wantNetwork)
			checkFakeConfiguration(t, st, netDir, tt.wantNetwork, tt.wantRPCFile)
			if got := string(st.GetManifest); got != tt.wantManif {
				t.Errorf("getmanifest params = %s; want %s", got, tt.wantManif)
			}
			if fmt.Sprint(st.Args) != fmt.Sprint(tt.wantArgs) {
				t.Errorf("args = %q; want %q", st.Args, tt.wantArgs)
			}
			if got := st.Env["LIGHTNINGD_PLUGIN"]; got != "1" {
				t.Errorf("LIGHTNINGD_PLUGIN = %q; want 1", got)
			}
			if got := st.Env["LIGHTNINGD_VERSION"]; got != tt.wantVersion {
				t.Errorf("LIGHTNINGD_VERSION = %q; want %q", got, tt.wantVersion)
			}
			checkFakeIDs(t, st.IDs)
		})
	}
}

func checkFakeConfiguration(t *testing.T, st fakeState, netDir, network, rpcFile string) {
	t.Helper()
	gotCwd, _ := filepath.EvalSymlinks(st.Cwd)
	wantCwd, _ := filepath.EvalSymlinks(netDir)
	if gotCwd != wantCwd {
		t.Errorf("plugin cwd = %q; want %q", st.Cwd, netDir)
	}
	var params initParams
	if err := json.Unmarshal(st.Init, &params); err != nil {
		t.Fatalf("decoding init params %s: %v", st.Init, err)
	}
	conf := params.Configuration
	want := map[string]string{
		"lightning-dir": string(pluginJSONString(netDir)),
		"rpc-file":      string(pluginJSONString(rpcFile)),
		"network":       string(pluginJSONString(network)),
		"startup":       "true",
	}
	for key, w := range want {
		if got := string(conf[key]); got != w {
			t.Errorf("configuration.%s = %s; want %s", key, got, w)
		}
	}
	var features map[string]string
	if err := json.Unmarshal(conf["feature_set"], &features); err != nil || features["init"] == "" {
		t.Errorf("configuration.feature_set = %s; want an object with init bits", conf["feature_set"])
	}
}

func checkFakeIDs(t *testing.T, ids []json.RawMessage) {
	t.Helper()
	wantPrefixes := []string{`"cln:getmanifest#`, `"cln:init#`}
	if len(ids) < len(wantPrefixes) {
		t.Fatalf("request ids = %s; want at least %d", ids, len(wantPrefixes))
	}
	for i, prefix := range wantPrefixes {
		if got := string(ids[i]); !strings.HasPrefix(got, prefix) {
			t.Errorf("request id %d = %s; want a string starting %s", i, got, prefix)
		}
	}
}

func TestStartPluginRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		options map[string]any
		want    string
	}{
		{"unknown option", map[string]any{"nope": "x"}, `option "nope": the plugin has no such option`},
		{"int that is no number", map[string]any{"fake-port": "abc"}, `'abc' is not a number`},
		{"bad bool", map[string]any{"fake-bool": "maybe"}, `Invalid argument 'maybe'`},
		{"list for a single option", map[string]any{"fake-host": []string{"a", "b"}}, `not multi`},
		{"flag with a value", map[string]any{"fake-flag": "yes"}, `a flag is set with true`},
		{"unsupported Go type", map[string]any{"fake-host": 1.5}, `unsupported value type float64`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fakeConfig(t)
			cfg.Options = tt.options
			p, err := StartPlugin(context.Background(), cfg)
			if err == nil {
				p.Kill()
				t.Fatalf("StartPlugin = nil error; want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("StartPlugin error = %v; want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestStartPluginRejectsBadManifest(t *testing.T) {
	const methods = `"rpcmethods":[]`
	tests := []struct {
		name, manifest, want string
	}{
		{"result not an object", `[]`, `Invalid/missing result tok in '{"id":"cln:getmanifest#`},
		{"no options", `{` + methods + `}`, `"result.options" was not found in the manifest`},
		{"no rpcmethods", `{"options":[]}`, `"result.rpcmethods" missing`},
		{"unknown option type", `{"options":[{"name":"x","type":"float","description":"d"}],` + methods + `}`,
			`Only "string", "int", "bool", and "flag" options are supported`},
		{"option without description", `{"options":[{"name":"x","type":"string"}],` + methods + `}`,
			`An option is missing either "name", "description" or "type"`},
		{"uppercase option name", `{"options":[{"name":"X","type":"string","description":"d"}],` + methods + `}`,
			`Option "name" must be lowercase alphanumeric, plus _ or -'`},
		{"duplicate option", `{"options":[{"name":"x","type":"string","description":"d"},` +
			`{"name":"x","type":"int","description":"d"}],` + methods + `}`, `Option "x" already registered`},
		{"bad int default", `{"options":[{"name":"x","type":"int","default":"abc","description":"d"}],` + methods + `}`,
			`Invalid default 'abc': 'abc' is not a number`},
		{"flag default true", `{"options":[{"name":"x","type":"flag","default":true,"description":"d"}],` + methods + `}`,
			`--x type flag default must be 'false' not true`},
		{"multi bool", `{"options":[{"name":"x","type":"bool","multi":true,"description":"d"}],` + methods + `}`,
			`bool type cannot be multi`},
		{"multi not a bool", `{"options":[{"name":"x","type":"string","multi":"yes","description":"d"}],` + methods + `}`,
			`--x: invalid "multi" field "yes"`},
		{"rpcmethod without usage", `{"options":[],"rpcmethods":[{"name":"m"}]}`, `"usage" not provided by plugin`},
		{"numeric ids only", `{"options":[],` + methods + `,"nonnumericids":false}`, `Plugin does not allow nonnumericids`},
		{"subscription not a string", `{"options":[],` + methods + `,"subscriptions":[1]}`,
			`result.subscriptions[0] is not a string: '1'`},
		{"dynamic featurebits", `{"options":[],` + methods + `,"dynamic":true,"featurebits":{"node":"0200"}}`,
			`Custom featurebits only allows for non-dynamic plugins`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fakeConfig(t, "FAKEPLUGIN_MANIFEST="+tt.manifest)
			p, err := StartPlugin(context.Background(), cfg)
			if err == nil {
				p.Kill()
				t.Fatalf("StartPlugin = nil error; want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("StartPlugin error = %v; want it to contain %q", err, tt.want)
			}
			wantLine := "UNUSUAL plugin-fakeplugin: Killing plugin: " + tt.want
			if log := cfg.Log.(*lockedBuffer).String(); !strings.Contains(log, wantLine) {
				t.Errorf("log = %q; want a line containing %q", log, wantLine)
			}
		})
	}
}

// logLineRE matches a whole lightningd log line with the given text after
// the timestamp.
func logLineRE(text string) *regexp.Regexp {
	return regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z ` + regexp.QuoteMeta(text) + `$`)
}

func waitLog(t *testing.T, p *Plugin, re *regexp.Regexp) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	line, err := p.WaitForLog(ctx, re)
	if err != nil {
		t.Fatalf("WaitForLog(%s): %v\nlogs:\n%s", re, err, strings.Join(p.Logs(), "\n"))
	}
	return line
}

func TestPluginDisablesItself(t *testing.T) {
	const reason = "`fake-port` option is not configured"
	tests := []struct {
		name     string
		env      []string
		options  map[string]any
		wantLine string
	}{
		{"at init", nil, map[string]any{"fake-disable": reason},
			"DEBUG   plugin-fakeplugin: Killing plugin: disabled itself at init: " + reason},
		{"at getmanifest", []string{`FAKEPLUGIN_MANIFEST={"disable":"` + reason + `"}`}, nil,
			"INFO    plugin-fakeplugin: Killing plugin: disabled itself: " + reason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fakeConfig(t, tt.env...)
			cfg.Options = tt.options
			p := startFake(t, cfg)
			if got, ok := p.Disabled(); !ok || got != reason {
				t.Errorf("Disabled() = %q, %t; want %q, true", got, ok, reason)
			}
			waitLog(t, p, logLineRE(tt.wantLine))
			code, err := p.Wait(context.Background())
			if err != nil || code != -1 {
				t.Errorf("Wait = %d, %v; want -1 (SIGKILL), nil", code, err)
			}
			for _, l := range p.Logs() {
				if strings.Contains(l, "exited") {
					t.Errorf("log has %q; want no exit line for a killed plugin", l)
				}
			}
			if _, err := p.Call(context.Background(), "fake-echo", nil); !errors.Is(err, ErrPluginNotRunning) {
				t.Errorf("Call after disable = %v; want ErrPluginNotRunning", err)
			}
		})
	}
}

func TestPluginLogNotifications(t *testing.T) {
	tests := []struct {
		name   string
		params string
		want   []string
	}{
		{"debug", `{"level":"debug","message":"hello"}`, []string{"DEBUG   plugin-fakeplugin: hello"}},
		{"info", `{"level":"info","message":"hello"}`, []string{"INFO    plugin-fakeplugin: hello"}},
		{"warn", `{"level":"warn","message":"hello"}`, []string{"UNUSUAL plugin-fakeplugin: hello"}},
		{"error", `{"level":"error","message":"hello"}`, []string{"**BROKEN** plugin-fakeplugin: hello"}},
		{"trace", `{"level":"trace","message":"hello"}`, []string{"TRACE   plugin-fakeplugin: hello"}},
		{"level in capitals", `{"level":"WARN","message":"hello"}`, []string{"UNUSUAL plugin-fakeplugin: hello"}},
		{"no level is info", `{"message":"hello"}`, []string{"INFO    plugin-fakeplugin: hello"}},
		{"newlines split lines", `{"level":"info","message":"one\ntwo"}`,
			[]string{"INFO    plugin-fakeplugin: one", "INFO    plugin-fakeplugin: two"}},
		{"escapes unescaped", `{"level":"info","message":"say \"hi\"\tnow"}`,
			[]string{`INFO    plugin-fakeplugin: say "hi"?now`}},
		{"\\u is not unescaped: the message is logged as it came", `{"level":"info","message":"esc\u001b\nnext"}`,
			[]string{`INFO    plugin-fakeplugin: esc\u001b\nnext`}},
		{"non-ASCII bytes become ?", `{"level":"info","message":"caf` + "\u00e9" + `"}`,
			[]string{"INFO    plugin-fakeplugin: caf??"}},
	}
	p := startFake(t, fakeConfig(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(p.Logs())
			if _, err := p.Call(context.Background(), "fake-log", json.RawMessage(tt.params)); err != nil {
				t.Fatalf("calling fake-log: %v", err)
			}
			got := p.Logs()[before:]
			if len(got) != len(tt.want) {
				t.Fatalf("new log lines = %q; want %q", got, tt.want)
			}
			for i, w := range tt.want {
				if !logLineRE(w).MatchString(got[i]) {
					t.Errorf("log line %d = %q; want <timestamp> %q", i, got[i], w)
				}
			}
		})
	}
}

func TestPluginNotify(t *testing.T) {
	const body = `{"invoice_creation":{"label":"a","msat":18446744073709551615}}`
	tests := []struct {
		name, subscriptions, topic string
		wantErr                    error
	}{
		{"star gets every topic", `["*"]`, "invoice_creation", nil},
		{"star does not get log", `["*"]`, "log", ErrNotSubscribed},
		{"named topic", `["invoice_creation"]`, "invoice_creation", nil},
		{"other topic", `["connect"]`, "invoice_creation", ErrNotSubscribed},
		{"log when named", `["log"]`, "log", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			manifest := `{"options":[],"rpcmethods":[{"name":"fake-state","usage":""}],` +
				`"subscriptions":` + tt.subscriptions + `}`
			p := startFake(t, fakeConfig(t, "FAKEPLUGIN_MANIFEST="+manifest))
			err := p.Notify(tt.topic, json.RawMessage(body))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Notify = %v; want %v", err, tt.wantErr)
			}
			notes := callFakeState(t, p).Notifications
			want := 0
			if tt.wantErr == nil {
				want = 1
			}
			if len(notes) != want {
				t.Fatalf("plugin got notifications %s; want %d", notes, want)
			}
			if want == 1 {
				wantNote := `{"id":null,"method":"` + tt.topic + `","params":` + body + `}`
				if got := string(notes[0]); got != wantNote {
					t.Errorf("plugin got %s; want %s", got, wantNote)
				}
			}
		})
	}
}

func TestPluginCall(t *testing.T) {
	tests := []struct {
		name, method, params string
		want                 string
		wantErr              *PluginError
	}{
		{name: "result passes through", method: "fake-echo",
			params: `{"a":[1,2],"big":18446744073709551615}`, want: `{"a":[1,2],"big":18446744073709551615}`},
		{name: "positional params", method: "fake-echo", params: `["x",1]`, want: `["x",1]`},
		{name: "no params is {}", method: "fake-echo", want: `{}`},
		{name: "plugin error", method: "fake-fail",
			wantErr: &PluginError{Code: 1234, Message: "fake failure", Data: json.RawMessage(`{"x":1}`)}},
		{name: "unknown method", method: "nope",
			wantErr: &PluginError{Code: -32601, Message: "Unknown command 'nope'"}},
	}
	p := startFake(t, fakeConfig(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var params json.RawMessage
			if tt.params != "" {
				params = json.RawMessage(tt.params)
			}
			got, err := p.Call(context.Background(), tt.method, params)
			if tt.wantErr == nil {
				if err != nil || string(got) != tt.want {
					t.Errorf("Call = %s, %v; want %s, nil", got, err, tt.want)
				}
				return
			}
			var perr *PluginError
			if !errors.As(err, &perr) {
				t.Fatalf("Call error = %v; want a *PluginError", err)
			}
			if perr.Code != tt.wantErr.Code || perr.Message != tt.wantErr.Message ||
				string(perr.Data) != string(tt.wantErr.Data) {
				t.Errorf("Call error = %+v; want %+v", perr, tt.wantErr)
			}
		})
	}
}

func TestPluginShutdown(t *testing.T) {
	const exited = "DEBUG   plugin-fakeplugin: Killing plugin: exited during normal operation"
	const notified = `fakeplugin: got shutdown {"shutdown":{}}` + "\n"
	tests := []struct {
		name       string
		env        []string
		timeout    time.Duration
		wantCode   int
		wantErr    error
		wantLine   string
		wantStderr string
	}{
		{"exits 0", nil, 10 * time.Second, 0, nil, exited, notified},
		{"exit code passed on", []string{"FAKEPLUGIN_EXIT_CODE=3"}, 10 * time.Second, 3, nil, exited, notified},
		{"not subscribed: stdin closed", []string{`FAKEPLUGIN_MANIFEST={"options":[],"rpcmethods":[]}`},
			10 * time.Second, 0, nil, "", ""},
		{"ignored: killed when ctx ends", []string{"FAKEPLUGIN_IGNORE_SHUTDOWN=1"}, 300 * time.Millisecond,
			-1, context.DeadlineExceeded, "", notified},
		{"ignored: killed after the grace period", []string{"FAKEPLUGIN_IGNORE_SHUTDOWN=1"}, 10 * time.Second,
			-1, nil, "DEBUG   lightningd: fakeplugin: failed to self-terminate in time, killing.", notified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fakeConfig(t, tt.env...)
			stderr := &lockedBuffer{}
			cfg.Stderr = stderr
			cfg.ShutdownGrace = time.Second
			p := startFake(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			code, err := p.Shutdown(ctx)
			if code != tt.wantCode || !errors.Is(err, tt.wantErr) {
				t.Errorf("Shutdown = %d, %v; want %d, %v", code, err, tt.wantCode, tt.wantErr)
			}
			var exits []string
			for _, l := range p.Logs() {
				if strings.Contains(l, "exited") || strings.Contains(l, "self-terminate") {
					exits = append(exits, l)
				}
			}
			if tt.wantLine == "" && len(exits) != 0 {
				t.Errorf("exit log lines = %q; want none", exits)
			}
			if tt.wantLine != "" && (len(exits) != 1 || !logLineRE(tt.wantLine).MatchString(exits[0])) {
				t.Errorf("exit log lines = %q; want one: %q", exits, tt.wantLine)
			}
			if got := stderr.String(); got != tt.wantStderr {
				t.Errorf("plugin stderr = %q; want %q", got, tt.wantStderr)
			}
		})
	}
}

func TestPluginCloseStdin(t *testing.T) {
	p := startFake(t, fakeConfig(t))
	if err := p.CloseStdin(); err != nil {
		t.Fatalf("CloseStdin: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if code, err := p.Wait(ctx); code != 0 || err != nil {
		t.Errorf("Wait = %d, %v; want 0, nil", code, err)
	}
	waitLog(t, p, logLineRE("INFO    plugin-fakeplugin: Killing plugin: exited during normal operation"))
	if err := p.Notify("connect", nil); !errors.Is(err, ErrPluginNotRunning) {
		t.Errorf("Notify after exit = %v; want ErrPluginNotRunning", err)
	}
}

func TestPluginStdoutViolations(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"text", "this is not json\n", "Failed to parse RPC JSON response 'this is not json"},
		{"object without jsonrpc", `{"hello":1}`, `JSON-RPC message does not contain "jsonrpc" field: '{"hello":1}'`},
		{"bare number", "42\n", `JSON-RPC message does not contain "jsonrpc" field: '42'`},
		{"notification without params", `{"jsonrpc":"2.0","method":"log"}`,
			`Malformed JSON-RPC notification missing "method" or "params": {"jsonrpc":"2.0","method":"log"}`},
		{"unknown log level", `{"jsonrpc":"2.0","method":"log","params":{"level":"loud","message":"x"}}`,
			`Unknown log-level "loud", valid values are "trace", "debug", "info", "warn", or "error".`},
		{"log without message", `{"jsonrpc":"2.0","method":"log","params":{"level":"info"}}`,
			`Log notification from plugin doesn't have a string "message" field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startFake(t, fakeConfig(t))
			params, _ := json.Marshal(map[string]string{"raw": tt.raw})
			_, err := p.Call(context.Background(), "fake-raw", params)
			var perr *PluginError
			if !errors.As(err, &perr) || perr.Code != PluginTerminatedCode {
				t.Errorf("Call = %v; want PluginError %d", err, PluginTerminatedCode)
			}
			got := p.StdoutViolations()
			if len(got) != 1 || !strings.HasPrefix(got[0], tt.want) {
				t.Errorf("StdoutViolations = %q; want one starting %q", got, tt.want)
			}
			waitLog(t, p, regexp.MustCompile(` UNUSUAL plugin-fakeplugin: Killing plugin: `+regexp.QuoteMeta(tt.want)))
		})
	}
}

func TestPluginCustomNotifications(t *testing.T) {
	p := startFake(t, fakeConfig(t))
	for _, topic := range []string{"fake_event", "weird_topic"} {
		raw := `{"jsonrpc":"2.0","method":"` + topic + `","params":{}}`
		params, _ := json.Marshal(map[string]string{"raw": raw})
		if _, err := p.Call(context.Background(), "fake-raw", params); err != nil {
			t.Fatalf("sending %s: %v", topic, err)
		}
	}
	var complaints []string
	for _, l := range p.Logs() {
		if strings.Contains(l, "Plugin attempted to send a notification") {
			complaints = append(complaints, l)
		}
	}
	want := `UNUSUAL plugin-fakeplugin: Plugin attempted to send a notification to topic "weird_topic" ` +
		`it hasn't declared in its manifest, not forwarding to subscribers.`
	if len(complaints) != 1 || !logLineRE(want).MatchString(complaints[0]) {
		t.Errorf("complaints = %q; want one: %q", complaints, want)
	}
	if v := p.StdoutViolations(); len(v) != 0 {
		t.Errorf("StdoutViolations = %q; want none", v)
	}
}

func TestStartPluginTimesOut(t *testing.T) {
	tests := []struct {
		name       string
		timeout    time.Duration
		ctxTimeout time.Duration
		want       string
		wantLine   string
	}{
		{"startup timeout", 300 * time.Millisecond, 20 * time.Second,
			"Killing plugin: timed out before replying to getmanifest",
			"UNUSUAL plugin-fakeplugin: Killing plugin: timed out before replying to getmanifest"},
		{"ctx ends first", 20 * time.Second, 300 * time.Millisecond, context.DeadlineExceeded.Error(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fakeConfig(t, "FAKEPLUGIN_SILENT=1")
			cfg.StartupTimeout = tt.timeout
			ctx, cancel := context.WithTimeout(context.Background(), tt.ctxTimeout)
			defer cancel()
			start := time.Now()
			p, err := StartPlugin(ctx, cfg)
			if err == nil {
				p.Kill()
				t.Fatalf("StartPlugin = nil error; want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("StartPlugin error = %v; want it to contain %q", err, tt.want)
			}
			if elapsed := time.Since(start); elapsed < 300*time.Millisecond || elapsed > 10*time.Second {
				t.Errorf("StartPlugin took %v; want about 300ms", elapsed)
			}
			if log := cfg.Log.(*lockedBuffer).String(); tt.wantLine != "" && !strings.Contains(log, tt.wantLine) {
				t.Errorf("log = %q; want a line containing %q", log, tt.wantLine)
			}
		})
	}
}

func TestStartPluginExitsEarly(t *testing.T) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1) on this machine")
	}
	resolved, _ := filepath.EvalSymlinks(truePath)
	cfg := fakeConfig(t)
	cfg.Binary = truePath
	if _, err := StartPlugin(context.Background(), cfg); err == nil {
		t.Fatal("StartPlugin(true) = nil error; want plugin exited")
	}
	want := "INFO    plugin-" + filepath.Base(resolved) + ": Killing plugin: exited before replying to getmanifest"
	if log := cfg.Log.(*lockedBuffer).String(); !strings.Contains(log, want) {
		t.Errorf("log = %q; want a line containing %q", log, want)
	}
}

func TestPluginStderr(t *testing.T) {
	tests := []struct {
		name      string
		useWriter bool
	}{
		{"to Stderr writer", true},
		{"to Log when Stderr is nil", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fakeConfig(t)
			stderr := &lockedBuffer{}
			if tt.useWriter {
				cfg.Stderr = stderr
			}
			p := startFake(t, cfg)
			if _, err := p.Call(context.Background(), "fake-stderr", json.RawMessage(`{"text":"oops\n"}`)); err != nil {
				t.Fatalf("calling fake-stderr: %v", err)
			}
			p.Kill()
			sink := cfg.Log.(*lockedBuffer).String()
			if tt.useWriter {
				sink = stderr.String()
			}
			if !strings.Contains(sink, "oops\n") {
				t.Errorf("stderr sink = %q; want it to contain %q", sink, "oops\n")
			}
			for _, l := range p.Logs() {
				if strings.Contains(l, "oops") {
					t.Errorf("Logs has %q; want stderr kept out of lightningd's log", l)
				}
			}
		})
	}
}

func TestWaitForLog(t *testing.T) {
	p := startFake(t, fakeConfig(t))
	started := regexp.MustCompile(`DEBUG   plugin-manager: started\(\d+\) ` + regexp.QuoteMeta(p.path) + `$`)
	if _, err := p.WaitForLog(context.Background(), started); err != nil {
		t.Errorf("WaitForLog(already logged line) = %v; want it found", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	never := regexp.MustCompile(`never logged`)
	if _, err := p.WaitForLog(ctx, never); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForLog(never, short ctx) = %v; want deadline exceeded", err)
	}
	p.Kill()
	if _, err := p.WaitForLog(context.Background(), never); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("WaitForLog(never) after exit = %v; want a plugin exited error", err)
	}
}

func TestPluginLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	cfg := fakeConfig(t)
	p := startFake(t, cfg)
	if _, err := p.Call(context.Background(), "fake-echo", nil); err != nil {
		t.Fatalf("calling fake-echo: %v", err)
	}
	if _, err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > before {
		t.Errorf("goroutines after Shutdown = %d; want at most %d as before start", got, before)
	}
}

func TestKeepLogs(t *testing.T) {
	cfg := fakeConfig(t)
	cfg.KeepLogs = 5
	p := startFake(t, cfg)
	for i := range 30 {
		params := fmt.Sprintf(`{"level":"info","message":"line %d"}`, i)
		if _, err := p.Call(context.Background(), "fake-log", json.RawMessage(params)); err != nil {
			t.Fatalf("calling fake-log: %v", err)
		}
	}
	logs := p.Logs()
	if len(logs) < 5 || len(logs) >= 10 || !strings.HasSuffix(logs[len(logs)-1], "line 29") {
		t.Fatalf("Logs() = %q; want between 5 and 9 lines, the last one line 29", logs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.WaitForLog(ctx, regexp.MustCompile(`line 28$`)); err != nil {
		t.Errorf("WaitForLog(a line kept): %v", err)
	}
	found := make(chan error, 1)
	go func() {
		_, err := p.WaitForLog(ctx, regexp.MustCompile(`line 30$`))
		found <- err
	}()
	time.Sleep(10 * time.Millisecond) // let it look at what is kept first
	for i := 30; i < 40; i++ {        // past 2×KeepLogs: the lines it looked at are dropped
		params := fmt.Sprintf(`{"level":"info","message":"line %d"}`, i)
		if _, err := p.Call(context.Background(), "fake-log", json.RawMessage(params)); err != nil {
			t.Fatalf("calling fake-log: %v", err)
		}
	}
	if err := <-found; err != nil {
		t.Errorf("WaitForLog(a line logged later, after a drop): %v", err)
	}
}
