package rest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clnrest/clnrest/internal/lightningdtest"
	"github.com/clnrest/clnrest/lnrpc"
	"github.com/clnrest/clnrest/runeauth"
	"github.com/clnrest/clnrest/server"
)

// gateway is a Handler served on a real listener in front of a
// simulated lightningd.
type gateway struct {
	rpc  *lightningdtest.RPCServer
	addr string // host:port
	rune string
}

// startGateway serves a Handler built from cfg (RPC and Auth filled in)
// on 127.0.0.1 and stops everything when the test ends.
func startGateway(t *testing.T, cfg Config) *gateway {
	t.Helper()
	dir, err := os.MkdirTemp("", "rt") // unix socket paths are short
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	rpc, err := lightningdtest.NewRPCServer(lightningdtest.RPCConfig{SocketPath: filepath.Join(dir, "lightning-rpc")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rpc.Close() })
	client := lnrpc.New(rpc.SocketPath(), lnrpc.Config{})
	t.Cleanup(func() { client.Close() })
	cfg.RPC, cfg.Auth = client, runeauth.NewChecker(client)
	srv, err := server.Listen(server.Config{Addr: "127.0.0.1:0", Handler: NewHandler(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
	})
	rune, err := rpc.CreateRune()
	if err != nil {
		t.Fatal(err)
	}
	return &gateway{rpc: rpc, addr: srv.Addr().String(), rune: rune}
}

// post sends POST path with the gateway's rune and returns status,
// Retry-After and body.
func (g *gateway) post(t *testing.T, path, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+g.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Rune", g.rune)
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Retry-After"), string(b)
}

// TestSlowBody: a client that sends its headers and then trickles its
// body is answered 408 once BodyTimeout has passed, and does not delay
// anyone else meanwhile.
func TestSlowBody(t *testing.T) {
	g := startGateway(t, Config{BodyTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /v1/getinfo HTTP/1.1\r\nHost: x\r\nRune: " + g.rune + "\r\nContent-Length: 100\r\n\r\n{"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if status, _, body := g.post(t, "/v1/getinfo", ""); status != http.StatusCreated {
		t.Errorf("normal request beside a slow body: got %d %s; want 201", status, body)
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("normal request beside a slow body took %v; want it unaffected", d)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the slow client's answer: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout {
		t.Errorf("slow body: got %d; want 408", res.StatusCode)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Errorf("slow body answered after %v; want about the 300ms body timeout", d)
	}
	if n := g.rpc.Calls("checkrune"); n != 1 {
		t.Errorf("checkrune calls: got %d; want 1 (the slow request must run nothing)", n)
	}
}

// TestBodyDeadlineLifted: the body deadline ends with the body; a call
// that lightningd takes longer than BodyTimeout to answer still succeeds.
func TestBodyDeadlineLifted(t *testing.T) {
	g := startGateway(t, Config{BodyTimeout: 200 * time.Millisecond})
	g.rpc.SetDelay("getinfo", 700*time.Millisecond)
	for _, body := range []string{`{}`, ``} {
		if status, _, res := g.post(t, "/v1/getinfo", body); status != http.StatusCreated {
			t.Errorf("slow lightningd after body %q: got %d %s; want 201", body, status, res)
		}
	}
}

// TestRequestCap: beyond MaxRequests in flight a request gets 503 with
// Retry-After and runs nothing; Socket.IO requests are not counted; once
// the requests in flight end, requests are served again.
func TestRequestCap(t *testing.T) {
	release := make(chan struct{})
	sio := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release })
	g := startGateway(t, Config{MaxRequests: 2, SocketIO: sio})
	var polls sync.WaitGroup
	for range 3 { // more Socket.IO requests than the cap, all held open
		polls.Add(1)
		go func() {
			defer polls.Done()
			res, err := http.Get("http://" + g.addr + "/socket.io/?EIO=4&transport=polling")
			if err == nil {
				res.Body.Close()
			}
		}()
	}
	defer polls.Wait()
	defer close(release)
	g.rpc.SetDelay("getinfo", time.Second)
	var slow sync.WaitGroup
	statuses := make(chan int, 2)
	for range 2 {
		slow.Add(1)
		go func() {
			defer slow.Done()
			status, _, _ := g.post(t, "/v1/getinfo", "")
			statuses <- status
		}()
	}
	waitFor(t, func() bool { return g.rpc.Calls("getinfo") == 2 })
	checks := g.rpc.Calls("checkrune")
	status, retry, body := g.post(t, "/v1/getinfo", "")
	if status != http.StatusServiceUnavailable || retry != "1" {
		t.Errorf("over the cap: got %d Retry-After %q; want 503 with Retry-After 1", status, retry)
	}
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code != codeInternal || !strings.Contains(e.Message, "clnrest-max-requests 2") {
		t.Errorf("over the cap: body %s; want an error object naming clnrest-max-requests", body)
	}
	if got := g.rpc.Calls("checkrune"); got != checks {
		t.Errorf("checkrune calls over the cap: got %d more; want none", got-checks)
	}
	slow.Wait()
	for range 2 {
		if s := <-statuses; s != http.StatusCreated {
			t.Errorf("request within the cap: got %d; want 201", s)
		}
	}
	g.rpc.SetDelay("getinfo", 0)
	if status, _, body := g.post(t, "/v1/getinfo", ""); status != http.StatusCreated {
		t.Errorf("after the burst: got %d %s; want 201", status, body)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRuneIDInLog(t *testing.T) {
	const hash = "0123456789abcdef0123456789abcdef" // 32 bytes
	enc := func(restrictions string) string {
		return base64URL(hash + restrictions)
	}
	tests := []struct{ name, rune, want string }{
		{"none", "", ""},
		{"numeric id", enc("=42&method=getinfo"), "42"},
		{"id with version", enc("=7-1"), "7"},
		{"not base64", "not a rune!", "unknown"},
		{"no id", enc("method=getinfo"), "unknown"},
		{"id too long", enc("=" + strings.Repeat("9", 65)), "unknown"},
		{"id with a space", enc("=a b"), "unknown"},
		{"id with a control", enc("=a\nb"), "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPost, "/v1/getinfo", nil)
			if tc.rune != "" {
				r.Header.Set("Rune", tc.rune)
			}
			if got := runeID(r); got != tc.want {
				t.Errorf("runeID: got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestRedactRunes(t *testing.T) {
	const rune = "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQ="
	r, _ := http.NewRequest(http.MethodPost, "/v1/getinfo", nil)
	r.Header.Set("Rune", rune)
	tests := []struct {
		name     string
		in       *Error
		wantMsg  string
		wantData string
	}{
		{"whole rune", &Error{Message: "bad rune " + rune}, "bad rune <rune>", ""},
		{"unpadded", &Error{Message: "bad rune '" + strings.TrimRight(rune, "=") + "'"}, "bad rune '<rune>'", ""},
		{"in data", &Error{Message: "x", Data: json.RawMessage(`{"rune":"` + rune + `"}`)}, "x", `{"rune":"<rune>"}`},
		{"untouched", &Error{Message: "Not authorized: Not derived from master"}, "Not authorized: Not derived from master", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := redactRunes(r, tc.in)
			if got.Message != tc.wantMsg || string(got.Data) != tc.wantData {
				t.Errorf("got %q %s; want %q %s", got.Message, got.Data, tc.wantMsg, tc.wantData)
			}
		})
	}
}

func base64URL(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
