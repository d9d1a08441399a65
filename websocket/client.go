package websocket

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// maxInflight bounds the packets handed to a socket's session and not
// yet written, per client. The session keeps a few hundred bytes of
// state per packet, so the rest of what a client is behind stays in the
// hub's shared feed, where it costs nothing per client.
const maxInflight = 256

// client is one admitted socket and its cursor in the hub's feed. Its
// own pump goroutine hands the packets from the cursor on to the
// socket's session, at most maxInflight at a time; how far behind the
// client is counts both what it has not been handed yet and what the
// session has not written, so a client that stops reading falls behind
// whichever transport it uses.
type client struct {
	peer   peer
	rune   string
	runeID string

	// cursor is the sequence number of the next packet to hand out.
	cursor atomic.Uint64
	// inflight counts packets handed to the session and not yet written.
	inflight atomic.Int64
	// progress is when (UnixNano) a packet was last written, or when
	// packets were handed to an idle session: see stalled.
	progress atomic.Int64

	mu     sync.Mutex // protects reason and force
	reason string     // why the hub ends this client; "" while it doesn't
	force  bool       // drop what is buffered rather than flush it

	wake     chan struct{} // capacity 1: there may be packets to hand out
	kick     chan struct{} // closed when the hub ends this client
	done     chan struct{} // closed when the socket has left
	doneOnce sync.Once
}

func newClient(p peer, a *admission, cursor uint64) *client {
	c := &client{
		peer: p, rune: a.rune, runeID: a.runeID,
		wake: make(chan struct{}, 1),
		kick: make(chan struct{}),
		done: make(chan struct{}),
	}
	c.cursor.Store(cursor)
	return c
}

// behind is how many packets up to head the client has not written yet.
func (c *client) behind(head uint64) int64 {
	return int64(head-c.cursor.Load()) + c.inflight.Load()
}

// signal wakes the pump without ever blocking.
func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// end asks the pump to disconnect the client; reason is logged when it
// has left. The first reason wins.
func (c *client) end(reason string, force bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != "" {
		return
	}
	c.reason, c.force = reason, force
	close(c.kick)
}

// ending returns the reason the hub gave to end the client, if any.
func (c *client) ending() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// left marks the socket as gone, which stops the pump.
func (c *client) left() { c.doneOnce.Do(func() { close(c.done) }) }

// pump hands packets from the feed to the socket, in order, until the
// socket leaves, the hub ends the client, or ctx ends. With stall > 0, a
// client that has had packets in flight without writing any for stall
// is ended as too slow.
func (c *client) pump(ctx context.Context, f *feed, stall time.Duration) {
	var tick <-chan time.Time
	if stall > 0 {
		t := time.NewTicker(max(stall/4, time.Millisecond))
		defer t.Stop()
		tick = t.C
	}
	batch := make([]string, 0, maxInflight)
	for {
		if !c.handOut(f, &batch) {
			c.end("too slow: fell out of the notification queue", true)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case <-c.kick:
			c.mu.Lock()
			force := c.force
			c.mu.Unlock()
			c.peer.Disconnect(ctx, force)
			return
		case <-c.wake:
		case now := <-tick:
			if c.stalled(now, stall) {
				c.end(fmt.Sprintf("too slow: nothing written for %s", stall), true)
			}
		}
	}
}

// stalled reports whether the client has a full window of packets in
// flight and has written none of them for longer than stall. A full
// window, not just any packet in flight, because the library can attach
// a packet's written callback to a later write (two goroutines append
// to its packet and callback lists without one lock), so a client that
// is merely idle after a burst may show a packet or two in flight until
// the next notification.
func (c *client) stalled(now time.Time, stall time.Duration) bool {
	return c.inflight.Load() >= maxInflight && now.Sub(time.Unix(0, c.progress.Load())) > stall
}

// handOut gives the session the packets after the cursor, as many as
// maxInflight allows. It reports false when the feed has dropped packets
// the client had not been handed: it fell too far behind.
func (c *client) handOut(f *feed, batch *[]string) bool {
	room := maxInflight - int(c.inflight.Load())
	if room <= 0 {
		return true
	}
	b, next, ok := f.read(c.cursor.Load(), room, (*batch)[:0])
	*batch = b
	if !ok || len(b) == 0 {
		return ok
	}
	if c.inflight.Load() == 0 {
		c.progress.Store(time.Now().UnixNano())
	}
	// The cursor moves before inflight grows, so behind may briefly
	// count a batch short, never long: no client is ended early.
	c.cursor.Store(next)
	c.inflight.Add(int64(len(b)))
	for i, packet := range b {
		c.peer.Send(packet, c.sent)
		b[i] = ""
	}
	return true
}

// sent runs once per packet the transport has written.
func (c *client) sent() {
	c.progress.Store(time.Now().UnixNano())
	c.inflight.Add(-1)
	c.signal()
}

// joined registers an admitted socket and starts its pump.
func (h *Hub) joined(p peer, a any) {
	adm, ok := a.(*admission)
	if !ok {
		// Only admitted sockets join; this would be a library bug.
		h.log.Warn("Socket.IO: a socket joined without admission", "socket_id", p.ID())
		p.Disconnect(h.ctx, true)
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		p.Disconnect(h.ctx, true)
		return
	}
	// Publish appends under h.mu's read lock, so no notification falls
	// between the head read here and the client's registration.
	c := newClient(p, adm, h.feed.head())
	h.clients[p.ID()] = c
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		c.pump(h.ctx, &h.feed, h.stall)
	}()
	h.log.Info("Socket.IO client connected", "socket_id", p.ID(), "transport", p.Transport(), "rune_id", c.runeID)
	p.OnUpgrade(func(transport string) {
		h.log.Debug("Socket.IO client upgraded", "socket_id", p.ID(), "transport", transport)
	})
}

// left unregisters a socket that disconnected, for whatever reason, and
// logs why. It is idempotent.
func (h *Hub) left(p peer, reason string) {
	h.mu.Lock()
	c := h.clients[p.ID()]
	delete(h.clients, p.ID())
	h.mu.Unlock()
	if c == nil {
		return
	}
	c.left()
	h.spawn(p.release)
	if ours := c.ending(); ours != "" {
		reason = ours
	}
	h.log.Info("Socket.IO client disconnected", "socket_id", p.ID(), "rune_id", c.runeID, "reason", reason)
}
