package websocket

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	gws "github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// front is the HTTP side of the Socket.IO library, with workarounds for
// four of its flaws, each of which breaks real clients:
//
//  1. It starts an Engine.IO session (sends the OPEN packet, or starts
//     reading the websocket) before its Socket.IO layer listens to that
//     session. A client that answers at once, as any client on the same
//     host can, has its CONNECT packet or upgrade probe dropped and waits
//     for ever. The library handles the request that starts a session
//     synchronously up to the point where that layer listens, so front
//     holds the client back until then: a polling handshake's response is
//     sent once the library is done with the request (see 4), and a
//     websocket's reads wait until then.
//  2. It sets a field of a long poll's context without synchronisation
//     while its own watcher goroutine may read it as soon as the
//     request's context ends: a data race whenever a client goes away in
//     the middle of a poll. front gives each poll a context of its own,
//     which it ends only after the library has finished setting it up.
//  3. When it closes a session from the server side while a poll is
//     pending, it drops its own CLOSE packet and leaves that poll
//     hanging. front ends the pending polls of a closed session itself,
//     answering them with a CLOSE packet, and ends every poll at Close so
//     that a server shutdown does not wait for them.
//  4. It clears a polling transport's pending request after it has
//     released the response; a client quick to poll again has its new
//     request cleared instead, and the session fails at the next write.
//     front sends a poll's response only once the library is done.
type front struct {
	eio engine.Server

	// ctx ends at close, ending every pending poll.
	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex                    // protects polls
	polls map[string]map[*poll]struct{} // pending polls by session id
}

// poll is one pending long-polling request.
type poll struct {
	end   chan struct{} // closed when the session has ended
	ended sync.Once
}

func newFront(eio engine.Server) *front {
	f := &front{eio: eio, polls: make(map[string]map[*poll]struct{})}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	_ = eio.On("connection", func(args ...any) {
		if len(args) == 0 {
			return
		}
		if s, ok := args[0].(engine.Socket); ok {
			sid := s.Id()
			_ = s.Once("close", func(...any) { f.endSession(sid) })
		}
	})
	return f
}

func (f *front) close() { f.cancel() }

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case gws.IsWebSocketUpgrade(r):
		hj, ok := w.(http.Hijacker)
		if !ok {
			break
		}
		hw := &heldReads{ResponseWriter: w, hijacker: hj, gate: make(chan struct{})}
		defer close(hw.gate)
		f.eio.ServeHTTP(hw, r)
		return
	case r.Method == http.MethodGet:
		f.servePoll(w, r)
		return
	}
	f.eio.ServeHTTP(w, r)
}

// servePoll serves a polling GET: a handshake (no sid) or a long poll.
// Its response is held until the library has fully finished with the
// request, including the clean-up that clears the transport's pending
// request (flaw 4): a client that got the response earlier could send
// its next poll first, and have it wiped.
func (f *front) servePoll(w http.ResponseWriter, r *http.Request) {
	sid := r.URL.Query().Get("sid")
	bw := &bufferedResponse{ResponseWriter: w}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	hctx := types.NewHttpContext(bw, r.WithContext(ctx))
	finished := make(chan struct{})
	var finish sync.Once
	_ = hctx.On("close", func(...any) { finish.Do(func() { close(finished) }) })
	ours := hctx.ListenerCount("close")
	p := f.register(sid)
	defer f.unregister(sid, p)

	served := make(chan struct{})
	var ended bool // by the server: the session closed, or the hub did
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-served:
			return
		case <-r.Context().Done():
		case <-f.ctx.Done():
			ended = true
		case <-p.end:
			ended = true
		}
		if settled(hctx, ours, served) {
			cancel()
		}
	}()
	f.eio.HandleRequest(hctx)
	close(served)
	<-watched
	select {
	case <-finished:
	case <-time.After(time.Second):
	}
	if ended && !bw.written() {
		// An Engine.IO CLOSE packet, which the library meant to send.
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		_, _ = bw.Write([]byte("1"))
	}
	bw.flush()
}

// settled waits until the library has set up the poll's context (it has
// registered its own "close" listener, next to ours, which comes after
// the unsynchronised write) or answered the request, and reports true;
// or false when served closes first. Reading the listener count
// synchronises with that write.
func settled(hctx *types.HttpContext, ours int, served <-chan struct{}) bool {
	for {
		if hctx.IsDone() || hctx.ListenerCount("close") > ours {
			return true
		}
		select {
		case <-served:
			return false
		case <-time.After(time.Millisecond):
		}
	}
}

func (f *front) register(sid string) *poll {
	p := &poll{end: make(chan struct{})}
	if sid == "" {
		return p
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.polls[sid] == nil {
		f.polls[sid] = make(map[*poll]struct{})
	}
	f.polls[sid][p] = struct{}{}
	return p
}

func (f *front) unregister(sid string, p *poll) {
	if sid == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.polls[sid], p)
	if len(f.polls[sid]) == 0 {
		delete(f.polls, sid)
	}
}

// endSession ends the pending polls of a session that closed.
func (f *front) endSession(sid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for p := range f.polls[sid] {
		p.ended.Do(func() { close(p.end) })
	}
}

// heldReads hands out, on Hijack, a connection whose reads wait for gate.
type heldReads struct {
	http.ResponseWriter
	hijacker http.Hijacker
	gate     chan struct{}
}

func (h *heldReads) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := h.hijacker.Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &heldConn{Conn: c, gate: h.gate}, rw, nil
}

type heldConn struct {
	net.Conn
	gate <-chan struct{}
}

func (c *heldConn) Read(p []byte) (int, error) {
	<-c.gate
	return c.Conn.Read(p)
}

// bufferedResponse keeps a response until flush. The library writes a
// polling response in one call.
type bufferedResponse struct {
	http.ResponseWriter
	mu     sync.Mutex // protects status and body
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) WriteHeader(status int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) written() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status != 0
}

func (b *bufferedResponse) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.status == 0 {
		return
	}
	b.ResponseWriter.WriteHeader(b.status)
	_, _ = b.ResponseWriter.Write(b.body.Bytes())
}
