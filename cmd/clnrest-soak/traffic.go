package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	gws "github.com/gorilla/websocket"

	"github.com/clnrest/clnrest/internal/lightningdtest"
)

// counters tallies outcomes by kind: "201 <op>", "expected <status>
// <op>", "unexpected: ..." and traffic figures.
type counters struct {
	mu sync.Mutex // protects n
	n  map[string]int64
}

func newCounters() *counters { return &counters{n: map[string]int64{}} }

func (c *counters) add(kind string, d int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[kind] += d
}

func (c *counters) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// restOp is one kind of REST call and the status it must get.
type restOp struct {
	name string
	rune string // "ok", "none" or "foreign"
	path string
	body func(worker, i int) string
	want int
}

func restOps() []restOp {
	return []restOp{
		{"getinfo", "ok", "/v1/getinfo", nil, http.StatusCreated},
		{"invoice", "ok", "/v1/invoice", func(w, i int) string {
			return fmt.Sprintf(`{"amount_msat":1000,"label":"soak-%d-%d","description":"soak"}`, w, i)
		}, http.StatusCreated},
		{"listinvoices", "ok", "/v1/listinvoices", func(w, i int) string {
			return fmt.Sprintf(`{"label":"soak-%d-%d"}`, w, i-1)
		}, http.StatusCreated},
		{"datastore", "ok", "/v1/datastore", func(w, i int) string {
			return fmt.Sprintf(`{"key":["soak","w%d","k%d"],"string":"v%d","mode":"create-or-replace"}`, w, i%50, i)
		}, http.StatusCreated},
		{"listdatastore", "ok", "/v1/listdatastore", func(w, i int) string {
			return fmt.Sprintf(`{"key":["soak","w%d"]}`, w)
		}, http.StatusCreated},
		{"unknown command", "ok", "/v1/nosuchcommand", nil, http.StatusNotFound},
		{"no rune", "none", "/v1/getinfo", nil, http.StatusForbidden},
		{"foreign rune", "foreign", "/v1/getinfo", nil, http.StatusUnauthorized},
	}
}

// httpClient trusts clnrest's CA.
func (t *target) httpClient() (*http.Client, error) {
	pem, err := os.ReadFile(t.caFile)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.caFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", t.caFile)
	}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}, nil
}

// foreignRune is a well-formed rune of another node: lightningd refuses it.
func foreignRune() (string, error) {
	m, err := lightningdtest.NewRuneMaster(make([]byte, 32))
	if err != nil {
		return "", err
	}
	r, err := m.Derive("0")
	if err != nil {
		return "", err
	}
	return r.String(), nil
}

// restLoop sends the REST calls in turn until ctx ends.
func restLoop(ctx context.Context, t *target, counts *counters, worker int) {
	client, err := t.httpClient()
	if err != nil {
		counts.add("unexpected: "+err.Error(), 1)
		return
	}
	defer client.CloseIdleConnections()
	foreign, err := foreignRune()
	if err != nil {
		counts.add("unexpected: "+err.Error(), 1)
		return
	}
	runes := map[string]string{"ok": t.rune, "none": "", "foreign": foreign}
	ops := restOps()
	for i := 0; ctx.Err() == nil; i++ {
		op := ops[i%len(ops)]
		body := ""
		if op.body != nil {
			body = op.body(worker, i/len(ops))
		}
		status, err := post(ctx, client, t.base+op.path, runes[op.rune], body)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			counts.add("unexpected: transport error on "+op.name, 1)
		case status != op.want:
			counts.add(fmt.Sprintf("unexpected: %s got %d, want %d", op.name, status, op.want), 1)
		case status == http.StatusCreated:
			counts.add("201 "+op.name, 1)
		default:
			counts.add(fmt.Sprintf("expected %d %s", status, op.name), 1)
		}
		pause(ctx, 25*time.Millisecond)
	}
}

// post sends one call and reads the whole answer.
func post(ctx context.Context, client *http.Client, url, rune, body string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	if rune != "" {
		req.Header.Set("Rune", rune)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// notifyLoop sends {"soak":{"seq":n}} every interval until ctx ends.
func notifyLoop(ctx context.Context, t *target, counts *counters, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for seq := 0; ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := t.node.Notify("soak", json.RawMessage(`{"seq":`+strconv.Itoa(seq)+`}`)); err != nil {
			counts.add("unexpected: notifying: "+err.Error(), 1)
			continue
		}
		counts.add("notifications sent", 1)
	}
}

// sioConn is a minimal Socket.IO client over one websocket.
type sioConn struct{ c *gws.Conn }

// dialSIO connects with the rune in the Rune header and joins "/".
func (t *target) dialSIO(ctx context.Context) (*sioConn, error) {
	pem, err := os.ReadFile(t.caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	d := gws.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}, HandshakeTimeout: 10 * time.Second,
		NetDialContext: (&net.Dialer{}).DialContext}
	u := strings.Replace(t.base, "http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
	c, res, err := d.DialContext(ctx, u, http.Header{"Rune": {t.rune}})
	if err != nil {
		return nil, fmt.Errorf("dialing Socket.IO: %w", err)
	}
	res.Body.Close()
	s := &sioConn{c: c}
	if p, err := s.read(); err != nil || !strings.HasPrefix(p, "0{") {
		c.Close()
		return nil, fmt.Errorf("Engine.IO OPEN: got %q, %v", p, err)
	}
	if err := c.WriteMessage(gws.TextMessage, []byte("40")); err != nil {
		c.Close()
		return nil, err
	}
	if p, err := s.read(); err != nil || !strings.HasPrefix(p, "40") {
		c.Close()
		return nil, fmt.Errorf("Socket.IO CONNECT: got %q, %v", p, err)
	}
	return s, nil
}

// read returns the next packet, answering pings.
func (s *sioConn) read() (string, error) {
	for {
		_, p, err := s.c.ReadMessage()
		if err != nil {
			return "", err
		}
		if string(p) == "2" {
			if err := s.c.WriteMessage(gws.TextMessage, []byte("3")); err != nil {
				return "", err
			}
			continue
		}
		return string(p), nil
	}
}

// soakSeq finds the number of a soak notification in a packet.
func soakSeq(p string) (int, bool) {
	const key = `42["message",{"soak":{"seq":`
	if !strings.HasPrefix(p, key) {
		return 0, false
	}
	rest := p[len(key):]
	end := strings.IndexByte(rest, '}')
	if end < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(rest[:end])
	return n, err == nil
}
