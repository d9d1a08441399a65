package websocket

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
)

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "no Auth", cfg: Config{}, wantErr: "Config.Auth is nil"},
		{name: "negative QueueSize", cfg: Config{Auth: newFakeAuth(), QueueSize: -1}, wantErr: "QueueSize -1 is negative"},
		{name: "negative QueueBytes", cfg: Config{Auth: newFakeAuth(), QueueBytes: -1}, wantErr: "QueueBytes -1 is negative"},
		{name: "negative Recheck", cfg: Config{Auth: newFakeAuth(), Recheck: -time.Second}, wantErr: "Recheck -1s is negative"},
		{name: "defaults", cfg: Config{Auth: newFakeAuth()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: got %v; want nil", err)
				}
				defer h.Close()
				if h.queueSize != DefaultQueueSize || h.queueBytes != DefaultQueueBytes || h.stall != DefaultStallTimeout {
					t.Errorf("defaults: got %d, %d, %s; want %d, %d, %s", h.queueSize, h.queueBytes, h.stall,
						DefaultQueueSize, DefaultQueueBytes, DefaultStallTimeout)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New: got %v; want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCloseDisconnectsEveryone(t *testing.T) {
	th := startHub(t, Config{})
	a := mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good")})
	b := mustDial(t, th.tls.URL, rawOptions{header: runeHeader("good"), tls: tlsConfig(th.tls)})
	th.waitClients(t, 2, 5*time.Second)

	if err := th.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := th.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	th.Publish(json.RawMessage(`{"late":true}`))
	if n := th.Clients(); n != 0 {
		t.Errorf("Clients after Close: got %d; want 0", n)
	}
	for name, c := range map[string]*rawClient{"plain": a, "tls": b} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if got, err := c.next(ctx); err == nil {
			t.Errorf("%s client after Close: got message %s; want the connection closed", name, got)
		} else if ctx.Err() != nil {
			t.Errorf("%s client after Close: still open after 5s", name)
		}
		cancel()
	}
	th.logs.waitFor(t, time.Second, "Socket.IO client disconnected", "server shutting down")

	resp, err := http.Get(th.plain.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !json.Valid(body) {
		t.Errorf("handshake after Close: got %d %s; want 503 with a JSON body", resp.StatusCode, body)
	}
}

func TestRunEndsWhenClosed(t *testing.T) {
	th := startHub(t, Config{Recheck: time.Hour})
	done := make(chan error, 1)
	go func() { done <- th.Run(context.Background()) }()
	_ = th.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: got %v; want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}

// TestNoCORSHeaders checks that the library leaves CORS to the REST
// server in front: a cross-origin handshake or preflight gets no
// Access-Control-* header from the hub.
func TestNoCORSHeaders(t *testing.T) {
	th := startHub(t, Config{})
	for _, method := range []string{http.MethodGet, http.MethodOptions} {
		t.Run(method, func(t *testing.T) {
			req, _ := http.NewRequest(method, th.plain.URL+"/socket.io/?EIO=4&transport=polling", nil)
			req.Header.Set("Origin", "https://elsewhere.example")
			req.Header.Set("Access-Control-Request-Method", "GET")
			req.Header.Set("Access-Control-Request-Headers", "rune")
			req.Header.Set("Rune", "good")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for k := range resp.Header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("response header %s: %q; want no Access-Control-* headers", k, resp.Header.Values(k))
				}
			}
		})
	}
}

func TestEncodeMessage(t *testing.T) {
	tests := []struct {
		name, params, want string
		wantErr            bool
	}{
		{name: "object", params: `{"invoice_creation":{"label":"a"}}`, want: `2["message",{"invoice_creation":{"label":"a"}}]`},
		{name: "u64 stays an integer", params: `{"msat":18446744073709551615}`, want: `2["message",{"msat":18446744073709551615}]`},
		{name: "big and exact numbers", params: `{"a":123456789012345678901234567890,"b":1.10,"c":-0,"d":1e400}`,
			want: `2["message",{"a":123456789012345678901234567890,"b":1.10,"c":-0,"d":1e400}]`},
		{name: "whitespace compacted", params: "{ \"a\" : [ 1 , 2 ] ,\n \"b\":\"x y\" }", want: `2["message",{"a":[1,2],"b":"x y"}]`},
		{name: "key order kept", params: `{"z":1,"a":2}`, want: `2["message",{"z":1,"a":2}]`},
		{name: "escapes kept", params: `{"s":"\u0000\n\"<>&"}`, want: `2["message",{"s":"\u0000\n\"<>&"}]`},
		{name: "invalid UTF-8 replaced", params: "{\"s\":\"a\xffb\"}", want: "2[\"message\",{\"s\":\"a\uFFFDb\"}]"},
		{name: "not JSON", params: `{"a":`, wantErr: true},
		{name: "empty", params: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeMessage(json.RawMessage(tt.params))
			if tt.wantErr {
				if err == nil {
					t.Errorf("encodeMessage: got %q; want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("encodeMessage: got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestEncodeMessageMatchesLibrary checks encodeMessage against what the
// library's own encoder makes of the same notification emitted as a
// json.RawMessage argument: the same bytes, so clients cannot tell. (The
// library also HTML-escapes <, > and & as \u003c etc., which decodes to
// the same strings, and on invalid JSON silently sends an event with no
// name or data: "2". Hence our own encoder.)
func TestEncodeMessageMatchesLibrary(t *testing.T) {
	for _, params := range []string{u64Params, `{"a":[1,{"b":null}],"c":"\u00e9"}`, `{"x":1.0e-7}`} {
		ours, err := encodeMessage(json.RawMessage(params))
		if err != nil {
			t.Fatal(err)
		}
		bufs := parser.NewEncoder().Encode(&parser.Packet{Type: parser.EVENT, Nsp: "/", Data: []any{"message", json.RawMessage(params)}})
		if len(bufs) != 1 {
			t.Fatalf("library encoder: got %d buffers; want 1 (text, not binary)", len(bufs))
		}
		if lib := bufs[0].String(); lib != ours {
			t.Errorf("encodeMessage(%s): got %q; library %q", params, ours, lib)
		}
	}
}
