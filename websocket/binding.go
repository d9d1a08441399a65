package websocket

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"sync"

	gws "github.com/gorilla/websocket"
)

// The Socket.IO library starts an Engine.IO session (and sends the
// client its OPEN packet, or starts reading its websocket) before the
// Socket.IO layer listens to that session. A client fast enough to
// answer in between, as any client on the same host can be, has its
// CONNECT packet (or its upgrade probe) dropped, and then waits for an
// answer that never comes. The library handles the request that starts
// a session synchronously, up to the point where the Socket.IO layer
// listens, so holding the client's side back until the library's
// ServeHTTP has returned closes the gap:
//   - a polling handshake's response (the OPEN packet) is buffered and
//     sent afterwards: the client cannot send CONNECT before it has it;
//   - a websocket's reads are held until then, for new sessions and for
//     upgrades of polling sessions alike.

// serveHeld serves r through next, holding the client back as described
// above.
func serveHeld(next http.Handler, w http.ResponseWriter, r *http.Request) {
	switch {
	case gws.IsWebSocketUpgrade(r):
		if hj, ok := w.(http.Hijacker); ok {
			hw := &heldReads{ResponseWriter: w, hijacker: hj, gate: make(chan struct{})}
			defer close(hw.gate)
			next.ServeHTTP(hw, r)
			return
		}
	case r.Method == http.MethodGet && r.URL.Query().Get("sid") == "":
		bw := &bufferedResponse{ResponseWriter: w}
		next.ServeHTTP(bw, r)
		bw.flush()
		return
	}
	next.ServeHTTP(w, r)
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
// polling response in one call, from its own goroutine, and the request
// ends once that call has returned.
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

func (b *bufferedResponse) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.status == 0 {
		return
	}
	b.ResponseWriter.WriteHeader(b.status)
	_, _ = b.ResponseWriter.Write(b.body.Bytes())
}
