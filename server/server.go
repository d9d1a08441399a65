// Package server runs clnrest's HTTP or HTTPS listener: it binds
// clnrest-host:clnrest-port up front (so that a busy port is reported at
// init, not later), serves one handler, and shuts down draining the
// requests in flight.
//
// Requests of the REST API's hot path (POST /v1/<method> over HTTP/1.1,
// with nothing unusual in their head) are served by this package's own
// HTTP/1.1 loop, one goroutine per connection and no goroutine per request
// (see fastpath.go); a connection is handed to net/http, for the rest of its
// life, at its first request that is anything else. Nothing net/http would
// refuse or treat specially is ever served by the fast path.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes one server.
type Config struct {
	// Addr is "host:port" to listen on.
	Addr string
	// TLS makes the server speak https; nil means plain http.
	TLS *tls.Config
	// Handler serves every request. On the fast path a connection reuses
	// its request's Header map and its response's Header map (up to
	// maxReusedHeaders entries) for the next request, so the handler must
	// keep neither once ServeHTTP has returned (nor the request or
	// ResponseWriter, as with net/http); clnrest's handlers keep nothing
	// of a request.
	Handler http.Handler
	// Logger receives the server's own errors; nil discards them.
	Logger *slog.Logger
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers (slow-header clients). Zero means 10s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long. Zero
	// means 120s.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds request headers. Zero means 64 KiB.
	MaxHeaderBytes int
}

// Server is a bound listener, the fast path serving its connections and
// the http.Server that connections are handed to.
type Server struct {
	ln      net.Listener // plain TCP; TLS is done per connection
	tls     *tls.Config
	handler http.Handler
	log     *slog.Logger

	headLimit int // largest request head the fast path reads

	srv     *http.Server     // serves handed-off connections
	handoff *handoffListener // how they reach srv

	// ctx ends TLS handshakes when Shutdown gives up waiting. Requests'
	// contexts are not its children (registering each with one parent
	// serialised every request on the parent's lock): aborted tells
	// begin to cancel a request at once, and Shutdown cancels those
	// running itself.
	ctx     context.Context
	cancel  context.CancelFunc
	aborted atomic.Bool

	closing atomic.Bool
	mu      sync.Mutex // protects conns
	conns   map[*conn]struct{}
	wg      sync.WaitGroup // fast-path connection goroutines

	dateNow atomic.Pointer[dateCache] // the Date header of the current second

	fastRequests atomic.Uint64 // served by the fast path
	handedOff    atomic.Uint64 // connections given to net/http
}

// Listen binds cfg.Addr. It does not serve yet.
func Listen(cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		ln: ln, tls: cfg.TLS, handler: cfg.Handler, log: logger,
		handoff: newHandoffListener(ln.Addr()),
		conns:   map[*conn]struct{}{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.srv = &http.Server{
		Handler:           withHandedTLS(cfg.Handler),
		ConnContext:       handedConnContext,
		ReadHeaderTimeout: orDefault(cfg.ReadHeaderTimeout, 10*time.Second),
		IdleTimeout:       orDefault(cfg.IdleTimeout, 120*time.Second),
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	if s.srv.MaxHeaderBytes == 0 {
		s.srv.MaxHeaderBytes = 64 << 10
	}
	s.headLimit = min(fastReadBufferSize, s.srv.MaxHeaderBytes)
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Addr is the address actually bound (useful with port 0 in tests).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Shutdown; it then returns nil.
func (s *Server) Serve() error {
	handed := make(chan error, 1)
	go func() { handed <- s.srv.Serve(s.handoff) }()
	err := s.accept()
	s.handoff.Close()
	if herr := <-handed; !errors.Is(herr, http.ErrServerClosed) && !errors.Is(herr, net.ErrClosed) && err == nil {
		err = herr
	}
	if err != nil {
		return fmt.Errorf("serving on %s: %w", s.ln.Addr(), err)
	}
	return nil
}

// accept runs the accept loop, retrying temporary failures (too many open
// files) with a growing pause as net/http does, until the listener closes.
func (s *Server) accept() error {
	var pause time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				pause = min(max(2*pause, 5*time.Millisecond), time.Second)
				s.log.Debug("accepting a connection", "err", err, "retry_in", pause)
				time.Sleep(pause)
				continue
			}
			return err
		}
		pause = 0
		cn := s.newConn(nc)
		if cn == nil { // shutting down
			nc.Close()
			continue
		}
		go cn.serve()
	}
}

// isTemporary reports errors an accept loop should outlive.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// track registers a fast-path connection, or refuses it once Shutdown
// began.
func (s *Server) track(cn *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[cn] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(cn *conn) {
	s.mu.Lock()
	delete(s.conns, cn)
	s.mu.Unlock()
	s.wg.Done()
}

// Counts reports how many requests the fast path served and how many
// connections it handed to net/http, for clnrest-stats.
func (s *Server) Counts() (fastRequests, handedOff uint64) {
	return s.fastRequests.Load(), s.handedOff.Load()
}

// Shutdown stops accepting, lets requests in flight finish until ctx
// ends, then closes every connection that is left. Idle keep-alive
// connections are closed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for cn := range s.conns {
		cn.wakeIfIdle()
	}
	s.mu.Unlock()
	s.ln.Close()

	handed := make(chan error, 1)
	go func() { handed <- s.srv.Shutdown(ctx) }()
	drained := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(drained)
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		s.aborted.Store(true)
		s.cancel()
		s.mu.Lock()
		for cn := range s.conns {
			cn.abort()
		}
		s.mu.Unlock()
		<-drained
	}
	s.cancel()
	if herr := <-handed; herr != nil {
		s.srv.Close()
		if err == nil {
			err = herr
		}
	}
	return err
}
