package server

// The fast path. net/http spends, per request, a goroutine that watches
// the connection while the handler runs (started, then woken and waited
// for when the response is done), a context, and a general parser and
// response writer. For REST calls that take a millisecond this is most of
// clnrest's own cost and, on a busy 2-core machine, several thread
// wake-ups per request. Here one goroutine per connection reads the head,
// calls the handler and writes the response; a client that goes away is
// noticed by a watcher started only once a request has run for
// watchDelay.
//
// Only a request whose head is exactly of the expected shape takes this
// path: "POST /v1/... HTTP/1.1", CRLF line endings, token header names,
// no control characters, one Host, at most one all-digit Content-Length,
// no Transfer-Encoding, Expect, Upgrade or Pragma, Connection only
// "close" or "keep-alive", the whole head within headLimit. Anything else,
// including what net/http answers with 400 or 431, is handed to net/http
// unread, with the connection, so that the two can never disagree on
// where a request ends (no smuggling) and every refusal is net/http's.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/clnrest/clnrest/internal/overdue"
)

const (
	// fastReadBufferSize is the read buffer of a fast-path connection and
	// so the largest head it serves (a REST call's is a few hundred bytes).
	fastReadBufferSize = 4 << 10
	// fastWriteBufferSize is its write buffer.
	fastWriteBufferSize = 4 << 10
	// watchDelay is how long a request runs before a watcher goroutine
	// starts reading the connection to notice the client going away
	// (which cancels the request's context, as net/http does).
	watchDelay = 20 * time.Millisecond
	// maxDiscard is the most of an unread request body drained to keep
	// the connection; beyond it the connection is closed (net/http: 256 KiB).
	maxDiscard = 256 << 10
)

// aLongTimeAgo is a deadline in the past, to interrupt a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// conn is one connection served by the fast path.
type conn struct {
	s   *Server
	nc  net.Conn
	src *connReader
	br  *bufio.Reader
	bw  *bufio.Writer
	tls *tls.ConnectionState
	buf []byte // response body held before the headers are sent
	// remote is the client's address, formatted once for all the
	// connection's requests (http.Request.RemoteAddr).
	remote string
	// digits is room for a number being written: a local array would
	// escape through bufio.Writer.Write to the heap on every response.
	digits [20]byte
	// Reused from one request to the next (see Config.Handler): the
	// request parse fills, which WithContext then copies (one Request
	// allocated per request instead of two), and the header maps and
	// values, cleared, which keep their storage. They were 1.2 KB of
	// the 2.6 KB allocated per REST call.
	scratch      http.Request
	reqHeader    http.Header
	respHeader   http.Header
	headerValues []string

	mu     sync.Mutex // protects the fields below
	idle   bool       // waiting for the first byte of a request
	active bool       // a request is being served
	cancel context.CancelFunc
	// headDeadline: the read deadline readHead set may still be on the
	// connection, to be cleared before a watcher reads.
	headDeadline bool
	watching     chan struct{} // non-nil while a watcher runs; closed when it ends
	aborting     bool          // the watcher's read was interrupted on purpose
	watchable    bool          // the request may be watched: it has no body left to read
	timer        overdue.Timer // runs startWatch once the request has been watchable watchDelay
}

// connReader is what the read buffer reads from: a byte the watcher read
// ahead (the start of a pipelined request) comes first.
type connReader struct {
	nc      net.Conn
	stash   byte
	stashed bool
}

func (r *connReader) Read(p []byte) (int, error) {
	if r.stashed && len(p) > 0 {
		p[0], r.stashed = r.stash, false
		return 1, nil
	}
	return r.nc.Read(p)
}

func (s *Server) newConn(nc net.Conn) *conn {
	src := &connReader{nc: nc}
	cn := &conn{s: s, nc: nc, src: src}
	cn.timer.Init(watchDelay, cn.startWatch)
	if !s.track(cn) {
		return nil
	}
	return cn
}

