package websocket

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// This file is the only one that knows the Socket.IO library, apart
// from the two workarounds for its bugs beside it (unpin.go and
// heartbeat.go). It is a single-maintainer port with a large dependency
// tree; keeping it behind sioServer and peer means it can be replaced
// without touching the hub.

const (
	// maxClientPayload bounds what a client may send in one message or
	// polling request. Clients only ever send their CONNECT packet (with
	// the auth payload) and pongs; their own events are ignored.
	maxClientPayload = 64 << 10
	// connectTimeout closes Engine.IO connections that never ask to join
	// a namespace.
	connectTimeout = 20 * time.Second
	// disconnectGrace bounds the wait for a DISCONNECT packet to be
	// written before the session is closed anyway.
	disconnectGrace = 2 * time.Second
	// disconnectPacket is Socket.IO's DISCONNECT for namespace "/".
	disconnectPacket = "1"
	// pingInterval and pingTimeout are Engine.IO's heartbeat, as
	// python-socketio (upstream clnrest's server) has it: a PING every
	// 25 s, and the session ends unless its PONG comes within 20 s.
	// Clients read both from the handshake.
	pingInterval = 25 * time.Second
	pingTimeout  = 20 * time.Second
)

// heartbeat is the Engine.IO ping interval and timeout; tests shorten
// them. Zero fields mean pingInterval and pingTimeout.
type heartbeat struct {
	interval, timeout time.Duration
}

// handshake is what a connecting socket presents.
type handshake struct {
	// Header holds the headers of the request that opened the Engine.IO
	// session (canonicalized by net/http, so lookups ignore letter case).
	Header http.Header
	// Auth is the CONNECT packet's auth payload; nil when none was sent.
	Auth map[string]any
}

// refusal is why a socket may not join: the client's connect_error has
// Message as its message and the whole refusal as its data.
type refusal struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
	// unreachable marks the refusal given when lightningd could not be
	// asked, as opposed to lightningd refusing the rune.
	unreachable bool
}

// sioEvents are the hub's answers to the Socket.IO server.
type sioEvents struct {
	// admit decides whether a connecting socket may join. It must call
	// decide exactly once, from any goroutine, with either an admission
	// (passed on to joined) or a refusal.
	admit func(hs handshake, decide func(admission any, r *refusal))
	// joined is called once an admitted socket is connected.
	joined func(p peer, admission any)
	// left is called when a joined socket disconnects, with the
	// library's reason; it may be called more than once per socket.
	left func(p peer, reason string)
}

// sioServer is a Socket.IO v4 (Engine.IO 4) server for namespace "/",
// with the polling and websocket transports and upgrades between them.
// It handles no CORS itself: the REST server in front does.
type sioServer struct {
	srv   *socket.Server
	front *front
}

func newSIOServer(ev sioEvents, hb heartbeat) (*sioServer, error) {
	if hb.interval == 0 {
		hb.interval = pingInterval
	}
	if hb.timeout == 0 {
		hb.timeout = pingTimeout
	}
	opts := socket.DefaultServerOptions()
	opts.SetPingInterval(hb.interval)
	opts.SetPingTimeout(hb.timeout)
	opts.SetServeClient(false)
	opts.SetTransports(types.NewSet(engine.Polling, engine.WebSocket))
	opts.SetAllowUpgrades(true)
	opts.SetMaxHttpBufferSize(maxClientPayload)
	opts.SetConnectTimeout(connectTimeout)
	srv := socket.NewServer(nil, opts)

	srv.Use(func(s *socket.Socket, next func(*socket.ExtendedError)) {
		hs := handshake{Header: s.Request().Request().Header, Auth: s.Handshake().Auth}
		ev.admit(hs, func(admission any, r *refusal) {
			if r != nil {
				next(socket.NewExtendedError(r.Message, r))
				return
			}
			s.SetData(admission)
			next(nil)
		})
	})
	_ = srv.On("connection", func(args ...any) {
		s, ok := firstSocket(args)
		if !ok {
			return
		}
		guardHeartbeat(s.Conn(), hb.timeout)
		p := peer{s: s}
		_ = s.On("disconnect", func(reasons ...any) {
			reason, _ := firstString(reasons)
			ev.left(p, reason)
		})
		ev.joined(p, s.Data())
		// A socket that closed before the listener above was attached
		// never fires it; the hub's left is idempotent either way.
		if !s.Connected() {
			ev.left(p, "transport close")
		}
	})
	eio, ok := srv.ServeHandler(nil).(engine.Server)
	if !ok {
		return nil, errors.New("the Socket.IO library's handler is not its Engine.IO server")
	}
	return &sioServer{srv: srv, front: newFront(eio)}, nil
}

