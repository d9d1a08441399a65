package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve starts a server for cfg (Addr and Handler filled in when empty)
// and shuts it down when the test ends.
func serve(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Handler == nil {
		cfg.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	}
	s, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

func dial(t testing.TB, s *Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reports how long the server took to end the connection
// (EOF or reset), failing the test if it is still open after limit.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v; want it closed by the server", limit)
	}
	return time.Since(start)
}

// TestSlowHeaders: a client that never finishes its headers is cut off
// after ReadHeaderTimeout, and others are served meanwhile.
func TestSlowHeaders(t *testing.T) {
	s := serve(t, Config{ReadHeaderTimeout: 300 * time.Millisecond})
	slow := dial(t, s)
	io.WriteString(slow, "POST /v1/getinfo HTTP/1.1\r\nHost: x\r\n")
	go func() { // one more header line now and then, never the blank line
		for range 20 {
			time.Sleep(50 * time.Millisecond)
			if _, err := io.WriteString(slow, "X-Slow: 1\r\n"); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	res, err := http.Get("http://" + s.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("a request beside a slow-header client took %v; want it unaffected", d)
	}
	if d := closedWithin(t, slow, 5*time.Second); d > 2*time.Second {
		t.Errorf("slow-header client cut off after %v; want about 300ms", d)
	}
}

// TestIdleKeepAlive: a keep-alive connection left idle is closed after
// IdleTimeout.
func TestIdleKeepAlive(t *testing.T) {
	s := serve(t, Config{IdleTimeout: 300 * time.Millisecond})
	c := dial(t, s)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.Close {
		t.Fatal("server closed the connection after one request; want keep-alive")
	}
	if d := closedWithin(t, c, 5*time.Second); d < 200*time.Millisecond || d > 2*time.Second {
		t.Errorf("idle keep-alive closed after %v; want about 300ms", d)
	}
}

// TestHeaderLimit: headers beyond MaxHeaderBytes get 431 and never reach
// the handler.
func TestHeaderLimit(t *testing.T) {
	var reached atomic.Bool
	s := serve(t, Config{MaxHeaderBytes: 4 << 10, Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Store(true) })})
	tests := []struct {
		name   string
		header int
		want   int
	}{
		{"within", 1 << 10, http.StatusOK},
		{"beyond", 64 << 10, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reached.Store(false)
			c := dial(t, s)
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", tc.header)+"\r\n\r\n")
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Errorf("status: got %d; want %d", res.StatusCode, tc.want)
			}
			if reached.Load() != (tc.want == http.StatusOK) {
				t.Errorf("handler reached: got %v; want %v", reached.Load(), tc.want == http.StatusOK)
			}
		})
	}
}

// TestDefaults: zero Config values mean the documented defaults.
func TestDefaults(t *testing.T) {
	s, err := Listen(Config{Addr: "127.0.0.1:0", Handler: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.ln.Close()
	if s.srv.ReadHeaderTimeout != 10*time.Second || s.srv.IdleTimeout != 120*time.Second || s.srv.MaxHeaderBytes != 64<<10 {
		t.Errorf("got ReadHeaderTimeout %v IdleTimeout %v MaxHeaderBytes %d; want 10s 120s 65536",
			s.srv.ReadHeaderTimeout, s.srv.IdleTimeout, s.srv.MaxHeaderBytes)
	}
}
