package websocket

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// client is one admitted socket with its queue of notifications. Publish
// appends to the queue; the client's own pump goroutine hands the queue
// to the socket's session. The queue bound counts both what waits here
// and what the session has not yet written, so a client that stops
// reading fills it whichever transport it uses.
type client struct {
	peer   peer
	rune   string
	runeID string
	limit  int

	// inflight counts packets handed to the session and not yet written.
	inflight atomic.Int64

	mu      sync.Mutex // protects backlog, reason and force
	backlog []string
	reason  string // why the hub ends this client; "" while it doesn't
	force   bool   // drop what is buffered rather than flush it

	wake     chan struct{} // capacity 1: the backlog has packets
	kick     chan struct{} // closed when the hub ends this client
	done     chan struct{} // closed when the socket has left
	doneOnce sync.Once
}

func newClient(p peer, a *admission, limit int) *client {
	return &client{
		peer: p, rune: a.rune, runeID: a.runeID, limit: limit,
		wake: make(chan struct{}, 1),
		kick: make(chan struct{}),
		done: make(chan struct{}),
	}
}

// offer queues one encoded packet, or ends the client when its queue is
// full. It never blocks on the client.
func (c *client) offer(packet string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != "" {
		return
	}
	if n := len(c.backlog) + int(c.inflight.Load()); n >= c.limit {
		c.endLocked(fmt.Sprintf("too slow: %d notifications queued", n), true)
		return
	}
	c.backlog = append(c.backlog, packet)
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
	c.endLocked(reason, force)
}

func (c *client) endLocked(reason string, force bool) {
	if c.reason != "" {
		return
	}
	c.reason, c.force = reason, force
	c.backlog = nil
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

// pump writes queued packets to the socket, in order, until the socket
// leaves, the hub ends the client, or ctx ends.
func (c *client) pump(ctx context.Context) {
	var batch []string
	for {
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
		}
		c.mu.Lock()
		batch, c.backlog = c.backlog, batch[:0]
		c.inflight.Add(int64(len(batch)))
		c.mu.Unlock()
		for i, packet := range batch {
			c.peer.Send(packet, c.sent)
			batch[i] = ""
		}
	}
}

func (c *client) sent() { c.inflight.Add(-1) }

// joined registers an admitted socket and starts its pump.
func (h *Hub) joined(p peer, a any) {
	adm, ok := a.(*admission)
	if !ok {
		// Only admitted sockets join; this would be a library bug.
		h.log.Warn("Socket.IO: a socket joined without admission", "socket_id", p.ID())
		p.Disconnect(h.ctx, true)
		return
	}
	c := newClient(p, adm, h.queueSize)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		p.Disconnect(h.ctx, true)
		return
	}
	h.clients[p.ID()] = c
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		c.pump(h.ctx)
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
	if ours := c.ending(); ours != "" {
		reason = ours
	}
	h.log.Info("Socket.IO client disconnected", "socket_id", p.ID(), "rune_id", c.runeID, "reason", reason)
}
