package lnrpc

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/clnrest/clnrest/internal/overdue"
)

const (
	// readBufferSize is large so that a streamed result moves in big chunks
	// (one syscall and one scan per 64 KiB); it is allocated once per dial.
	readBufferSize = 64 << 10
	// writeBufferSize holds any ordinary request in one write.
	writeBufferSize = 4 << 10
	// maxTokenLen bounds the keys and ids read from lightningd, which are
	// buffered, so that a broken peer cannot make us hold unbounded memory.
	maxTokenLen = 4 << 10
	// watchDelay is how long a call runs before its context is watched
	// (see watch).
	watchDelay = 10 * time.Millisecond
)

// conn is one connection to lightningd, checked out by at most one call at a
// time. Its buffers and response state are reused across calls, which is what
// keeps a Call to one allocation.
type conn struct {
	nc        net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	resp      response  // state of the response being read
	reused    bool      // taken from the idle set rather than freshly dialled
	idleSince time.Time // when it was returned to the idle set

	// The context watch of the current call (see watch).
	mu    sync.Mutex      // protects the fields below, shared with the timer
	ctx   context.Context // the watched call's context; nil when none
	timer overdue.Timer   // runs arm once the call has run watchDelay
	stop  func() bool     // stops the armed watch; nil when none is armed
}

func newConn(nc net.Conn) *conn {
	cn := &conn{
		nc: nc,
		br: bufio.NewReaderSize(nc, readBufferSize),
		bw: bufio.NewWriterSize(nc, writeBufferSize),
	}
	cn.timer.Init(watchDelay, cn.arm)
	return cn
}

// watch makes a cancellation of ctx interrupt any blocked read or write on
// the connection by moving its deadline into the past, once the call has run
// for watchDelay. Most calls end well before that, and a context.AfterFunc
// per call (an allocation of a context, two closures and an entry in the
// parent's children map, then its removal) was most of a call's own cost.
// The connection has one overdue.Timer instead, which costs no timer
// operation per call. A cancellation
// therefore takes effect at most watchDelay late (and a timer's latency),
// which no caller can tell from lightningd being a little slow: a cancelled
// context is still refused before the request is sent, and a call waiting
// for a free connection stops at once. A context that can never be
// cancelled costs nothing.
func (cn *conn) watch(ctx context.Context) {
	if ctx.Done() == nil {
		return
	}
	cn.mu.Lock()
	defer cn.mu.Unlock()
	cn.ctx = ctx
	cn.timer.Start()
}

// arm starts the context watch of the running call once it has run for
// watchDelay.
func (cn *conn) arm() {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if !cn.timer.Fired(cn.ctx != nil && cn.stop == nil) {
		return
	}
	nc := cn.nc
	cn.stop = context.AfterFunc(cn.ctx, func() {
		_ = nc.SetDeadline(time.Unix(1, 0))
	})
}

// unwatch ends the context watch. It reports false when the context already
// fired, in which case the deadline may be set and the connection must be
// discarded. The timer is left as it is (see watch).
func (cn *conn) unwatch() bool {
	cn.mu.Lock()
	if cn.ctx == nil {
		cn.mu.Unlock()
		return true
	}
	stop := cn.stop
	cn.ctx, cn.stop = nil, nil
	cn.mu.Unlock()
	if stop == nil {
		return true
	}
	return stop()
}

// writeRequest sends one JSON-RPC 2.0 request and records its id in cn.resp
// so that the response can be matched. The bytes are written straight into
// the buffered writer; no map is marshalled. params must be valid JSON (an
// empty params is sent as {} because lightningd rejects a request without
// "params").
func (cn *conn) writeRequest(prefix, method string, id uint64, params json.RawMessage) error {
	cn.resp.begin(prefix, method, id)
	bw := cn.bw
	_, _ = bw.WriteString(`{"jsonrpc":"2.0","id":`)
	_, _ = bw.Write(cn.resp.want)
	_, _ = bw.WriteString(`,"method":`)
	writeString(bw, method)
	_, _ = bw.WriteString(`,"params":`)
	_, _ = bw.Write(params)
	_ = bw.WriteByte('}')
	return bw.Flush()
}

// writeString writes s as a JSON string. Method names are plain ASCII, so the
// common case copies s between quotes; anything else goes through
// encoding/json.
func writeString(bw *bufio.Writer, s string) {
	if isPlain(s) {
		_ = bw.WriteByte('"')
		_, _ = bw.WriteString(s)
		_ = bw.WriteByte('"')
		return
	}
	quoted, _ := json.Marshal(s) // marshalling a string cannot fail
	_, _ = bw.Write(quoted)
}

// isPlain reports whether s is non-empty and made only of letters, digits,
// '-', '_' and '.', so that it needs no JSON escaping and cannot confuse the
// "prefix:method#n" id format.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != ""
}

// appendID appends the JSON string id "<prefix>:<method>#<n>", the form
// lightningd documents for request ids (doc/lightningd-rpc.7.md) so that its
// logs show who asked for what. A method name that is not plain is recorded
// as "call".
func appendID(dst []byte, prefix, method string, n uint64) []byte {
	if !isPlain(method) {
		method = "call"
	}
	dst = append(dst, '"')
	dst = append(dst, prefix...)
	dst = append(dst, ':')
	dst = append(dst, method...)
	dst = append(dst, '#')
	dst = strconv.AppendUint(dst, n, 10)
	return append(dst, '"')
}

// fill returns the buffered bytes, blocking for more only when none are
// buffered. An end of stream here is always premature: a response was
// expected.
func (cn *conn) fill() ([]byte, error) {
	n := cn.br.Buffered()
	if n == 0 {
		if _, err := cn.br.Peek(1); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		n = cn.br.Buffered()
	}
	b, _ := cn.br.Peek(n) // n bytes are buffered, so Peek cannot fail
	return b, nil
}

// peekNonSpace skips whitespace and returns the next byte without consuming it.
func (cn *conn) peekNonSpace() (byte, error) {
	for {
		b, err := cn.fill()
		if err != nil {
			return 0, err
		}
		for i, c := range b {
			if !isSpace(c) {
				_, _ = cn.br.Discard(i)
				return c, nil
			}
		}
		_, _ = cn.br.Discard(len(b))
	}
}

// readValue consumes the JSON value that starts at the next byte. With keep
// it appends the value's bytes to dst; limit > 0 bounds how many it keeps.
func (cn *conn) readValue(dst []byte, keep bool, limit int) ([]byte, error) {
	var s valueScanner
	for {
		b, err := cn.fill()
		if err != nil {
			return dst, err
		}
		n, done, err := s.scan(b)
		if err != nil {
			return dst, err
		}
		if keep {
			if limit > 0 && len(dst)+n > limit {
				return dst, protocolError("token longer than %d bytes", limit)
			}
			dst = append(dst, b[:n]...)
		}
		_, _ = cn.br.Discard(n)
		if done {
			return dst, nil
		}
	}
}