// serve runs the connection until it closes or is handed over.
func (cn *conn) serve() {
	defer cn.s.untrack(cn)
	if !cn.handshake() {
		cn.nc.Close()
		return
	}
	cn.br = bufio.NewReaderSize(cn.src, fastReadBufferSize)
	cn.bw = bufio.NewWriterSize(cn.nc, fastWriteBufferSize)
	cn.remote = cn.nc.RemoteAddr().String()
	for first := true; ; first = false {
		head, next := cn.readHead(first)
		switch next {
		case headClose:
			cn.nc.Close()
			return
		case headHandOff:
			cn.handOff()
			return
		}
		req, ok := cn.parse(head)
		if !ok {
			cn.handOff()
			return
		}
		if !cn.serveRequest(req, len(head)) {
			cn.nc.Close()
			return
		}
	}
}

// handshake runs the TLS handshake within ReadHeaderTimeout, as net/http.
func (cn *conn) handshake() bool {
	if cn.s.tls == nil {
		return true
	}
	tc := tls.Server(cn.nc, cn.s.tls)
	_ = tc.SetDeadline(time.Now().Add(cn.s.srv.ReadHeaderTimeout))
	if err := tc.HandshakeContext(cn.s.ctx); err != nil {
		cn.s.log.Debug("TLS handshake failed", "remote", cn.nc.RemoteAddr().String(), "err", err)
		return false
	}
	_ = tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	cn.mu.Lock() // Shutdown reads nc
	cn.nc, cn.src.nc, cn.tls = tc, tc, &st
	cn.mu.Unlock()
	return true
}

// handOff gives the connection, with what is buffered, to net/http.
func (cn *conn) handOff() {
	_ = cn.nc.SetReadDeadline(time.Time{})
	hc := &handedConn{Conn: cn.nc, br: cn.br, src: cn.src, tls: cn.tls}
	// Counted before: net/http may answer before hand returns.
	cn.s.handedOff.Add(1)
	if !cn.s.handoff.hand(hc) {
		cn.s.handedOff.Add(^uint64(0))
		cn.nc.Close()
	}
}

// abort cancels the running request's context and closes the
// connection, for Shutdown once its time is up (after it set
// Server.aborted, which begin reads under the same lock: no request
// starting later escapes).
func (cn *conn) abort() {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.cancel != nil {
		cn.cancel()
	}
	_ = cn.nc.Close()
}

// wakeIfIdle interrupts a wait for the next request, for Shutdown.
func (cn *conn) wakeIfIdle() {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.idle {
		_ = cn.nc.SetReadDeadline(aLongTimeAgo)
	}
}

// setIdle records whether the connection waits for a request; false when
// Shutdown began, when the connection must close instead.
func (cn *conn) setIdle(idle bool) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	cn.idle = idle
	return !(idle && cn.s.closing.Load())
}

// What readHead found.
const (
	headRead    = iota // a complete head
	headClose          // EOF, a timeout or Shutdown: close
	headHandOff        // for net/http: a head over headLimit (MaxHeaderBytes is its to apply) or cut short by EOF
)

