package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestManifest(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	var m struct {
		Options []struct {
			Name    string          `json:"name"`
			Type    string          `json:"type"`
			Default json.RawMessage `json:"default"`
			Multi   bool            `json:"multi"`
		} `json:"options"`
		RPCMethods []struct {
			Name  string `json:"name"`
			Usage string `json:"usage"`
		} `json:"rpcmethods"`
		Subscriptions []string `json:"subscriptions"`
		Dynamic       bool     `json:"dynamic"`
		NonNumericIDs bool     `json:"nonnumericids"`
	}
	if err := json.Unmarshal(e.node.Plugin.Manifest(), &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	want := map[string]string{
		"clnrest-port": "int:", "clnrest-certs": "string:", "clnrest-protocol": `string:"https"`,
		"clnrest-host": `string:"127.0.0.1"`, "clnrest-cors-origins": `string:"*"`,
		"clnrest-csp":          `string:"default-src 'self'; font-src 'self'; img-src 'self' data:; frame-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline';"`,
		"clnrest-swagger-root": `string:"/"`, "clnrest-max-body": "int:8388608", "clnrest-ws-recheck": "int:60",
		"clnrest-max-requests": "int:4096",
	}
	got := map[string]string{}
	for _, o := range m.Options {
		got[o.Name] = o.Type + ":" + string(o.Default)
		if o.Multi != (o.Name == "clnrest-cors-origins") {
			t.Errorf("%s: multi %v", o.Name, o.Multi)
		}
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("option %s: got %q; want %q", name, got[name], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d options; want %d: %v", len(got), len(want), got)
	}
	methods := map[string]string{}
	for _, md := range m.RPCMethods {
		methods[md.Name] = md.Usage
	}
	if u, ok := methods["clnrest-register-path"]; !ok || u != "path rpc_method [http_method] [rune_required] [rune_restrictions]" || len(methods) != 2 {
		t.Errorf("rpcmethods: got %+v; want clnrest-register-path (upstream's usage) and clnrest-stats", m.RPCMethods)
	}
	if _, ok := methods["clnrest-stats"]; !ok {
		t.Errorf("rpcmethods: got %+v; want clnrest-stats", m.RPCMethods)
	}
	if len(m.Subscriptions) != 1 || m.Subscriptions[0] != "*" || !m.Dynamic || !m.NonNumericIDs {
		t.Errorf("got subscriptions %v dynamic %v nonnumericids %v", m.Subscriptions, m.Dynamic, m.NonNumericIDs)
	}
}

// TestDisableReasons checks every invalid option's exact reason, and
// that lightningd logs it as it would ("Killing plugin: disabled itself
// at init: <reason>").
func TestDisableReasons(t *testing.T) {
	tests := []struct {
		name string
		opts map[string]any
		want string
	}{
		{"no port", map[string]any{"clnrest-port": nil}, "`clnrest-port` option is not configured"},
		{"port 1000", map[string]any{"clnrest-port": 1000}, "`clnrest-port` 1000, should be a valid available port between 1024 and 65535."},
		{"port 70000", map[string]any{"clnrest-port": 70000}, "`clnrest-port` 70000, should be a valid available port between 1024 and 65535."},
		{"protocol", map[string]any{"clnrest-protocol": "ftp"}, "`clnrest-protocol` can either be http or https."},
		{"host", map[string]any{"clnrest-host": "example.com"}, "`clnrest-host` should be a valid IP."},
		{"swagger root", map[string]any{"clnrest-swagger-root": "docs"}, "`clnrest-swagger-root` must start with `/`"},
		{"max body", map[string]any{"clnrest-max-body": 0}, "`clnrest-max-body` 0, should be a positive number of bytes."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startNode(t, tc.opts)
			reason, disabled := e.node.Plugin.Disabled()
			if !disabled || reason != tc.want {
				t.Fatalf("disabled=%v reason %q; want %q", disabled, reason, tc.want)
			}
			e.waitLog(regexp.QuoteMeta("DEBUG   plugin-clnrest: Killing plugin: disabled itself at init: " + tc.want))
		})
	}
}

func TestPortInUseIsAClearError(t *testing.T) {
	first := start(t, map[string]any{"clnrest-protocol": "http"})
	e := startNode(t, map[string]any{"clnrest-protocol": "http", "clnrest-port": first.port})
	reason, disabled := e.node.Plugin.Disabled()
	if !disabled || !strings.Contains(reason, "address already in use") || !strings.Contains(reason, "listening on 127.0.0.1:") {
		t.Fatalf("got disabled=%v %q; want a disable naming the address in use", disabled, reason)
	}
}

func TestLogsServerLine(t *testing.T) {
	tests := []struct {
		name string
		opts map[string]any
		want string
	}{
		{"https default", map[string]any{}, `^.*INFO    plugin-clnrest: REST server running at https://127\.0\.0\.1:\d+$`},
		{"http", map[string]any{"clnrest-protocol": "HTTP"}, `INFO    plugin-clnrest: REST server running at http://127\.0\.0\.1:\d+$`},
		{"ipv6", map[string]any{"clnrest-protocol": "http", "clnrest-host": "::1"}, `REST server running at http://\[::1\]:\d+$`},
		{"localhost", map[string]any{"clnrest-protocol": "http", "clnrest-host": "localhost"}, `REST server running at http://localhost:\d+$`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, tc.opts)
			e.waitLog(tc.want)
			if r := e.post("/v1/getinfo", ""); r.status != 201 {
				t.Errorf("getinfo: got %d %s; want 201", r.status, r.body)
			}
		})
	}
}

func TestShutdownAndEOF(t *testing.T) {
	tests := []struct {
		name string
		stop func(e *env) (int, error)
	}{
		{"shutdown notification", func(e *env) (int, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return e.node.Plugin.Shutdown(ctx)
		}},
		{"stdin EOF", func(e *env) (int, error) {
			if err := e.node.Plugin.CloseStdin(); err != nil {
				return -1, err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return e.node.Plugin.Wait(ctx)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, map[string]any{"clnrest-protocol": "http"})
			began := time.Now()
			code, err := tc.stop(e)
			if err != nil || code != 0 {
				t.Fatalf("got exit %d, %v; want 0 within 5s", code, err)
			}
			if d := time.Since(began); d > 5*time.Second {
				t.Errorf("exit took %v; want under 5s", d)
			}
			e.stopped = true
			e.node.RPC.Close()
		})
	}
}

func TestRegisterPathDispatch(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	ctx := context.Background()
	res, err := e.node.Plugin.Call(ctx, "clnrest-register-path", json.RawMessage(`["test/path","getinfo","GET",false]`))
	if err != nil || string(res) != "{}" {
		t.Fatalf("register: got %s, %v; want {}", res, err)
	}
	_, err = e.node.Plugin.Call(ctx, "clnrest-register-path", json.RawMessage(`["/","getinfo"]`))
	if err == nil || !strings.Contains(err.Error(), "Path must not be root") || !strings.Contains(err.Error(), "-32700") {
		t.Fatalf("got %v; want error -32700 Path must not be root", err)
	}
}
