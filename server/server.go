// Package server runs clnrest's HTTP or HTTPS listener: it binds
// clnrest-host:clnrest-port up front (so that a busy port is reported at
// init, not later), serves one handler, and shuts down draining the
// requests in flight.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Config describes one server.
type Config struct {
	// Addr is "host:port" to listen on.
	Addr string
	// TLS makes the server speak https; nil means plain http.
	TLS *tls.Config
	// Handler serves every request.
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

// Server is a bound listener and the http.Server serving it.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Listen binds cfg.Addr. It does not serve yet.
func Listen(cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           cfg.Handler,
		ReadHeaderTimeout: orDefault(cfg.ReadHeaderTimeout, 10*time.Second),
		IdleTimeout:       orDefault(cfg.IdleTimeout, 120*time.Second),
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	if srv.MaxHeaderBytes == 0 {
		srv.MaxHeaderBytes = 64 << 10
	}
	return &Server{ln: ln, srv: srv}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Addr is the address actually bound (useful with port 0 in tests).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until Shutdown; it then returns nil.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", s.ln.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting, lets requests in flight finish until ctx
// ends, then closes every connection that is left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return err
}