// readHead reads until the blank line ending a request head and returns
// the head, still in the read buffer (valid until the next read). The
// first request gets ReadHeaderTimeout from the start; later ones may
// first wait IdleTimeout for their first byte.
func (cn *conn) readHead(first bool) (head []byte, next int) {
	if !first {
		// As net/http: wait up to IdleTimeout for 4 bytes of the next
		// request, closing quietly without them, then skip the CR and LF
		// that old clients send after a POST body. The deadline goes
		// first, so that Shutdown's wake-up is never overwritten.
		_ = cn.nc.SetReadDeadline(time.Now().Add(cn.s.srv.IdleTimeout))
		if !cn.setIdle(true) {
			return nil, headClose
		}
		peek, err := cn.br.Peek(4)
		if !cn.setIdle(false) || err != nil {
			return nil, headClose
		}
		n := 0
		for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
			n++
		}
		_, _ = cn.br.Discard(n)
	}
	// ReadHeaderTimeout is set only when a read is needed for the head:
	// a head that came whole with its first bytes needs none. The deadline
	// left in place is cleared only when something reads on (see begin):
	// a request that reads nothing and ends within watchDelay, the usual
	// one, costs one deadline instead of three.
	deadlineSet := first
	if first {
		_ = cn.nc.SetReadDeadline(time.Now().Add(cn.s.srv.ReadHeaderTimeout))
	}
	for scanned := 0; ; {
		buf, _ := cn.br.Peek(cn.br.Buffered())
		if i := bytes.Index(buf[max(scanned-3, 0):], []byte("\r\n\r\n")); i >= 0 {
			end := max(scanned-3, 0) + i + 4
			if end > cn.s.headLimit {
				break
			}
			return buf[:end], headRead
		}
		scanned = len(buf)
		if scanned >= cn.s.headLimit || scanned == cn.br.Size() {
			break
		}
		if !deadlineSet {
			_ = cn.nc.SetReadDeadline(time.Now().Add(cn.s.srv.ReadHeaderTimeout))
			deadlineSet = true
		}
		if _, err := cn.br.Peek(scanned + 1); err != nil {
			// A client that sent part of a head and stopped is cut off, as
			// by net/http. One that closed its side after a partial head
			// gets net/http's answer to what it sent (a 400 for a bad
			// request line, say).
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || cn.s.closing.Load() || cn.br.Buffered() == 0 {
				return nil, headClose
			}
			return nil, headHandOff
		}
	}
	return nil, headHandOff
}

// serveRequest runs the handler for req, whose head is headLen bytes of
// the read buffer, and writes the response. It reports whether the
// connection can serve another request.
func (cn *conn) serveRequest(req *http.Request, headLen int) (keep bool) {
	_, _ = cn.br.Discard(headLen)
	cn.s.fastRequests.Add(1)
	ctx, cancel := context.WithCancel(context.Background()) // see Server.ctx
	// The one copy of the request it gets: req is cn.scratch.
	req = req.WithContext(ctx)
	req.RemoteAddr = cn.remote
	req.TLS = cn.tls
	var body *bodyReader
	if req.ContentLength > 0 {
		// The body is read without the head's deadline: the handler sets
		// its own.
		_ = cn.nc.SetReadDeadline(time.Time{})
		body = &bodyReader{cn: cn, left: req.ContentLength}
		req.Body = body
	} else {
		req.Body = http.NoBody
	}
	// The response map is sized by what the previous handler set in it: a
	// handler that set more than maxReusedHeaders leaves nothing kept.
	w := &response{cn: cn, req: req, body: body, header: reuseHeader(&cn.respHeader, len(cn.respHeader)), declared: -1}
	cn.begin(cancel, body == nil)
	defer func() {
		if v := recover(); v != nil {
			keep = false
			if v != http.ErrAbortHandler {
				stack := make([]byte, 64<<10)
				stack = stack[:runtime.Stack(stack, false)]
				cn.s.log.Error("panic serving "+req.RemoteAddr, "panic", v, "stack", string(stack))
			}
			cn.end()
		}
	}()
	cn.s.handler.ServeHTTP(w, req)
	cn.end()
	if w.finish() != nil || w.closeAfter || req.Close || cn.s.closing.Load() {
		return false
	}
	if body != nil && body.left > 0 {
		if body.left > maxDiscard || body.err != nil {
			return false
		}
		// Bounded in time too: a handler that refused the request early
		// (no rune, say) never read the body, and its sender may be slow.
		_ = cn.nc.SetReadDeadline(time.Now().Add(cn.s.srv.ReadHeaderTimeout))
		if _, err := io.CopyN(io.Discard, cn.br, body.left); err != nil {
			return false
		}
	}
	return true
}

// begin marks a request active and, when it has no body to read, arms
// the watch timer. Without a body, the deadline readHead left is still
// set (serveRequest cleared it for a body): the watcher clears it before
// it reads.
func (cn *conn) begin(cancel context.CancelFunc, bodyDone bool) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	cn.active, cn.cancel = true, cancel
	if cn.s.aborted.Load() {
		cancel()
	}
	cn.headDeadline = bodyDone
	if bodyDone {
		cn.armWatchLocked()
	}
}

