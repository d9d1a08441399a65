package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/clnrest/clnrest/config"
	"github.com/clnrest/clnrest/lnrpc"
	"github.com/clnrest/clnrest/plugin"
	"github.com/clnrest/clnrest/rest"
	"github.com/clnrest/clnrest/runeauth"
	"github.com/clnrest/clnrest/server"
)

// The in-process gateway: clnrest's REST stack wired as main.go wires it
// (rest.Handler, runeauth, lnrpc, the access log going to lightningd
// through the plugin's log handler, server.Server), in front of a fake
// lightningd that allocates nothing per request, so that allocations and
// CPU profiles count the gateway alone.

// fakeGetinfo is a getinfo result of the size lightningd sends.
const fakeGetinfo = `{"id":"033845802d25b4e074ccfd7cd8b339a41dc75bf9978a034800444b51d42b07799a","alias":"SIMULATEDNODE",` +
	`"color":"033845","num_peers":0,"num_pending_channels":0,"num_active_channels":0,"num_inactive_channels":0,` +
	`"address":[],"binding":[{"type":"ipv4","address":"127.0.0.1","port":9735}],"version":"v26.06","blockheight":101,` +
	`"network":"regtest","fees_collected_msat":0,"lightning-dir":"/tmp/ld/regtest",` +
	`"our_features":{"init":"800898882a8a59a1","node":"808898882a8a59a1","channel":"","invoice":"02000002024100"}}`

// fakeNode is a lightning-rpc server answering checkrune with valid and
// getinfo with fakeGetinfo, and every other method with "Unknown command".
type fakeNode struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex // protects conns
	conns map[net.Conn]struct{}
}

func startFakeNode(path string) (*fakeNode, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	f := &fakeNode{ln: ln, conns: map[net.Conn]struct{}{}}
	f.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns[nc] = struct{}{}
			f.mu.Unlock()
			f.wg.Go(func() { f.serve(nc) })
		}
	})
	return f, nil
}

// Close stops the server and waits for its goroutines.
func (f *fakeNode) Close() {
	_ = f.ln.Close()
	f.mu.Lock()
	for nc := range f.conns {
		_ = nc.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *fakeNode) serve(nc net.Conn) {
	defer func() {
		_ = nc.Close()
		f.mu.Lock()
		delete(f.conns, nc)
		f.mu.Unlock()
	}()
	br := bufio.NewReaderSize(nc, 16<<10)
	var req, out []byte
	for {
		var err error
		if req, err = readObject(br, req[:0]); err != nil {
			return
		}
		out = answer(out[:0], req)
		if _, err := nc.Write(out); err != nil {
			return
		}
	}
}

// answer appends the response to one request.
func answer(out, req []byte) []byte {
	id := memberValue(req, `"id":`)
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, id...)
	switch method := memberValue(req, `"method":`); string(method) {
	case `"checkrune"`:
		out = append(out, `,"result":{"valid":true}}`...)
	case `"getinfo"`:
		out = append(out, `,"result":`...)
		out = append(out, fakeGetinfo...)
		out = append(out, '}')
	default:
		out = append(out, `,"error":{"code":-32601,"message":"Unknown command"}}`...)
	}
	return append(out, "\n\n"...)
}

// memberValue returns the raw scalar value after key in a flat request
// (lnrpc writes id and method as plain strings, before params).
func memberValue(req []byte, key string) []byte {
	i := bytes.Index(req, []byte(key))
	if i < 0 {
		return []byte("null")
	}
	v := req[i+len(key):]
	end := bytes.IndexAny(v, ",}")
	if end < 0 {
		return []byte("null")
	}
	return v[:end]
}

// readObject appends the next top-level JSON object from br to buf.
func readObject(br *bufio.Reader, buf []byte) ([]byte, error) {
	depth, inString, escaped := 0, false, false
	for {
		c, err := br.ReadByte()
		if err != nil {
			return buf, err
		}
		if depth == 0 && c != '{' {
			continue // whitespace between requests
		}
		buf = append(buf, c)
		switch {
		case escaped:
			escaped = false
		case inString:
			escaped = c == '\\'
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				return buf, nil
			}
		}
	}
}

