package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clnrest/clnrest/internal/lightningdtest"
)

// binary is the clnrest executable under test, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clnrest-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "clnrest")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "..")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building clnrest:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one running clnrest under a simulated node.
type env struct {
	t       *testing.T
	node    *lightningdtest.Node
	base    string // e.g. https://127.0.0.1:40123
	port    int
	client  *http.Client
	rune    string // unrestricted
	certs   string // clnrest-certs when set
	stopped bool
}

// freePort returns a TCP port free at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNode starts clnrest with opts under a simulated node; clnrest-port
// is chosen when opts has none, and left unset when it is nil. It does not
// wait for the server.
func startNode(t *testing.T, opts map[string]any) *env {
	t.Helper()
	if opts == nil {
		opts = map[string]any{}
	}
	port := 0
	switch v, ok := opts["clnrest-port"]; {
	case !ok:
		port = freePort(t)
		opts["clnrest-port"] = port
	case v == nil: // a nil port means: leave the option unset
		delete(opts, "clnrest-port")
	default:
		port, _ = v.(int)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node, err := lightningdtest.StartNode(ctx, lightningdtest.NodeConfig{Binary: binary, Options: opts})
	if err != nil {
		t.Fatalf("starting node: %v", err)
	}
	e := &env{t: t, node: node, port: port}
	e.certs, _ = opts["clnrest-certs"].(string)
	t.Cleanup(func() { e.stop() })
	return e
}

// start starts clnrest and waits until it serves; protocol comes from
// opts (default https, as upstream).
func start(t *testing.T, opts map[string]any) *env {
	t.Helper()
	e := startNode(t, opts)
	if reason, disabled := e.node.Plugin.Disabled(); disabled {
		t.Fatalf("clnrest disabled itself: %s", reason)
	}
	line := e.waitLog(`REST server running at (https?)://`)
	scheme := regexp.MustCompile(`(https?)://`).FindStringSubmatch(line)[1]
	host := "127.0.0.1"
	if h, ok := opts["clnrest-host"].(string); ok && h != "localhost" {
		host = h
	}
	e.base = scheme + "://" + net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(e.port))
	e.client = &http.Client{Timeout: 60 * time.Second}
	if scheme == "https" {
		e.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.caPool()}}
	}
	rune, err := e.node.RPC.CreateRune()
	if err != nil {
		t.Fatalf("createrune: %v", err)
	}
	e.rune = rune
	return e
}

func (e *env) caPool() *x509.CertPool {
	e.t.Helper()
	pem, err := os.ReadFile(filepath.Join(e.certsDir(), "ca.pem"))
	if err != nil {
		e.t.Fatalf("reading ca.pem: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		e.t.Fatal("ca.pem holds no certificate")
	}
	return pool
}

// certsDir is clnrest-certs, or the network directory by default.
func (e *env) certsDir() string {
	if e.certs != "" {
		return e.certs
	}
	return e.node.NetDir
}

// waitLog waits for a log line matching re and returns it.
func (e *env) waitLog(re string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	line, err := e.node.Plugin.WaitForLog(ctx, regexp.MustCompile(re))
	if err != nil {
		e.t.Fatalf("waiting for log %q: %v\nlog so far:\n%s", re, err, strings.Join(e.node.Plugin.Logs(), "\n"))
	}
	return line
}

// stop shuts the node down like lightningd and checks a clean exit.
func (e *env) stop() {
	if e.stopped {
		return
	}
	e.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, err := e.node.Stop(ctx)
	if err != nil {
		e.t.Errorf("stopping node: %v", err)
	}
	if _, disabled := e.node.Plugin.Disabled(); !disabled && code != 0 {
		e.t.Errorf("clnrest exit code: got %d; want 0", code)
	}
	if v := e.node.Plugin.StdoutViolations(); len(v) > 0 {
		e.t.Errorf("clnrest wrote non-JSON-RPC to stdout: %q", v)
	}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request; headers are name, value pairs.
func (e *env) do(method, path, body string, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatalf("building request: %v", err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("reading %s %s: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// post calls POST path with the unrestricted rune.
func (e *env) post(path, body string, headers ...string) response {
	e.t.Helper()
	return e.do(http.MethodPost, path, body, append([]string{"Rune", e.rune}, headers...)...)
}

// foreignRune is a well-formed rune made with another master secret.
func foreignRune(t *testing.T) string {
	t.Helper()
	m, err := lightningdtest.NewRuneMaster(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Derive("0")
	if err != nil {
		t.Fatal(err)
	}
	return r.String()
}