// bodyDone arms the watch timer once the body is read: before, the
// handler's own reads must not compete with a watcher's.
func (cn *conn) bodyDone() {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.active {
		cn.armWatchLocked()
	}
}

// armWatchLocked makes the current request watchable from now: its
// watcher starts once it has run watchDelay more. The connection's one
// overdue.Timer costs no timer operation per request.
func (cn *conn) armWatchLocked() {
	cn.watchable = true
	cn.timer.Start()
}

// startWatch starts the watcher once a watchable request has run
// watchDelay.
func (cn *conn) startWatch() {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if !cn.timer.Fired(cn.active && cn.watchable && cn.watching == nil) {
		return
	}
	if cn.headDeadline {
		_ = cn.nc.SetReadDeadline(time.Time{})
		cn.headDeadline = false
	}
	done := make(chan struct{})
	cn.watching, cn.aborting = done, false
	cancel := cn.cancel
	go func() {
		defer close(done)
		var b [1]byte
		n, err := cn.nc.Read(b[:])
		cn.mu.Lock()
		defer cn.mu.Unlock()
		if n == 1 {
			// The client sent more (a pipelined request): keep it.
			cn.src.stash, cn.src.stashed = b[0], true
			return
		}
		if err != nil && !cn.aborting {
			cancel() // the client went away: cancel the request
		}
	}()
}

// end stops any watcher (the timer finds the request gone when it fires)
// and cancels the request's context.
func (cn *conn) end() {
	cn.mu.Lock()
	cn.active, cn.watchable = false, false
	done := cn.watching
	if done != nil {
		cn.aborting = true
		_ = cn.nc.SetReadDeadline(aLongTimeAgo)
	}
	cancel := cn.cancel
	cn.cancel = nil
	cn.mu.Unlock()
	if done != nil {
		<-done
		cn.mu.Lock()
		cn.watching = nil
		cn.mu.Unlock()
		_ = cn.nc.SetReadDeadline(time.Time{})
	}
	if cancel != nil {
		cancel()
	}
}

