// Package websocket is clnrest's Socket.IO server: it admits the clients
// whose rune lightningd's checkrune accepts for method
// listclnrest-notifications, and emits every lightningd notification to
// them as event "message", without ever letting a slow client slow down
// lightningd or the other clients.
package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/clnrest/clnrest/runeauth"
)

// Defaults for the Config fields left zero. The queue is shared by all
// clients (each notification is held once), so it can be deep enough for
// a burst of notifications that clients drain more slowly than
// lightningd sends them: 100,000 invoice notifications, say, held in
// about 25 MB.
const (
	DefaultQueueSize    = 1 << 17
	DefaultQueueBytes   = 64 << 20
	DefaultStallTimeout = 10 * time.Second
)

// Authorizer decides whether a rune may do what a request asks.
// *runeauth.Checker implements it. A refusal is a *runeauth.Error; any
// other error means lightningd could not be asked.
type Authorizer interface {
	Check(ctx context.Context, r runeauth.Request) error
}

var _ Authorizer = (*runeauth.Checker)(nil)

// Config is what a Hub needs.
type Config struct {
	// Auth checks the clients' runes. Required.
	Auth Authorizer
	// Logger receives connects, refusals and disconnects (info) and
	// trouble reaching lightningd (warn); nil discards them. Runes are
	// never logged, only their unique ids.
	Logger *slog.Logger
	// QueueSize bounds how far behind a client may fall: a client that
	// has this many notifications not yet written to its connection is
	// disconnected. Zero means DefaultQueueSize.
	QueueSize int
	// QueueBytes bounds the memory of the queue that every client reads
	// from; the clients that fall furthest behind are disconnected to
	// keep within it. Zero means DefaultQueueBytes.
	QueueBytes int64
	// StallTimeout disconnects a client that has a full window of
	// notifications in flight and has not taken any of them for this
	// long: it stopped reading, and should not hold the queue for
	// everyone until it overflows.
	// Zero means DefaultStallTimeout; negative means never.
	StallTimeout time.Duration
	// Recheck is how often Run asks lightningd again about the rune of
	// every connected client, disconnecting those it now refuses (a
	// blacklisted rune, say). Each recheck counts as a use of the rune
	// for rate= restrictions. Zero means never.
	Recheck time.Duration

	// heartbeat is Engine.IO's ping interval and timeout, which tests
	// shorten; zero means 25 s and 20 s.
	heartbeat heartbeat
}

// Hub is the Socket.IO server. Its zero value is not usable; create it
// with New, serve it at /socket.io/, feed it with Publish, and stop it
// with Close or by ending Run's context.
type Hub struct {
	auth       Authorizer
	log        *slog.Logger
	queueSize  int
	queueBytes int64
	stall      time.Duration
	recheck    time.Duration
	sio        *sioServer
	feed       feed // every client's notifications, each held once

	// ctx ends at Close: it cancels checkrune calls and stops pumps.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the hub started

	mu      sync.RWMutex // protects clients and closed
	clients map[string]*client
	closed  bool

	closeOnce sync.Once
}

// New returns a Hub for cfg, or an error naming the bad field.
func New(cfg Config) (*Hub, error) {
	if cfg.Auth == nil {
		return nil, errors.New("creating Socket.IO hub: Config.Auth is nil")
	}
	if cfg.QueueSize < 0 {
		return nil, fmt.Errorf("creating Socket.IO hub: QueueSize %d is negative", cfg.QueueSize)
	}
	if cfg.QueueBytes < 0 {
		return nil, fmt.Errorf("creating Socket.IO hub: QueueBytes %d is negative", cfg.QueueBytes)
	}
	if cfg.Recheck < 0 {
		return nil, fmt.Errorf("creating Socket.IO hub: Recheck %s is negative", cfg.Recheck)
	}
	h := &Hub{
		auth:       cfg.Auth,
		log:        cfg.Logger,
		queueSize:  cfg.QueueSize,
		queueBytes: cfg.QueueBytes,
		stall:      cfg.StallTimeout,
		recheck:    cfg.Recheck,
		clients:    make(map[string]*client),
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if h.queueSize == 0 {
		h.queueSize = DefaultQueueSize
	}
	if h.queueBytes == 0 {
		h.queueBytes = DefaultQueueBytes
	}
	switch {
	case h.stall == 0:
		h.stall = DefaultStallTimeout
	case h.stall < 0:
		h.stall = 0
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	sio, err := newSIOServer(sioEvents{admit: h.admit, joined: h.joined, left: h.left}, cfg.heartbeat)
	if err != nil {
		h.cancel()
		return nil, fmt.Errorf("creating Socket.IO hub: %w", err)
	}
	h.sio = sio
	return h, nil
}

// ServeHTTP serves the Engine.IO transports. Mount it for every path
// under /socket.io/, behind the CORS policy: the hub adds no
// Access-Control-* headers of its own.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"code":-32603,"message":"Socket.IO server is shutting down"}`)
		return
	}
	h.sio.ServeHTTP(w, r)
}

// Publish emits params (a notification's params object) as event
// "message" to every connected client. It never blocks and never waits
// for a client: the notification joins the queue every client reads at
// its own pace, and a client that falls QueueSize notifications behind
// (or furthest behind when the queue holds QueueBytes) is disconnected
// instead. params is copied; the caller may reuse it. Params that are
// not valid JSON are dropped with a warning.
func (h *Hub) Publish(params json.RawMessage) {
	packet, err := encodeMessage(params)
	if err != nil {
		h.log.Warn("Socket.IO: dropping a notification that is not valid JSON", "error", err)
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	head := h.feed.append(packet)
	keep := head
	for _, c := range h.clients {
		if c.ending() != "" {
			continue // leaving: it holds nothing back
		}
		if n := c.behind(head); n >= int64(h.queueSize) {
			c.end(fmt.Sprintf("too slow: %d notifications queued", n), true)
			continue
		}
		keep = min(keep, c.cursor.Load())
		c.signal()
	}
	if first := h.feed.trim(keep, h.queueBytes); first > keep {
		for _, c := range h.clients {
			if c.cursor.Load() < first {
				c.end(fmt.Sprintf("too slow: %d notifications queued, over %d bytes", c.behind(head), h.queueBytes), true)
			}
		}
	}
}

// Clients returns how many authorized sockets are connected.
func (h *Hub) Clients() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.clients)
}

// Run rechecks the connected clients' runes every Config.Recheck until
// ctx ends or Close is called, then closes the hub (disconnecting
// everyone) and returns nil.
func (h *Hub) Run(ctx context.Context) error {
	defer h.Close()
	var tick <-chan time.Time
	if h.recheck > 0 {
		t := time.NewTicker(h.recheck)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.ctx.Done():
			return nil
		case <-tick:
			h.recheckAll(ctx)
		}
	}
}

// Close disconnects every client, refuses new ones and waits for the
// hub's goroutines to end. It is idempotent and always returns nil.
func (h *Hub) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		h.mu.Unlock()
		h.cancel()
		h.sio.Close()
		h.wg.Wait()
	})
	return nil
}

// spawn runs fn on a goroutine that Close waits for, unless the hub is
// closed, in which case it reports false.
func (h *Hub) spawn(fn func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		fn()
	}()
	return true
}
