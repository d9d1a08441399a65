package e2e

// Hostile input through the real binary: path tricks against
// authorization, bodies built to exhaust the decoders, slow and greedy
// clients, broken TLS identities, and runes leaking into logs or errors.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clnrest/clnrest/internal/lightningdtest"
)

// rawExchange sends req byte for byte on a new connection to e (plain
// http) and reads one response, so that paths reach the server exactly
// as written, unnormalized by any client library.
func (e *env) rawExchange(method, req string) response {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		e.t.Fatalf("writing %q: %v", req, err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		e.t.Fatalf("reading the answer to %q: %v", req, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// calls counts the lightningd commands a hostile request might reach.
type calls struct{ checkrune, getinfo, listdatastore int }

func (e *env) calls() calls {
	return calls{e.node.RPC.Calls("checkrune"), e.node.RPC.Calls("getinfo"), e.node.RPC.Calls("listdatastore")}
}

func (c calls) minus(o calls) calls {
	return calls{c.checkrune - o.checkrune, c.getinfo - o.getinfo, c.listdatastore - o.listdatastore}
}

// TestPathTricks: every way of dressing up a request path or method
// either reaches checkrune with the real command name (proved with a
// rune that only allows getinfo and one that allows everything but
// getinfo) or is refused before checkrune; HEAD and OPTIONS never run a
// command.
func TestPathTricks(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	onlyGetinfo, err := e.node.RPC.CreateRune([]string{"method=getinfo"})
	if err != nil {
		t.Fatal(err)
	}
	notGetinfo, _ := e.node.RPC.CreateRune([]string{"method/getinfo"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.node.Plugin.Call(ctx, "clnrest-register-path", json.RawMessage(`["v1/public/{key}","listdatastore","GET",false]`)); err != nil {
		t.Fatalf("registering a rune-less GET path: %v", err)
	}
	const (
		refused = iota // no checkrune, no command
		checked        // checkrune ran and refused; no command
		ran            // checkrune passed, getinfo ran
	)
	tests := []struct {
		name, method, target string
		headers              string // extra raw header lines
		rune                 string // "" = onlyGetinfo; "-" = none
		wantStatus           int
		want                 int
	}{
		{"baseline", "POST", "/v1/getinfo", "", "", 201, ran},
		{"dot segments", "POST", "/v1/../v1/getinfo", "", "", 404, refused},
		{"encoded dot segments", "POST", "/v1/%2e%2e/v1/getinfo", "", "", 404, refused},
		{"double slash", "POST", "//v1/getinfo", "", "", 404, refused},
		{"trailing slash", "POST", "/v1/getinfo/", "", "", 404, refused},
		{"encoded slash after v1", "POST", "/v1%2Fgetinfo", "", "", 404, refused},
		{"encoded slash after the name", "POST", "/v1/getinfo%2F", "", "", 404, refused},
		{"encoded letters", "POST", "/v1/get%69nfo", "", "", 201, ran},
		{"upper-case version", "POST", "/V1/getinfo", "", "", 404, refused},
		{"upper-case command", "POST", "/v1/GETINFO", "", "", 401, checked},
		{"absolute form", "POST", "http://127.0.0.1/v1/getinfo", "", "", 201, ran},
		{"HEAD", "HEAD", "/v1/getinfo", "", "", 405, refused},
		{"OPTIONS", "OPTIONS", "/v1/getinfo", "", "", 405, refused},
		{"OPTIONS preflight", "OPTIONS", "/v1/getinfo", "Origin: https://a.example\r\nAccess-Control-Request-Method: POST\r\n", "", 204, refused},
		{"GET overridden to POST", "GET", "/v1/getinfo", "X-HTTP-Method-Override: POST\r\n", "", 405, refused},
		{"POST overridden to GET", "POST", "/v1/getinfo", "X-HTTP-Method-Override: GET\r\n", "", 201, ran},
		{"second Rune header", "POST", "/v1/getinfo", "Rune: " + notGetinfo + "\r\n", "", 400, refused},
		{"empty Rune header", "POST", "/v1/getinfo", "Rune: \r\n", "-", 403, refused},
		{"no Rune header", "POST", "/v1/getinfo", "", "-", 403, refused},
		{"HEAD on a rune-less GET path", "HEAD", "/v1/public/x", "", "-", 405, refused},
		{"OPTIONS on a rune-less GET path", "OPTIONS", "/v1/public/x", "", "-", 405, refused},
		{"POST overridden to GET on a rune-less path", "POST", "/v1/public/x", "X-HTTP-Method-Override: GET\r\n", "-", 405, refused},
	}
	defer func() { // the access log shows the path as sent, and the rune's id only
		e.waitLog(`INFO    plugin-clnrest: REST request method=POST path=/v1%2Fgetinfo status=404 duration_ms=[0-9.]+ rune_id=[0-9]+$`)
		e.waitLog(`REST request method=POST path=/v1/%2e%2e/v1/getinfo status=404 `)
	}()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rune := "Rune: " + onlyGetinfo + "\r\n"
			switch tc.rune {
			case "-":
				rune = ""
			case "":
			default:
				rune = "Rune: " + tc.rune + "\r\n"
			}
			before := e.calls()
			req := tc.method + " " + tc.target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + rune + tc.headers + "\r\n"
			r := e.rawExchange(tc.method, req)
			t.Logf("%d %.160s", r.status, r.body)
			if r.status != tc.wantStatus {
				t.Errorf("status: got %d (%s); want %d", r.status, r.body, tc.wantStatus)
			}
			got := e.calls().minus(before)
			want := map[int]calls{refused: {}, checked: {checkrune: 1}, ran: {checkrune: 1, getinfo: 1}}[tc.want]
			if got != want {
				t.Errorf("lightningd calls: got %+v; want %+v", got, want)
			}
			if tc.want != ran {
				return
			}
			// The same request with a rune that allows everything but
			// getinfo must be refused: checkrune saw "getinfo".
			before = e.calls()
			r = e.rawExchange(tc.method, strings.Replace(req, onlyGetinfo, notGetinfo, 1))
			if got := e.calls().minus(before); r.status != 401 || got != (calls{checkrune: 1}) {
				t.Errorf("with a rune refusing getinfo: got %d %s, calls %+v; want 401 from checkrune, nothing run", r.status, r.body, got)
			}
		})
	}
}

// TestHostileBodies: bodies built to blow up a decoder are refused with
// 400 (or 413) before checkrune or any command, and the server keeps
// serving.
func TestHostileBodies(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	var keys strings.Builder
	keys.WriteString("{")
	for i := range 100001 {
		if i > 0 {
			keys.WriteString(",")
		}
		fmt.Fprintf(&keys, `"k%d":0`, i)
	}
	keys.WriteString("}")
	tests := []struct {
		name, contentType, body string
		wantStatus              int
		wantMessage             string
	}{
		{"YAML alias bomb", "application/yaml", yamlAliasBomb(), 400, "alias"},
		{"YAML deep nesting", "application/yaml", "a: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000), 400, "YAML"},
		{"YAML over 1 MiB", "application/yaml", "a: \"" + strings.Repeat("x", 1<<20) + "\"", 413, "YAML"},
		{"JSON deep nesting", "application/json", `{"a":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "}", 400, "nesting"},
		{"JSON too many keys", "application/json", keys.String(), 400, "keys"},
		{"XML deep nesting", "application/xml", "<getinfo>" + strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000) + "</getinfo>", 400, "nesting"},
		{"XML entity expansion", "application/xml", `<!DOCTYPE getinfo [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><getinfo>&b;</getinfo>`, 400, "XML"},
		{"form deep brackets", "application/x-www-form-urlencoded", "a" + strings.Repeat("[x]", 10000) + "=1", 400, "nesting"},
		{"form too many keys", "application/x-www-form-urlencoded", strings.Repeat("a[]=1&", 100001), 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.calls()
			start := time.Now()
			r := e.post("/v1/getinfo", tc.body, "Content-Type", tc.contentType)
			if r.status != tc.wantStatus || !strings.Contains(strings.ToLower(r.body), strings.ToLower(tc.wantMessage)) {
				t.Errorf("got %d %.300s; want %d mentioning %q", r.status, r.body, tc.wantStatus, tc.wantMessage)
			}
			t.Logf("%d %.200s", r.status, r.body)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("refusal took %v; want it quick, not expanded", d)
			}
			if got := e.calls().minus(before); got != (calls{}) {
				t.Errorf("lightningd calls: got %+v; want none", got)
			}
		})
	}
	if r := e.post("/v1/getinfo", ""); r.status != 201 {
		t.Errorf("getinfo after the hostile bodies: got %d %s; want 201", r.status, r.body)
	}
}

// yamlAliasBomb is the billion-laughs document: ten levels of nine
// aliases each, 9^10 strings once expanded, under 1 KiB as sent.
func yamlAliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [\"lol\"]\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := range 9 {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// TestSlowClientsDoNotBlock: with the default timeouts, a client
// trickling its headers and one trickling its body do not delay a
// normal request. Their cut-offs are tested in server/ and rest/ with
// short timeouts.
func TestSlowClientsDoNotBlock(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	addr := strings.TrimPrefix(e.base, "http://")
	for _, head := range []string{
		"POST /v1/getinfo HTTP/1.1\r\nHost: x\r\n",
		"POST /v1/getinfo HTTP/1.1\r\nHost: x\r\nRune: " + e.rune + "\r\nContent-Length: 1000\r\n\r\n{",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, head)
	}
	start := time.Now()
	if r := e.post("/v1/getinfo", ""); r.status != 201 {
		t.Errorf("getinfo beside slow clients: got %d %s", r.status, r.body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("getinfo beside slow clients took %v; want it unaffected", d)
	}
}

// TestRequestCapOption: clnrest-max-requests reaches the server; beyond
// it a request gets 503 with Retry-After and runs nothing.
func TestRequestCapOption(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http", "clnrest-max-requests": 2})
	e.node.RPC.SetDelay("getinfo", time.Second)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, e.base+"/v1/getinfo", nil)
			req.Header.Set("Rune", e.rune)
			if res, err := e.client.Do(req); err == nil {
				res.Body.Close()
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.node.RPC.Calls("getinfo") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	before := e.calls()
	r := e.post("/v1/getinfo", "")
	if r.status != 503 || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "clnrest-max-requests 2") {
		t.Errorf("third request: got %d Retry-After %q %s; want 503 with Retry-After naming clnrest-max-requests", r.status, r.header.Get("Retry-After"), r.body)
	}
	if got := e.calls().minus(before); got != (calls{}) {
		t.Errorf("lightningd calls for the refused request: got %+v; want none", got)
	}
	wg.Wait()
}

// TestBurst: 2,000 clients at once, each on its own connection, are all
// served under the default request cap.
func TestBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 connections")
	}
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	const clients = 2000
	tr := &http.Transport{MaxIdleConnsPerHost: -1, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 120 * time.Second}
	// A little delay keeps them all in flight together, queued behind
	// the lightning-rpc connection pool.
	e.node.RPC.SetDelay("getinfo", 100*time.Millisecond)
	var wg sync.WaitGroup
	statuses := make(chan string, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, e.base+"/v1/getinfo", nil)
			req.Header.Set("Rune", e.rune)
			res, err := client.Do(req)
			if err != nil {
				statuses <- err.Error()
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			statuses <- fmt.Sprint(res.StatusCode)
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[string]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts["201"] != clients {
		t.Errorf("burst of %d: got %v; want all 201", clients, counts)
	}
}

// TestBrokenTLSIdentity: a present, non-empty but unusable PEM file is
// reported in lightningd's log naming the file, the plugin disables
// itself, and no file is replaced.
func TestBrokenTLSIdentity(t *testing.T) {
	good := t.TempDir()
	e := start(t, map[string]any{"clnrest-certs": good})
	e.stop()
	original := readPEMs(t, good)
	tests := []struct {
		name, file string
		content    func() []byte
		wantReason string
	}{
		{"corrupt server.pem", "server.pem", func() []byte { return []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n") }, "server.pem"},
		{"garbage server-key.pem", "server-key.pem", func() []byte { return []byte("garbage") }, "server-key.pem"},
		{"key of another certificate", "server-key.pem", func() []byte { return original["client-key.pem"] }, "server-key.pem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range pemFiles {
				content := original[f]
				if f == tc.file {
					content = tc.content()
				}
				if err := os.WriteFile(filepath.Join(dir, f), content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before := readPEMs(t, dir)
			e := startNode(t, map[string]any{"clnrest-certs": dir})
			reason, disabled := e.node.Plugin.Disabled()
			t.Logf("disabled: %s", reason)
			if !disabled || !strings.Contains(reason, filepath.Join(dir, tc.wantReason)) {
				t.Fatalf("got disabled=%v %q; want disabled naming %s", disabled, reason, tc.wantReason)
			}
			e.waitLog(regexp.QuoteMeta("Killing plugin: disabled itself at init: ") + ".*" + regexp.QuoteMeta(tc.wantReason))
			if after := readPEMs(t, dir); !equalPEMs(before, after) {
				t.Error("the certificate files changed; want them left as they were")
			}
		})
	}
}

// TestTLSCipherSuites: TLS 1.2 clients offering only CBC or only static
// RSA suites are refused; ECDHE with AEAD is accepted.
func TestTLSCipherSuites(t *testing.T) {
	e := start(t, nil)
	addr := strings.TrimPrefix(e.base, "https://")
	tests := []struct {
		name   string
		suites []uint16
		wantOK bool
	}{
		{"ECDHE AES-GCM", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, true},
		{"ECDHE CHACHA20", []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, true},
		{"CBC only", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}, false},
		{"static RSA only", []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384}, false},
		{"3DES and RC4", []uint16{tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: e.caPool(), ServerName: "localhost",
				MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: tc.suites})
			if err == nil {
				conn.Close()
			}
			if (err == nil) != tc.wantOK {
				t.Errorf("handshake error: got %v; want success %v", err, tc.wantOK)
			}
		})
	}
}

// lockedLog collects lightningd's log lines and the plugin's stderr.
type lockedLog struct {
	mu sync.Mutex // protects b
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startLogged is start (plain http) with lightningd's log and the
// plugin's stderr copied into the returned log.
func startLogged(t *testing.T) (*env, *lockedLog) {
	t.Helper()
	log := &lockedLog{}
	port := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node, err := lightningdtest.StartNode(ctx, lightningdtest.NodeConfig{Binary: binary, Log: log,
		Options: map[string]any{"clnrest-port": port, "clnrest-protocol": "http"}})
	if err != nil {
		t.Fatalf("starting node: %v", err)
	}
	e := &env{t: t, node: node, port: port, base: fmt.Sprintf("http://127.0.0.1:%d", port), client: &http.Client{Timeout: 60 * time.Second}}
	t.Cleanup(e.stop)
	e.waitLog(`REST server running at`)
	if e.rune, err = node.RPC.CreateRune(); err != nil {
		t.Fatal(err)
	}
	return e, log
}

// TestNoRuneInLogsOrErrors: requests that succeed, fail authorization,
// fail in lightningd or are refused by clnrest, over REST and Socket.IO,
// leave no rune (nor 16 consecutive characters of one) in lightningd's
// log at debug level, in the plugin's stderr, or in any error body,
// even when lightningd's own error message quotes the rune.
func TestNoRuneInLogsOrErrors(t *testing.T) {
	e, log := startLogged(t)
	restricted, _ := e.node.RPC.CreateRune([]string{"method=listdatastore"})
	echoed, _ := e.node.RPC.CreateRune()
	readonly, _ := e.node.RPC.CreateReadonlyRune()
	foreign := foreignRune(t)
	runes := []string{e.rune, restricted, echoed, readonly, foreign}
	var bodies []string
	send := func(rune, path, body string, extra ...string) {
		r := e.do("POST", path, body, append([]string{"Rune", rune}, extra...)...)
		bodies = append(bodies, r.body)
	}
	send(e.rune, "/v1/getinfo", "")                                      // 201
	send(e.rune, "/v1/invoice", `{"label":"x"}`)                         // 500 from lightningd
	send(e.rune, "/v1/nosuchcommand", "")                                // 404 from lightningd
	send(restricted, "/v1/getinfo", "")                                  // 401
	send(foreign, "/v1/getinfo", "")                                     // 401 not derived
	send(e.rune, "/v1/getinfo", "{", "Content-Type", "application/json") // 400
	send(e.rune, "/v1/getinfo", "", "Rune", restricted)                  // 400, two runes
	send(e.rune, "/v1/getinfo", "", "Accept", "text/plain")              // 406
	send(e.rune, "/v1/getinfo", strings.Repeat(" ", 9<<20))              // 413
	e.node.RPC.SetError("checkrune", &lightningdtest.RPCError{Code: -32602, Message: "rune: should be base64 string: invalid token '" + echoed + "'"})
	send(echoed, "/v1/getinfo", "") // 401 whose lightningd message quotes the rune
	e.node.RPC.SetError("checkrune", nil)
	sioConnect(t, e, readonly)
	sioConnect(t, e, foreign)
	e.waitLog(`Socket.IO connection refused`)
	e.waitLog(`Socket.IO client connected`)
	e.waitLog(`REST request .*status=401`)
	e.stop()

	logs := log.String()
	if !strings.Contains(logs, "rune_id=") {
		t.Fatalf("no access log line with rune_id; the log was not captured:\n%s", logs)
	}
	for i, rune := range runes {
		if w := leakedWindow(logs, rune); w != "" {
			t.Errorf("rune %d leaked into the log: %q found in\n%s", i, w, logs)
		}
		for _, b := range bodies {
			if w := leakedWindow(b, rune); w != "" {
				t.Errorf("rune %d leaked into an error body: %q in %s", i, w, b)
			}
		}
	}
}

// leakedWindow returns a 16-character piece of rune found in text, or "".
func leakedWindow(text, rune string) string {
	const window = 16
	for i := 0; i+window <= len(rune); i++ {
		if w := rune[i : i+window]; strings.Contains(text, w) {
			return w
		}
	}
	return ""
}

// sioConnect opens a Socket.IO session over Engine.IO polling with rune
// in the Rune header and sends CONNECT; it returns what the server
// answered to CONNECT (a "40" acceptance or a "44" refusal).
func sioConnect(t *testing.T, e *env, rune string) string {
	t.Helper()
	get := func(url string) string {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Rune", rune)
		res, err := e.client.Do(req)
		if err != nil {
			t.Fatalf("Socket.IO poll: %v", err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	base := e.base + "/socket.io/?EIO=4&transport=polling"
	open := get(base)
	m := regexp.MustCompile(`"sid":"([^"]+)"`).FindStringSubmatch(open)
	if m == nil {
		t.Fatalf("Socket.IO handshake: got %q", open)
	}
	url := base + "&sid=" + m[1]
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("40"))
	req.Header.Set("Rune", rune)
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("Socket.IO CONNECT: %v", err)
	}
	res.Body.Close()
	return get(url)
}