// bodyReader reads a Content-Length body from the connection's buffer.
type bodyReader struct {
	cn   *conn
	left int64
	err  error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.cn.br.Read(p)
	b.left -= int64(n)
	if b.left == 0 {
		b.cn.bodyDone()
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *bodyReader) Close() error { return nil }

// parse turns a head that takes the fast path into a request, in
// cn.scratch with cn.reqHeader; false sends it to net/http.
//
// The head is copied into one string, and the target and every header
// value are slices of it: one allocation for all of them, where a string
// per value was most of the fast path's own allocations.
func (cn *conn) parse(head []byte) (*http.Request, bool) {
	text := string(head)
	line, rest, _ := strings.Cut(text, "\r\n")
	target, ok := strings.CutPrefix(line, "POST ")
	if !ok {
		return nil, false
	}
	target, ok = strings.CutSuffix(target, " HTTP/1.1")
	if !ok || !strings.HasPrefix(target, "/v1/") || !visible(target) {
		return nil, false
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, false
	}
	n := strings.Count(rest, "\r\n") - 1 // the last one ends the head
	header := reuseHeader(&cn.reqHeader, n)
	values := reuseValues(&cn.headerValues, n)
	req := &cn.scratch
	*req = http.Request{
		Method: http.MethodPost, URL: u, RequestURI: target,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: header,
	}
	hosts, lengths := 0, 0
	for i := 0; ; i++ {
		var l string
		l, rest, _ = strings.Cut(rest, "\r\n")
		if len(l) == 0 {
			break
		}
		// Names, values and Host are checked with net/http's own rules
		// (httpguts), so that the two paths agree on what is valid.
		name, raw, ok := strings.Cut(l, ":")
		if !ok || !httpguts.ValidHeaderFieldName(name) {
			return nil, false
		}
		value := strings.Trim(raw, " \t")
		if !httpguts.ValidHeaderFieldValue(value) {
			return nil, false
		}
		key := canonicalKey(name)
		switch key {
		case "Host":
			hosts++
			if !httpguts.ValidHostHeader(value) {
				return nil, false
			}
			req.Host = value
			continue // net/http keeps Host out of Header
		case "Content-Length":
			lengths++
			cl, ok := contentLength(value)
			if !ok {
				return nil, false
			}
			req.ContentLength = cl
		case "Connection":
			c, ok := connectionClose(value)
			if !ok {
				return nil, false
			}
			req.Close = req.Close || c
		case "Transfer-Encoding", "Expect", "Upgrade", "Pragma", "Trailer", "Te":
			return nil, false
		}
		values[i] = value
		if prev, dup := req.Header[key]; dup {
			req.Header[key] = append(prev, value)
		} else {
			req.Header[key] = values[i : i+1 : i+1]
		}
	}
	if hosts != 1 || lengths > 1 {
		return nil, false
	}
	return req, true
}

// maxReusedHeaders bounds the header maps and values a connection keeps
// between requests: a map keeps the room of its largest contents, and a
// client sending requests of a thousand headers on many connections
// must not make each hold that much for its lifetime.
const maxReusedHeaders = 32

// reuseHeader returns *kept, cleared, for n entries (a request's header
// lines, or what the previous response held), or a new map when there is
// none yet; a map for more than maxReusedHeaders is used once and not
// kept.
func reuseHeader(kept *http.Header, n int) http.Header {
	if n > maxReusedHeaders {
		*kept = nil
		return make(http.Header, n)
	}
	if *kept == nil {
		*kept = make(http.Header, max(n, 8))
	}
	clear(*kept)
	return *kept
}

// reuseValues is reuseHeader for the slice the header values are cut from.
// It is cleared so that it keeps no string of the previous head alive.
func reuseValues(kept *[]string, n int) []string {
	if n > maxReusedHeaders {
		*kept = nil
		return make([]string, n)
	}
	if cap(*kept) < n {
		*kept = make([]string, n, maxReusedHeaders)
	}
	clear((*kept)[:cap(*kept)])
	return (*kept)[:n]
}

// visible reports whether s is all printable ASCII, no space.
func visible(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// contentLength parses a Content-Length of 1 to 15 digits.
func contentLength(v string) (int64, bool) {
	if len(v) == 0 || len(v) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range []byte(v) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// connectionClose reads a Connection value of "close" and "keep-alive"
// options; anything else (an upgrade, hop-by-hop header names) is left to
// net/http.
func connectionClose(v string) (close, ok bool) {
	for opt := range strings.SplitSeq(v, ",") {
		opt = strings.Trim(opt, " \t")
		switch {
		case opt == "", strings.EqualFold(opt, "keep-alive"):
		case strings.EqualFold(opt, "close"):
			close = true
		default:
			return false, false
		}
	}
	return close, true
}

// canonicalKey returns the canonical form of a header name (a token).
// A name already in canonical form is returned as it is, a slice of the
// head.
func canonicalKey(name string) string {
	var b [64]byte
	if len(name) > len(b) {
		return http.CanonicalHeaderKey(name)
	}
	k := b[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case !upper && 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		k[i] = c
		upper = c == '-'
	}
	if s, ok := knownKey(k); ok {
		return s
	}
	if string(k) == name {
		return name
	}
	return string(k)
}

// knownKey returns the interned string of a common canonical name.
func knownKey(k []byte) (string, bool) {
	for _, s := range knownKeys {
		if string(k) == s {
			return s, true
		}
	}
	return "", false
}

// knownKeys are the names REST clients commonly send; matching one costs
// no allocation.
var knownKeys = [...]string{
	"Host", "Rune", "Content-Type", "Content-Length", "Accept", "Accept-Encoding",
	"Accept-Language", "User-Agent", "Connection", "Origin", "Referer", "Authorization",
	"Cookie", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-Ip", "Cache-Control",
}
