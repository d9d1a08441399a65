package websocket

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clnrest/clnrest/runeauth"
)

// testRune is shaped like lightningd's runes, with unique id 42.
var testRune = base64.URLEncoding.EncodeToString(append(make([]byte, 32), "=42&method=listclnrest-notifications"...))

func TestAdmission(t *testing.T) {
	th := startHub(t, Config{})
	th.auth.set(testRune, nil)
	th.auth.set("down", errors.New("connecting to lightning-rpc: connection refused"))

	const missing = `{"code":1501,"message":"Not authorized: Missing rune"}`
	tests := []struct {
		name   string
		opts   rawOptions
		checks []string // runes sent to checkrune
		// refused is the connect_error data; "" means accepted.
		refused string
	}{
		{name: "header", opts: rawOptions{header: runeHeader("good")}, checks: []string{"good"}},
		{name: "lower-case header", opts: rawOptions{header: http.Header{"rune": {"good"}}}, checks: []string{"good"}},
		{name: "upper-case header", opts: rawOptions{header: http.Header{"RUNE": {"good"}}}, checks: []string{"good"}},
		{name: "auth payload", opts: rawOptions{auth: `{"rune":"good"}`}, checks: []string{"good"}},
		{name: "header wins over auth payload", opts: rawOptions{header: runeHeader("good"), auth: `{"rune":"bad"}`}, checks: []string{"good"}},
		{name: "lightningd-style rune", opts: rawOptions{header: runeHeader(testRune)}, checks: []string{testRune}},
		{name: "no rune", refused: missing},
		{name: "empty header", opts: rawOptions{header: runeHeader("")}, refused: missing},
		{name: "auth rune not a string", opts: rawOptions{auth: `{"rune":5}`}, refused: missing},
		{name: "two rune headers", opts: rawOptions{header: http.Header{"Rune": {"good", "bad"}}},
			refused: `{"code":1501,"message":"Not authorized: more than one Rune header"}`},
		{name: "bad", opts: rawOptions{header: runeHeader("bad")}, checks: []string{"bad"},
			refused: `{"code":1501,"message":"Not authorized: Not derived from master"}`},
		{name: "bad in auth payload", opts: rawOptions{auth: `{"rune":"bad"}`}, checks: []string{"bad"},
			refused: `{"code":1501,"message":"Not authorized: Not derived from master"}`},
		{name: "forbid", opts: rawOptions{header: runeHeader("forbid")}, checks: []string{"forbid"},
			refused: `{"code":1502,"message":"Not permitted: method is equal to listclnrest-notifications"}`},
		{name: "lightningd unreachable", opts: rawOptions{header: runeHeader("down")}, checks: []string{"down"},
			refused: `{"code":-32603,"message":"lightningd is unavailable: its RPC socket cannot be reached; try again later"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(th.auth.recorded())
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := dialRaw(ctx, th.plain.URL, tt.opts)
			if err != nil {
				t.Fatalf("dialRaw: %v", err)
			}
			defer c.Close()
			checkConnectAnswer(t, c.Connect, tt.refused)
			checkCalls(t, th.auth.recorded()[before:], tt.checks)
		})
	}
	if strings.Contains(th.logs.String(), testRune) {
		t.Errorf("log shows a rune:\n%s", th.logs.String())
	}
	th.logs.waitFor(t, time.Second, "Socket.IO client connected", "rune_id=42", "transport=websocket")
	th.logs.waitFor(t, time.Second, "Socket.IO connection refused", `reason="Not permitted: method is equal to listclnrest-notifications"`, "code=1502")
	th.logs.waitFor(t, time.Second, "Socket.IO connection refused", `reason="Not authorized: Missing rune"`)
	th.logs.waitFor(t, time.Second, "level=WARN", "cannot check a rune", "connection refused")
}

// checkConnectAnswer checks the server's answer to CONNECT: accepted
// when refused is "", else a connect_error whose message is the refusal's
// message and whose data is refused.
func checkConnectAnswer(t *testing.T, got, refused string) {
	t.Helper()
	if refused == "" {
		if !strings.HasPrefix(got, "40{") {
			t.Errorf("CONNECT answer: got %q; want 40{...}", got)
		}
		return
	}
	if !strings.HasPrefix(got, "44") {
		t.Fatalf("CONNECT answer: got %q; want a connect_error (44...)", got)
	}
	var body struct {
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(got[2:]), &body); err != nil {
		t.Fatalf("connect_error %q: %v", got, err)
	}
	var want struct{ Message string }
	_ = json.Unmarshal([]byte(refused), &want)
	if body.Message != want.Message {
		t.Errorf("connect_error message: got %q; want %q", body.Message, want.Message)
	}
	if string(body.Data) != refused {
		t.Errorf("connect_error data: got %s; want %s", body.Data, refused)
	}
}

func checkCalls(t *testing.T, got []runeauth.Request, runes []string) {
	t.Helper()
	if len(got) != len(runes) {
		t.Fatalf("checkrune calls: got %d (%+v); want %d", len(got), got, len(runes))
	}
	for i, r := range got {
		want := runeauth.Request{Rune: runes[i], Method: "listclnrest-notifications"}
		if r.Rune != want.Rune || r.Method != want.Method || r.NodeID != "" || r.Params != nil {
			t.Errorf("checkrune call %d: got %+v; want %+v", i, r, want)
		}
	}
}

func TestRefusedClientReceivesNothing(t *testing.T) {
	th := startHub(t, Config{})
	for _, rune := range []string{"", "bad", "forbid"} {
		t.Run("rune="+rune, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			o := rawOptions{}
			if rune != "" {
				o.header = runeHeader(rune)
			}
			c, err := dialRaw(ctx, th.plain.URL, o)
			if err != nil {
				t.Fatalf("dialRaw: %v", err)
			}
			defer c.Close()
			if !strings.HasPrefix(c.Connect, "44") {
				t.Fatalf("CONNECT answer: got %q; want 44...", c.Connect)
			}
			if n := th.Clients(); n != 0 {
				t.Errorf("Clients: got %d; want 0", n)
			}
			th.Publish(json.RawMessage(`{"invoice_creation":{"label":"x"}}`))
			short, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel2()
			if p, err := c.next(short); err == nil {
				t.Errorf("refused client received %s", p)
			}
		})
	}
}

func TestRecheckDisconnectsRevokedRunes(t *testing.T) {
	th := startHub(t, Config{Recheck: 50 * time.Millisecond})
	th.auth.set("revoked-later", nil)
	th.auth.set("flaky", nil)
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- th.Run(ctx) }()

	keep := mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good")})
	revoked := mustDial(t, th.plain.URL, rawOptions{header: runeHeader("revoked-later")})
	th.waitClients(t, 2, 5*time.Second)

	// lightningd unreachable: everyone is kept.
	th.auth.set("revoked-later", errors.New("lightning-rpc: connection refused"))
	th.logs.waitFor(t, 5*time.Second, "level=WARN", "lightningd unreachable, keeping connected clients")
	if n := th.Clients(); n != 2 {
		t.Fatalf("Clients while lightningd is unreachable: got %d; want 2", n)
	}

	th.auth.set("revoked-later", &runeauth.Error{Status: 401, Code: 1503, Message: "Not authorized: Blacklisted rune"})
	waitCtx, waitCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer waitCancel()
	if _, err := revoked.next(waitCtx); !errors.Is(err, errDisconnected) {
		t.Errorf("revoked client: got %v; want a DISCONNECT packet", err)
	}
	th.waitClients(t, 1, 5*time.Second)
	th.logs.waitFor(t, time.Second, "Socket.IO client disconnected", "rune refused at recheck: Not authorized: Blacklisted rune")

	th.Publish(json.RawMessage(`{"n":1}`))
	if got, err := keep.next(waitCtx); err != nil || got != `{"n":1}` {
		t.Errorf("kept client: got %q, %v; want {\"n\":1}", got, err)
	}

	cancel()
	select {
	case err := <-runDone:
		if err != nil {
			t.Errorf("Run: got %v; want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if n := th.Clients(); n != 0 {
		t.Errorf("Clients after Run returned: got %d; want 0", n)
	}
}
