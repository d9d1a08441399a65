package lnrpc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLightningd answers JSON-RPC requests on a unix socket the way
// lightningd does: one response per request, in order, each followed by
// "\n\n". Its methods are listed in answer.
type fakeLightningd struct {
	path string
	ln   *net.UnixListener
	wg   sync.WaitGroup
	// hungUp receives one value each time a "hang" request sees the client
	// close its connection.
	hungUp chan struct{}

	mu       sync.Mutex // protects conns, accepted, closed and requests
	conns    map[net.Conn]struct{}
	accepted int // connections accepted so far
	closed   int // connections that ended, from either side
	requests []fakeRequest
}

// fakeRequest is a request as the fake server decoded it.
type fakeRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// errHangUp makes the fake server close the connection.
var errHangUp = errors.New("fake lightningd hangs up")

// socketPath returns a fresh socket path short enough for sun_path (108 bytes).
func socketPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lnrpc")
	if err != nil {
		t.Fatalf("creating socket dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, "lightning-rpc")
}

// startFake listens on path and serves until the test ends or stop is called.
func startFake(t testing.TB, path string) *fakeLightningd {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatalf("listening on %s: %v", path, err)
	}
	f := &fakeLightningd{path: path, ln: ln, conns: map[net.Conn]struct{}{}, hungUp: make(chan struct{}, 64)}
	f.wg.Add(1)
	go f.acceptLoop()
	t.Cleanup(f.stop)
	return f
}

func (f *fakeLightningd) acceptLoop() {
	defer f.wg.Done()
	for {
		nc, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns[nc] = struct{}{}
		f.accepted++
		f.mu.Unlock()
		f.wg.Add(1)
		go f.serve(nc)
	}
}

// stop closes the listener (removing the socket file) and every connection,
// and waits for the server's goroutines. It is idempotent.
func (f *fakeLightningd) stop() {
	_ = f.ln.Close()
	f.mu.Lock()
	for nc := range f.conns {
		_ = nc.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *fakeLightningd) serve(nc net.Conn) {
	defer f.wg.Done()
	defer func() {
		_ = nc.Close()
		f.mu.Lock()
		delete(f.conns, nc)
		f.closed++
		f.mu.Unlock()
	}()
	dec := json.NewDecoder(nc)
	w := bufio.NewWriter(nc)
	for {
		var req fakeRequest
		if err := dec.Decode(&req); err != nil {
			return
		}
		f.mu.Lock()
		f.requests = append(f.requests, req)
		f.mu.Unlock()
		err := f.answer(w, req, nc)
		if ferr := w.Flush(); err != nil || ferr != nil {
			return
		}
	}
}

// answer writes the response to req. Methods:
//
//	echo    result = params
//	slow    result = params, after a millisecond
//	fail    error = params
//	raw     params is a JSON string written verbatim, with $ID replaced by the id
//	big     params {"elements": n}: a result of n 1 KiB string elements
//	hang    no answer; waits for the client to close, then signals hungUp
//	partial writes the start of a big result, then hangs like hang
//	cut     writes half a response and closes the connection
//	drop    closes the connection without answering
func (f *fakeLightningd) answer(w *bufio.Writer, req fakeRequest, nc net.Conn) error {
	id := string(req.ID)
	switch req.Method {
	case "echo", "slow":
		if req.Method == "slow" {
			time.Sleep(time.Millisecond)
		}
		_, err := fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`+"\n\n", id, req.Params)
		return err
	case "fail":
		_, err := fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":%s}`+"\n\n", id, req.Params)
		return err
	case "raw":
		var tmpl string
		if err := json.Unmarshal(req.Params, &tmpl); err != nil {
			return err
		}
		_, err := w.WriteString(strings.ReplaceAll(tmpl, "$ID", id))
		return err
	case "big":
		var p struct{ Elements int }
		if err := json.Unmarshal(req.Params, &p); err != nil {
			return err
		}
		return writeBig(w, id, p.Elements)
	case "hang", "partial":
		if req.Method == "partial" {
			_, _ = fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":[%s`, id, bigElement())
			_ = w.Flush()
		}
		_, _ = io.Copy(io.Discard, nc)
		f.hungUp <- struct{}{}
		return errHangUp
	case "cut":
		_, _ = fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"half":`, id)
		return errHangUp
	case "drop":
		return errHangUp
	}
	msg, _ := json.Marshal("Unknown command '" + req.Method + "'") // marshalling a string cannot fail
	_, err := fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":%s}}`+"\n\n", id, msg)
	return err
}

// bigElement is one element of a "big" result: 1 KiB, with escapes and
// brackets inside the string to exercise the scanner.
func bigElement() string {
	return `"` + strings.Repeat(`ab\"c}{][d\\`, 85) + `xyzw"`
}

// bigResultLen is the length of the result value "big" writes for n elements.
func bigResultLen(n int) int64 {
	return int64(len(`[`) + n*(len(bigElement())+1) - 1 + len(`]`))
}

// writeBig writes a response whose result is an array of n bigElements,
// generated on the fly from one reused chunk so that the server allocates
// nothing per element.
func writeBig(w *bufio.Writer, id string, n int) error {
	if _, err := fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":[`, id); err != nil {
		return err
	}
	const perChunk = 64
	chunk := []byte(strings.Repeat(bigElement()+",", perChunk))
	for n > perChunk {
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		n -= perChunk
	}
	if n > 0 {
		if _, err := w.Write(chunk[:n*(len(bigElement())+1)-1]); err != nil {
			return err
		}
	}
	_, err := w.WriteString("]}\n\n")
	return err
}

// counts returns how many connections were accepted and how many ended.
func (f *fakeLightningd) counts() (accepted, closed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.accepted, f.closed
}

// lastRequest returns the most recent request.
func (f *fakeLightningd) lastRequest(t testing.TB) fakeRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		t.Fatal("fake lightningd got no request")
	}
	return f.requests[len(f.requests)-1]
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newClient returns a client that is closed when the test ends.
func newClient(t testing.TB, path string, cfg Config) *Client {
	t.Helper()
	c := New(path, cfg)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
