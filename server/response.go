package server

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// bufferBeforeChunking is how much body the fast path holds before it
// sends the headers: a response that ends within it gets a
// Content-Length, a longer one is chunked (as net/http, which holds 2 KiB).
const bufferBeforeChunking = 4 << 10

// response is the fast path's http.ResponseWriter, following net/http's
// rules: a status of 200 unless set, Date always, Content-Type sniffed
// when the handler set none, Content-Length when the whole body fits the
// buffer, chunked otherwise, no body for 1xx, 204 and 304, and the
// connection closed when the handler's declared Content-Length was not
// met. Unlike net/http, headers changed after WriteHeader still count
// until the first byte of the body is sent.
type response struct {
	cn          *conn
	req         *http.Request
	body        *bodyReader // nil without a body
	header      http.Header
	status      int
	wroteHeader bool  // WriteHeader ran (with a final status)
	committed   bool  // the status line and headers are in the write buffer
	chunked     bool  // the body goes out in chunks
	declared    int64 // the handler's Content-Length, -1 if none
	written     int64 // body bytes the handler wrote
	closeAfter  bool  // close the connection after this response
	err         error // first write error
}

func (w *response) Header() http.Header { return w.header }

// WriteHeader sends informational (1xx) responses at once, as net/http
// does, and records any other status for the headers.
func (w *response) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.writeStatusLine(code)
		w.writeHeaders(w.header)
		w.cn.bw.WriteString("\r\n")
		w.fail(w.cn.bw.Flush())
		return
	}
	w.wroteHeader, w.status = true, code
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.declared = n
		} else {
			w.cn.s.log.Debug("dropping an invalid Content-Length set by a handler", "value", cl)
			w.header.Del("Content-Length")
		}
	}
	for _, v := range w.header["Connection"] {
		if strings.Contains(strings.ToLower(v), "close") {
			w.closeAfter = true
		}
	}
}

func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	cn := w.cn
	if !w.committed {
		if len(cn.buf)+len(p) <= bufferBeforeChunking {
			cn.buf = append(cn.buf, p...)
			return len(p), nil
		}
		w.commit(false)
		w.writeBody(cn.buf)
		cn.buf = cn.buf[:0]
	}
	w.writeBody(p)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Flush sends the headers and what is buffered.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting the write error (http.ResponseController).
func (w *response) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false)
		w.writeBody(w.cn.buf)
		w.cn.buf = w.cn.buf[:0]
	}
	w.fail(w.cn.bw.Flush())
	return w.err
}

// SetReadDeadline and SetWriteDeadline serve http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error  { return w.cn.nc.SetReadDeadline(t) }
func (w *response) SetWriteDeadline(t time.Time) error { return w.cn.nc.SetWriteDeadline(t) }

// finish completes the response after the handler returned and flushes
// it; an error means the connection is broken.
func (w *response) finish() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	cn := w.cn
	if !w.committed {
		w.commit(true)
		w.writeBody(cn.buf)
	} else if w.chunked {
		cn.bw.WriteString("0\r\n\r\n")
	}
	cn.buf = cn.buf[:0]
	if w.declared >= 0 && w.written < w.declared {
		// The client would wait for the rest: end the connection.
		w.closeAfter = true
	}
	w.fail(cn.bw.Flush())
	return w.err
}

func (w *response) fail(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

// writeBody writes p, framed as a chunk when chunked.
func (w *response) writeBody(p []byte) {
	if len(p) == 0 || !bodyAllowed(w.status) {
		return
	}
	bw := w.cn.bw
	if w.chunked {
		bw.Write(strconv.AppendInt(w.cn.digits[:0], int64(len(p)), 16))
		bw.WriteString("\r\n")
		bw.Write(p)
		_, err := bw.WriteString("\r\n")
		w.fail(err)
		return
	}
	_, err := bw.Write(p)
	w.fail(err)
}

// commit writes the status line and headers; final means the handler has
// returned, so a body held in the buffer is the whole body.
func (w *response) commit(final bool) {
	w.committed = true
	cn := w.cn
	h := w.header
	w.writeStatusLine(w.status)
	w.writeHeaders(h)
	bw := cn.bw
	allowed := bodyAllowed(w.status)
	if _, ok := h["Content-Type"]; !ok && allowed && len(cn.buf) > 0 {
		bw.WriteString("Content-Type: " + http.DetectContentType(cn.buf) + "\r\n")
	}
	if _, ok := h["Date"]; !ok {
		bw.WriteString("Date: ")
		bw.Write(cn.s.date())
		bw.WriteString("\r\n")
	}
	switch {
	case !allowed || w.declared >= 0:
	case final:
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(cn.digits[:0], int64(len(cn.buf)), 10))
		bw.WriteString("\r\n")
	default:
		w.chunked = true
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	// A body the handler left unread beyond what will be drained means
	// the connection cannot be reused, as with net/http.
	if w.body != nil && w.body.left > maxDiscard {
		w.closeAfter = true
	}
	if w.closeAfter || w.req.Close || cn.s.closing.Load() {
		w.closeAfter = true
		if _, ok := h["Connection"]; !ok {
			bw.WriteString("Connection: close\r\n")
		}
	}
	_, err := bw.WriteString("\r\n")
	w.fail(err)
}

func (w *response) writeStatusLine(code int) {
	bw := w.cn.bw
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(w.cn.digits[:0], int64(code), 10))
	bw.WriteByte(' ')
	if text := http.StatusText(code); text != "" {
		bw.WriteString(text)
	} else {
		bw.WriteString("status code " + strconv.Itoa(code))
	}
	bw.WriteString("\r\n")
}

// writeHeaders writes the handler's headers sorted by name, as net/http:
// names that are not tokens are dropped, and CR or LF in a value become
// spaces, so that no handler can split the response. Transfer-Encoding is
// the fast path's to set.
func (w *response) writeHeaders(h http.Header) {
	var arr [16]string
	keys := arr[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	bw := w.cn.bw
	for _, k := range keys {
		if k == "Transfer-Encoding" || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range h[k] {
			bw.WriteString(k)
			bw.WriteString(": ")
			v = strings.TrimSpace(v)
			if strings.ContainsAny(v, "\r\n") {
				v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
			}
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
}

// bodyAllowed reports whether a status may have a body (RFC 9112 6.3).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// dateCache holds the Date header of one second.
type dateCache struct {
	sec int64
	b   []byte
}

// date returns the Date header value for now, formatted once a second.
func (s *Server) date() []byte {
	now := time.Now()
	if d := s.dateNow.Load(); d != nil && d.sec == now.Unix() {
		return d.b
	}
	d := &dateCache{sec: now.Unix(), b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	s.dateNow.Store(d)
	return d.b
}
