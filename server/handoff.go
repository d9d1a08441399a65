package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
)

// handoffListener is the listener net/http serves: its connections are
// the ones the fast path handed over.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept returns the next handed-over connection.
func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close makes Accept fail; connections already handed over are
// net/http's to close.
func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// hand gives c to net/http; false once the listener is closed, when the
// caller still owns c.
func (l *handoffListener) hand(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

// handedConn is a connection handed to net/http in the middle of its
// life: its reads first return what the fast path had read but not
// consumed (the head of the request that could not take the fast path),
// then go to the connection itself.
type handedConn struct {
	net.Conn
	br  *bufio.Reader // nil once drained
	src *connReader
	tls *tls.ConnectionState // nil for plain http
}

func (c *handedConn) Read(p []byte) (int, error) {
	if c.br != nil {
		if c.br.Buffered() > 0 {
			return c.br.Read(p)
		}
		c.br = nil
	}
	return c.src.Read(p)
}

// tlsStateKey is the context key of a handed-over TLS connection's state.
type tlsStateKey struct{}

// handedConnContext keeps a handed-over TLS connection's state for
// withHandedTLS: net/http only sees TLS on a *tls.Conn it accepted itself.
func handedConnContext(ctx context.Context, c net.Conn) context.Context {
	if hc, ok := c.(*handedConn); ok && hc.tls != nil {
		return context.WithValue(ctx, tlsStateKey{}, hc.tls)
	}
	return ctx
}

// withHandedTLS sets r.TLS on requests of handed-over TLS connections, as
// net/http would have.
func withHandedTLS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st, ok := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok && r.TLS == nil {
			r.TLS = st
		}
		next.ServeHTTP(w, r)
	})
}
