// Package lnrpc is the client for lightningd's JSON-RPC unix socket
// (lightning-rpc): it sends JSON-RPC 2.0 requests over a pool of persistent
// connections and hands results back as raw JSON, either buffered or as a
// stream, with numbers never passing through float64.
//
// Each call checks out one connection for its whole duration and reads
// exactly one response from it. Exclusive checkout is deliberate: a result
// being streamed to a slow HTTP client then holds up only its own connection,
// never other calls (no head-of-line blocking), and a call that blocks inside
// lightningd, such as waitanyinvoice, ties up exactly one connection.
package lnrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxConns is Config.MaxConns when it is zero.
const DefaultMaxConns = 512

// maxDials bounds the connects in progress at once. lightningd listens
// with a backlog of 128 (listen(fd, 128) in lightningd/jsonrpc.c); a
// non-blocking connect to a full backlog fails at once with EAGAIN,
// "Resource temporarily unavailable", the error upstream clnrest shows
// under load. Staying well below the backlog, and retrying EAGAIN, keeps
// a burst from ever showing it.
const maxDials = 32

// Config tunes a Client. The zero value gives the defaults.
type Config struct {
	// MaxConns caps the connections open at once, idle and in use. A call
	// that finds every connection busy waits for one, honouring its context.
	// Each call holds a connection until its answer is read, so this is
	// also how many calls can wait on lightningd at once: it must stay well
	// above the number of long calls (waitanyinvoice, waitblockheight) that
	// clients may leave pending, or they would starve everyone else. Zero
	// means 512, far below lightningd's file descriptor limit, which it
	// raises to the system maximum at start.
	MaxConns int
	// MaxIdle is how many unused connections are kept open for reuse;
	// connections given back beyond it are closed. Zero means MaxConns, a
	// negative value keeps none; it is capped at MaxConns. Keeping as many
	// as can be open matters under load: with fewer, a steady stream of
	// concurrent requests keeps closing connections as calls end and
	// dialling new ones as calls start (each dial costs a connect, an
	// accept in lightningd and a fresh 68 KiB of buffers). IdleTimeout
	// closes them once the load is gone.
	MaxIdle int
	// IdleTimeout closes a connection that has stayed idle this long, so a
	// quiet node is not left holding sockets while a steady request stream
	// never has to redial. Zero means 60s; a negative value keeps idle
	// connections until Close.
	IdleTimeout time.Duration
	// IDPrefix starts every request id, "<IDPrefix>:<method>#<n>", the form
	// lightningd documents, so its logs name the caller. Zero means
	// "clnrest"; a prefix that is not plain ASCII letters, digits, '-', '_'
	// or '.' is replaced by the default.
	IDPrefix string
}

// withDefaults fills in zero fields and clamps the rest.
func (cfg Config) withDefaults() Config {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	switch {
	case cfg.MaxIdle == 0:
		cfg.MaxIdle = cfg.MaxConns
	case cfg.MaxIdle < 0:
		cfg.MaxIdle = 0
	}
	cfg.MaxIdle = min(cfg.MaxIdle, cfg.MaxConns)
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if !isPlain(cfg.IDPrefix) {
		cfg.IDPrefix = "clnrest"
	}
	return cfg
}

// Client talks to one lightningd over its unix socket. It is safe for
// concurrent use; Close releases its connections and its reaper goroutine.
type Client struct {
	path   string
	cfg    Config
	nextID atomic.Uint64

	mu      sync.Mutex // protects idle, open, conns, waiters and closed
	idle    []*conn    // oldest first
	open    int        // connections open or being dialled, at most MaxConns
	conns   map[*conn]struct{}
	waiters []chan *conn // calls waiting for a connection, oldest first
	closed  bool

	// dials holds a token per connect in progress, at most maxDials.
	dials chan struct{}

	stopReaper chan struct{} // nil when there is no reaper
	reaperDone chan struct{}
}

// New returns a client for the lightning-rpc socket at socketPath. It does
// not connect: the first call dials, so New succeeds even while lightningd
// is down.
func New(socketPath string, cfg Config) *Client {
	c := &Client{
		path:  socketPath,
		cfg:   cfg.withDefaults(),
		conns: make(map[*conn]struct{}),
		dials: make(chan struct{}, maxDials),
	}
	if c.cfg.IdleTimeout > 0 {
		c.stopReaper = make(chan struct{})
		c.reaperDone = make(chan struct{})
		interval := max(c.cfg.IdleTimeout/2, time.Millisecond)
		go c.reap(interval, c.cfg.IdleTimeout, c.stopReaper, c.reaperDone)
	}
	return c
}

// Close stops the reaper and closes every connection, idle or in use, so
// that calls in flight (a waitanyinvoice, say) fail promptly with ErrClosed
// instead of holding up shutdown. Later calls fail with ErrClosed. Close is
// idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	conns := make([]*conn, 0, len(c.conns))
	for cn := range c.conns {
		conns = append(conns, cn)
	}
	waiters := c.waiters
	c.waiters, c.idle = nil, nil
	c.mu.Unlock()

	if c.stopReaper != nil {
		close(c.stopReaper)
		<-c.reaperDone
	}
	for _, cn := range conns {
		_ = cn.nc.Close()
	}
	for _, w := range waiters {
		wake(w)
	}
	return nil
}