func firstSocket(args []any) (*socket.Socket, bool) {
	if len(args) == 0 {
		return nil, false
	}
	s, ok := args[0].(*socket.Socket)
	return s, ok && s != nil
}

func firstString(args []any) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}

func (s *sioServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.front.ServeHTTP(w, r)
}

// Close disconnects every socket, closes every Engine.IO session and
// ends every pending poll.
func (s *sioServer) Close() {
	s.srv.Close(nil)
	s.front.close()
}

// peer is one connected socket of namespace "/".
type peer struct{ s *socket.Socket }

// ID is the Socket.IO socket id (not the Engine.IO session id, which is
// a secret of the client).
func (p peer) ID() string { return string(p.s.Id()) }

// Transport names the transport in use: "polling" or "websocket".
func (p peer) Transport() string {
	if t := p.s.Conn().Transport(); t != nil {
		return t.Name()
	}
	return ""
}

// OnUpgrade calls fn with the new transport's name when the client
// upgrades from polling.
func (p peer) OnUpgrade(fn func(transport string)) {
	_ = p.s.Conn().On("upgrade", func(...any) { fn(p.Transport()) })
}

// release closes the websocket under a socket that has disconnected.
// When the client goes away first, the library marks the transport
// closed before it asks the transport to close, which then does nothing
// (engine's socket.clearTransport after transport.OnClose): the
// connection and the transport's writer goroutine would stay for ever,
// one of each per client that ever dropped its connection. Closing an
// already closed websocket transport again is harmless. It must not run
// inside the library's disconnect event: closing emits the websocket's
// "close" again, whose one-time listener is the one still running, and
// that waits for itself.
func (p peer) release() {
	t := p.s.Conn().Transport()
	if t != nil && t.Name() == "websocket" {
		t.DoClose(nil)
	}
	unpinQueue(p.s, "taskQueue")
	if t != nil {
		unpinQueue(t, "writeQueue")
	}
}

// Send writes one encoded Socket.IO packet (see encodeMessage). It never
// blocks: the packet joins the Engine.IO session's write buffer. sent
// runs once the transport has written the batch that carries it, which
// is how the hub knows how far behind a client is; it never runs if the
// session closes first.
func (p peer) Send(packet string, sent func()) {
	p.s.Conn().Write(strings.NewReader(packet), nil, func(transports.Transport) { sent() })
}

// Disconnect ends the socket's session. Unless force, the client is
// first sent a DISCONNECT packet, so that it does not reconnect on its
// own, and Disconnect waits until it is written (at most
// disconnectGrace, or until ctx ends). With force, or after that, the
// session is closed and whatever is still buffered is dropped: for a
// client that stopped reading, an orderly close would wait for a write
// that never completes. (The library's own Socket.Disconnect closes the
// websocket before its DISCONNECT packet is written.)
func (p peer) Disconnect(ctx context.Context, force bool) {
	if !force {
		written := make(chan struct{})
		var once sync.Once
		p.s.Conn().Write(strings.NewReader(disconnectPacket), nil, func(transports.Transport) {
			once.Do(func() { close(written) })
		})
		t := time.NewTimer(disconnectGrace)
		select {
		case <-written:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	p.s.Conn().Close(true)
}

// encodeMessage returns the Socket.IO EVENT packet for event "message"
// with params as its one argument, for namespace "/":
// 2["message",<params>]. params is compacted but otherwise kept byte for
// byte, so numbers (u64 msat amounts) reach clients exactly as lightningd
// wrote them. It is encoded once per notification and shared by every
// client. Invalid UTF-8 is replaced, since a websocket text frame with
// it would make browsers drop the connection.
func encodeMessage(params json.RawMessage) (string, error) {
	if !utf8.Valid(params) {
		params = []byte(strings.ToValidUTF8(string(params), "\uFFFD"))
	}
	var b bytes.Buffer
	b.Grow(len(params) + 16)
	b.WriteString(`2["message",`)
	if err := json.Compact(&b, params); err != nil {
		return "", fmt.Errorf("encoding notification %.200q: %w", params, err)
	}
	b.WriteByte(']')
	return b.String(), nil
}
