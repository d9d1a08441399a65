package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/clnrest/clnrest/lnrpc"
)

// node is the lightningd the benchmark runs against: the simulator in this
// process, or a real lightningd reached through its lightning-rpc socket.
type node interface {
	// Name describes the node for the table.
	Name() string
	// Socket is the path of lightning-rpc.
	Socket() string
	// Rune is an unrestricted rune the node accepts.
	Rune() string
	// PID is lightningd's (or the simulator's) process id; 0 if unknown.
	PID() int
	// Simulated reports whether this is the simulator.
	Simulated() bool
	// StartREST starts clnrest on port with protocol "http" or "https".
	StartREST(ctx context.Context, protocol string, port int) (*restServer, error)
	// Close stops what the benchmark started.
	Close() error
}

// restServer is one running clnrest.
type restServer struct {
	Base string // e.g. http://127.0.0.1:40123
	PID  int
	TLS  *tls.Config // nil for http
	stop func(ctx context.Context) error
}

// Proto is "http" or "https", from Base.
func (s *restServer) Proto() string { proto, _, _ := strings.Cut(s.Base, "://"); return proto }

// Addr is the host:port of Base.
func (s *restServer) Addr() string { _, addr, _ := strings.Cut(s.Base, "://"); return addr }

// Stop stops clnrest as lightningd would.
func (s *restServer) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	return s.stop(ctx)
}

// Transport returns a keep-alive transport for n concurrent clients.
func (s *restServer) Transport(n int) *http.Transport {
	return &http.Transport{
		TLSClientConfig:     s.TLS,
		MaxIdleConns:        n,
		MaxIdleConnsPerHost: n,
		MaxConnsPerHost:     n,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// restOptions are the clnrest options the benchmark sets; certs go in a
// directory of the benchmark's own so that a real node's network
// directory is left alone.
func restOptions(protocol string, port int, certs string) map[string]any {
	return map[string]any{"clnrest-port": port, "clnrest-protocol": protocol, "clnrest-certs": certs}
}

// loadCA reads ca.pem from dir into a TLS client configuration.
func loadCA(dir string) (*tls.Config, error) {
	pem, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return nil, fmt.Errorf("reading clnrest's CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("reading clnrest's CA: %s holds no certificate", filepath.Join(dir, "ca.pem"))
	}
	return &tls.Config{RootCAs: pool}, nil
}

// realNode is a running lightningd; clnrest is started in it as a dynamic
// plugin, exactly as `lightning-cli -k plugin subcommand=start
// plugin=<path> clnrest-port=<port> ...` does.
type realNode struct {
	bin     string
	dir     string // lightning dir
	socket  string
	pid     int
	version string
	rpc     *lnrpc.Client
	rune    string
	certs   string // our own, removed by Close
}

// openReal connects to the lightningd of dir/network.
func openReal(ctx context.Context, bin, dir, network string) (*realNode, error) {
	n := &realNode{bin: bin, dir: dir, socket: filepath.Join(dir, network, "lightning-rpc")}
	n.rpc = lnrpc.New(n.socket, lnrpc.Config{})
	info, err := n.rpc.Call(ctx, "getinfo", nil)
	if err != nil {
		n.rpc.Close()
		return nil, fmt.Errorf("reaching lightningd at %s: %w", n.socket, err)
	}
	var gi struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(info, &gi)
	n.version = gi.Version
	if b, err := os.ReadFile(filepath.Join(dir, "lightningd-"+network+".pid")); err == nil {
		n.pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if n.rune, err = n.findRune(ctx); err != nil {
		n.rpc.Close()
		return nil, err
	}
	if n.certs, err = os.MkdirTemp("", "clnrest-bench-certs"); err != nil {
		n.rpc.Close()
		return nil, fmt.Errorf("making a certificates dir: %w", err)
	}
	return n, nil
}

// findRune reuses a stored unrestricted rune that is not blacklisted, so
// that repeated runs do not pile up runes in the node; it creates one
// only when there is none.
func (n *realNode) findRune(ctx context.Context) (string, error) {
	res, err := n.rpc.Call(ctx, "showrunes", nil)
	if err != nil {
		return "", fmt.Errorf("listing runes: %w", err)
	}
	var list struct {
		Runes []struct {
			Rune         string            `json:"rune"`
			Restrictions []json.RawMessage `json:"restrictions"`
			Blacklisted  bool              `json:"blacklisted"`
			Stored       *bool             `json:"stored"`
		} `json:"runes"`
	}
	if err := json.Unmarshal(res, &list); err != nil {
		return "", fmt.Errorf("reading showrunes: %w", err)
	}
	for _, r := range list.Runes {
		if len(r.Restrictions) == 0 && !r.Blacklisted && (r.Stored == nil || *r.Stored) {
			return r.Rune, nil
		}
	}
	res, err = n.rpc.Call(ctx, "createrune", nil)
	if err != nil {
		return "", fmt.Errorf("creating a rune: %w", err)
	}
	var created struct {
		Rune string `json:"rune"`
	}
	if err := json.Unmarshal(res, &created); err != nil || created.Rune == "" {
		return "", fmt.Errorf("reading createrune's answer %s: %v", res, err)
	}
	return created.Rune, nil
}

func (n *realNode) Name() string {
	return fmt.Sprintf("lightningd %s (%s, pid %d)", n.version, n.dir, n.pid)
}
func (n *realNode) Socket() string  { return n.socket }
func (n *realNode) Rune() string    { return n.rune }
func (n *realNode) PID() int        { return n.pid }
func (n *realNode) Simulated() bool { return false }

func (n *realNode) StartREST(ctx context.Context, protocol string, port int) (*restServer, error) {
	params := map[string]any{"subcommand": "start", "plugin": n.bin}
	for k, v := range restOptions(protocol, port, n.certs) {
		params[k] = v
	}
	raw, _ := json.Marshal(params) // strings and ints always marshal
	if _, err := n.rpc.Call(ctx, "plugin", raw); err != nil {
		return nil, fmt.Errorf("starting clnrest in lightningd: %w", err)
	}
	name := filepath.Base(n.bin)
	stop := func(ctx context.Context) error {
		_, err := n.rpc.Call(ctx, "plugin", json.RawMessage(`{"subcommand":"stop","plugin":"`+name+`"}`))
		return err
	}
	srv := &restServer{Base: protocol + "://127.0.0.1:" + strconv.Itoa(port), stop: stop}
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if srv.PID, err = pidListening(port); err == nil {
			break
		}
	}
	if err != nil {
		_ = stop(ctx)
		return nil, err
	}
	if protocol == "https" {
		if srv.TLS, err = loadCA(n.certs); err != nil {
			_ = stop(ctx)
			return nil, err
		}
	}
	return srv, nil
}

func (n *realNode) Close() error {
	err := n.rpc.Close()
	if rmErr := os.RemoveAll(n.certs); rmErr != nil {
		err = errors.Join(err, rmErr)
	}
	return err
}