// gateway is clnrest's REST stack in this process.
type gateway struct {
	Handler http.Handler
	rpc     *lnrpc.Client
	logR    *os.File
	logW    *os.File
	drained chan struct{}
}

// newGateway wires clnrest's REST stack to the lightning-rpc socket as
// main.go does. With accessLog, every request's log line goes through the
// plugin's log handler into a pipe, as it goes to lightningd; a goroutine
// reads the pipe.
func newGateway(socket string, accessLog bool) (*gateway, error) {
	origins, err := config.NewOrigins([]string{"*"})
	if err != nil {
		return nil, err
	}
	g := &gateway{rpc: lnrpc.New(socket, lnrpc.Config{})}
	logger := slog.New(slog.DiscardHandler)
	if accessLog {
		if g.logR, g.logW, err = os.Pipe(); err != nil {
			g.rpc.Close()
			return nil, fmt.Errorf("making the log pipe: %w", err)
		}
		g.drained = make(chan struct{})
		go func() {
			defer close(g.drained)
			_, _ = io.Copy(io.Discard, g.logR)
		}()
		p := plugin.New(bytes.NewReader(nil), g.logW, plugin.Config{})
		logger = slog.New(p.LogHandler(slog.LevelDebug))
	}
	g.Handler = rest.NewHandler(rest.Config{
		RPC: g.rpc, Auth: runeauth.NewChecker(g.rpc), Origins: origins, CSP: config.DefaultCSP,
		MaxBody: config.DefaultMaxBody, Paths: &rest.Paths{}, Logger: logger,
	})
	return g, nil
}

// Close releases the pool and the log pipe.
func (g *gateway) Close() {
	g.rpc.Close()
	if g.logW != nil {
		_ = g.logW.Close()
		<-g.drained
		_ = g.logR.Close()
	}
}

// serve runs g on a loopback port with clnrest's server settings; stop
// shuts it down.
func (g *gateway) serve() (addr string, stop func(), err error) {
	srv, err := server.Listen(server.Config{Addr: "127.0.0.1:0", Handler: g.Handler})
	if err != nil {
		return "", nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve()
	}()
	return srv.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

// rawClient is a minimal HTTP/1.1 keep-alive client for one request
// shape, allocation-free once warm: the load generator's own cost stays
// out of the gateway's numbers.
type rawClient struct {
	nc  net.Conn
	br  *bufio.Reader
	req []byte
}

// dialRaw connects to addr (with TLS when tlsConfig is set) for
// POST path with the given rune.
func dialRaw(addr string, tlsConfig *tls.Config, path, rune string) (*rawClient, error) {
	var nc net.Conn
	var err error
	if tlsConfig != nil {
		nc, err = tls.Dial("tcp", addr, tlsConfig)
	} else {
		nc, err = net.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	req := "POST " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nRune: " + rune + "\r\nContent-Length: 0\r\n\r\n"
	return &rawClient{nc: nc, br: bufio.NewReaderSize(nc, 16<<10), req: []byte(req)}, nil
}

// Close closes the connection.
func (c *rawClient) Close() error { return c.nc.Close() }

// errBadResponse is a response the raw client cannot read.
var errBadResponse = errors.New("malformed HTTP response")

// Do sends the request and reads the whole response; it returns the
// status code.
func (c *rawClient) Do() (int, error) {
	if _, err := c.nc.Write(c.req); err != nil {
		return 0, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 {
		return 0, errBadResponse
	}
	status := atoi(line[9:12])
	length, chunked := -1, false
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length = atoi(value)
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		}
	}
	if chunked {
		return status, c.discardChunks()
	}
	if length < 0 {
		return 0, errBadResponse
	}
	_, err = c.br.Discard(length)
	return status, err
}

// discardChunks reads a chunked body to its end.
func (c *rawClient) discardChunks() error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 64)
		if err != nil {
			return errBadResponse
		}
		if _, err := c.br.Discard(int(size) + 2); err != nil {
			return err
		}
		if size == 0 {
			return nil
		}
	}
}

// atoi parses decimal digits; anything else gives -1.
func atoi(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
