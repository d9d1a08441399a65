package lnrpc

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// get checks out one connection for exclusive use: the most recently used
// idle one, else a new one while fewer than MaxConns are open, else the next
// one another call gives back (waiting honours ctx).
func (c *Client) get(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		if n := len(c.idle); n > 0 {
			cn := c.idle[n-1]
			c.idle[n-1] = nil
			c.idle = c.idle[:n-1]
			c.mu.Unlock()
			cn.reused = true
			return cn, nil
		}
		if c.open < c.cfg.MaxConns {
			c.open++
			c.mu.Unlock()
			return c.dial(ctx)
		}
		wait := make(chan *conn, 1)
		c.waiters = append(c.waiters, wait)
		c.mu.Unlock()
		select {
		case cn := <-wait:
			if cn != nil {
				cn.reused = true
				return cn, nil
			}
			// nil: a slot was freed or the client closed; look again.
		case <-ctx.Done():
			c.abandon(wait)
			return nil, ctx.Err()
		}
	}
}

// dial opens a new connection in a slot already counted in c.open.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	nc, err := c.connect(ctx)
	if err != nil {
		c.freeSlot()
		return nil, err
	}
	cn := newConn(nc)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = nc.Close()
		c.freeSlot()
		return nil, ErrClosed
	}
	c.conns[cn] = struct{}{}
	c.mu.Unlock()
	return cn, nil
}

// connect dials lightningd with at most maxDials connects in progress,
// retrying while its listen backlog is full (EAGAIN) until ctx ends.
func (c *Client) connect(ctx context.Context) (net.Conn, error) {
	select {
	case c.dials <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.dials }()
	var d net.Dialer
	backoff := time.Millisecond
	for {
		nc, err := d.DialContext(ctx, "unix", c.path)
		if err == nil || !errors.Is(err, syscall.EAGAIN) {
			return nc, err
		}
		select {
		case <-time.After(backoff):
			backoff = min(2*backoff, 50*time.Millisecond)
		case <-ctx.Done():
			return nil, err
		}
	}
}

// put returns a healthy connection: to a waiting call first, else to the idle
// set while it holds fewer than MaxIdle, else it is closed.
func (c *Client) put(cn *conn) {
	c.mu.Lock()
	if !c.closed {
		if w := c.nextWaiter(); w != nil {
			c.mu.Unlock()
			w <- cn // buffered, and each waiter is handed at most one value
			return
		}
		if len(c.idle) < c.cfg.MaxIdle {
			cn.idleSince = time.Now()
			c.idle = append(c.idle, cn)
			c.mu.Unlock()
			return
		}
	}
	c.mu.Unlock()
	c.discard(cn)
}

// discard closes a connection that must not be reused (broken, stale,
// cancelled mid-call, surplus) and frees its slot.
func (c *Client) discard(cn *conn) {
	_ = cn.nc.Close()
	c.mu.Lock()
	delete(c.conns, cn)
	c.mu.Unlock()
	c.freeSlot()
}

// freeSlot gives up one counted slot and wakes the longest-waiting call,
// which then looks for a connection again.
func (c *Client) freeSlot() {
	c.mu.Lock()
	c.open--
	w := c.nextWaiter()
	c.mu.Unlock()
	wake(w)
}

// nextWaiter removes and returns the longest-waiting call, or nil. c.mu must
// be held.
func (c *Client) nextWaiter() chan *conn {
	if len(c.waiters) == 0 {
		return nil
	}
	w := c.waiters[0]
	c.waiters[0] = nil
	c.waiters = c.waiters[1:]
	return w
}

// wake tells a waiting call (if any) to look for a connection again.
func wake(w chan *conn) {
	if w != nil {
		w <- nil // buffered, and each waiter is handed at most one value
	}
}

// abandon withdraws a waiting call whose context ended. If something was
// already handed to it, that is passed on so that no connection or wake-up is
// lost.
func (c *Client) abandon(wait chan *conn) {
	c.mu.Lock()
	for i, w := range c.waiters {
		if w == wait {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			c.mu.Unlock()
			return
		}
	}
	c.mu.Unlock()
	if cn := <-wait; cn != nil {
		c.put(cn)
		return
	}
	c.mu.Lock()
	w := c.nextWaiter()
	c.mu.Unlock()
	wake(w)
}

// reap closes idle connections older than timeout every interval until stop
// is closed. It is the Client's only goroutine; Close stops and waits for it.
func (c *Client) reap(interval, timeout time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			c.closeIdleBefore(now.Add(-timeout))
		}
	}
}

// closeIdleBefore closes the idle connections returned before cutoff. The
// idle set is ordered oldest first, since put appends and get takes the end.
func (c *Client) closeIdleBefore(cutoff time.Time) {
	c.mu.Lock()
	n := 0
	for n < len(c.idle) && c.idle[n].idleSince.Before(cutoff) {
		n++
	}
	stale := make([]*conn, n)
	copy(stale, c.idle[:n])
	rest := copy(c.idle, c.idle[n:])
	clear(c.idle[rest:])
	c.idle = c.idle[:rest]
	for _, cn := range stale {
		delete(c.conns, cn)
	}
	c.open -= n
	c.mu.Unlock()
	for _, cn := range stale {
		_ = cn.nc.Close()
	}
}