// isClosed reports whether Close has run.
func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Call sends method with params (nil or empty means {}) and returns the raw
// "result" value, held in memory. lightningd's error object comes back as
// *Error; failing to reach lightningd as an error wrapping ErrUnavailable; a
// cancelled ctx as an error wrapping ctx.Err(), with the connection
// discarded since its response would be stale.
func (c *Client) Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	cn, err := c.send(ctx, method, params)
	if err != nil {
		return nil, err
	}
	out, err := cn.readBuffered()
	if err != nil {
		return nil, c.failed(ctx, cn, method, err)
	}
	c.release(cn)
	return out, nil
}

// readBuffered reads a whole response and returns its result value.
func (cn *conn) readBuffered() (json.RawMessage, error) {
	atResult, err := cn.advance()
	if err != nil {
		return nil, err
	}
	if !atResult {
		return nil, protocolError("response to %s ended without a result", cn.resp.want)
	}
	out, err := cn.readValue(nil, true, 0)
	if err != nil {
		return nil, err
	}
	if _, err := cn.advance(); err != nil {
		return nil, err
	}
	return out, nil
}

// Stream sends method with params like Call, but returns the result as a
// Result that yields the raw bytes of the "result" value as they arrive, so
// that a result of hundreds of megabytes never sits in memory. When
// lightningd answers with an error object, Stream returns it as *Error before
// any result byte is exposed, so the caller can choose a status first. The
// Result must be closed; ctx governs the whole stream, including its reads.
func (c *Client) Stream(ctx context.Context, method string, params json.RawMessage) (*Result, error) {
	cn, err := c.send(ctx, method, params)
	if err != nil {
		return nil, err
	}
	atResult, err := cn.advance()
	if err == nil && !atResult {
		err = protocolError("response to %s ended without a result", cn.resp.want)
	}
	if err != nil {
		return nil, c.failed(ctx, cn, method, err)
	}
	return &Result{c: c, cn: cn, ctx: ctx, method: method}, nil
}

// send checks out a connection and writes the request on it. A reused
// connection whose write fails was closed by lightningd while idle (it
// restarted, say): the request cannot have been read, so send retries on
// another connection instead of failing the call.
func (c *Client) send(ctx context.Context, method string, params json.RawMessage) (*conn, error) {
	params, err := checkParams(params)
	if err != nil {
		return nil, fmt.Errorf("lnrpc %s: %w", method, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lnrpc %s: %w", method, err)
	}
	id := c.nextID.Add(1)
	for attempt := 0; ; attempt++ {
		cn, err := c.get(ctx)
		if err != nil {
			return nil, c.wrap(ctx, method, "connecting to", err)
		}
		cn.watch(ctx)
		err = cn.writeRequest(c.cfg.IDPrefix, method, id, params)
		if err == nil {
			return cn, nil
		}
		retry := cn.reused && ctx.Err() == nil && attempt <= c.cfg.MaxIdle
		cn.unwatch()
		c.discard(cn)
		if !retry {
			return nil, c.wrap(ctx, method, "writing request to", err)
		}
	}
}

// checkParams defaults empty params to {} and rejects invalid JSON, which
// would leave lightningd waiting for the rest of a request that never comes.
func checkParams(params json.RawMessage) (json.RawMessage, error) {
	if len(params) == 0 || string(params) == "null" {
		return json.RawMessage(`{}`), nil
	}
	if !json.Valid(params) {
		return nil, fmt.Errorf("params %.100q are not valid JSON", params)
	}
	return params, nil
}

// release returns a connection whose response was read completely.
func (c *Client) release(cn *conn) {
	if cn.unwatch() && !cn.resp.broken() {
		c.put(cn)
		return
	}
	c.discard(cn)
}

// failed ends a call that did not produce a result. lightningd's *Error is
// returned as is and leaves the connection reusable; anything else discards
// the connection and is wrapped.
func (c *Client) failed(ctx context.Context, cn *conn, method string, err error) error {
	if e, ok := err.(*Error); ok {
		c.release(cn)
		return e
	}
	cn.unwatch()
	c.discard(cn)
	return c.wrap(ctx, method, "reading response from", err)
}

// wrap names the method, the operation and the socket, and classifies the
// cause: a cancelled ctx, a closed client (ErrClosed and ErrUnavailable), a
// protocol violation, or else lightningd being unreachable (ErrUnavailable).
func (c *Client) wrap(ctx context.Context, method, op string, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("lnrpc %s: %s %s: %w", method, op, c.path, ctx.Err())
	case errors.Is(err, ErrClosed) || c.isClosed():
		return fmt.Errorf("lnrpc %s: %s %s: %w: %w", method, op, c.path, ErrUnavailable, ErrClosed)
	case errors.Is(err, ErrProtocol):
		return fmt.Errorf("lnrpc %s: %s %s: %w", method, op, c.path, err)
	}
	return fmt.Errorf("lnrpc %s: %s %s: %w: %w", method, op, c.path, ErrUnavailable, err)
}
