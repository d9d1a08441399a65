package lnrpc

import (
	"context"
	"io"
)

// Result is a result being streamed from lightningd: Read yields exactly the
// raw bytes of the response's "result" value, then io.EOF once the rest of
// the response has been read and checked (an id that turns out not to match,
// when lightningd sent it after the result, is reported then instead of
// io.EOF). A Result is not safe for concurrent use.
//
// The connection goes back to the pool as soon as the response is complete.
// Close before that discards the connection, because the rest of its
// response would otherwise have to be read first; the next call dials anew.
type Result struct {
	c      *Client
	cn     *conn // nil once the connection is released or discarded
	ctx    context.Context
	method string
	scan   valueScanner
	err    error // sticky: io.EOF after a complete response
}

var (
	_ io.ReadCloser = (*Result)(nil)
	_ io.WriterTo   = (*Result)(nil)
)

// Read copies result bytes into p.
func (r *Result) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	b, err := r.cn.fill()
	if err != nil {
		return 0, r.fail(err)
	}
	n, done, err := r.scan.scan(b[:min(len(b), len(p))])
	if err != nil {
		return 0, r.fail(err)
	}
	copy(p, b[:n])
	_, _ = r.cn.br.Discard(n)
	if done {
		r.end()
	}
	return n, nil
}

// WriteTo writes the rest of the result to w straight from the connection's
// read buffer, without an intermediate copy; io.Copy uses it. It returns nil
// once the whole response was read and checked.
func (r *Result) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.err == nil {
		b, err := r.cn.fill()
		if err != nil {
			r.fail(err)
			break
		}
		n, done, err := r.scan.scan(b)
		if err != nil {
			r.fail(err)
			break
		}
		m, werr := w.Write(b[:n])
		total += int64(m)
		if werr == nil && m != n {
			werr = io.ErrShortWrite
		}
		if werr != nil {
			// The response was not consumed, so the connection goes.
			r.closeWith(werr)
			return total, werr
		}
		_, _ = r.cn.br.Discard(n)
		if done {
			r.end()
		}
	}
	if r.err == io.EOF {
		return total, nil
	}
	return total, r.err
}

// Close releases the result. Before the end of the response it discards the
// connection; after the end it does nothing. It always returns nil.
func (r *Result) Close() error {
	r.closeWith(errResultClosed)
	return nil
}

// end reads the rest of the response once the result value is complete and
// returns the connection to the pool.
func (r *Result) end() {
	if _, err := r.cn.advance(); err != nil {
		r.fail(err)
		return
	}
	r.c.release(r.cn)
	r.cn = nil
	r.err = io.EOF
}

// fail records err (wrapped and classified) as the result's sticky error and
// discards the connection.
func (r *Result) fail(err error) error {
	cn := r.cn
	r.cn = nil
	cn.unwatch()
	r.c.discard(cn)
	r.err = r.c.wrap(r.ctx, r.method, "reading result from", err)
	return r.err
}

// closeWith discards a connection still in use and makes err the sticky
// error; a finished result keeps its outcome.
func (r *Result) closeWith(err error) {
	if r.cn == nil {
		return
	}
	r.cn.unwatch()
	r.c.discard(r.cn)
	r.cn = nil
	r.err = err
}
