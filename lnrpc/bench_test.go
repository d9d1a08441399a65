package lnrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// invoicesDoc builds a listinvoices-like result of about size bytes: what a
// large streamed result from lightningd mostly looks like.
func invoicesDoc(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"invoices":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"label":"inv-%d","bolt11":"lnbcrt%s","payment_hash":"%064x","amount_msat":%d,"status":"paid","description":"coffee \"x\" %d","expires_at":1700000000,"created_index":%d}`,
			i, strings.Repeat("q9x7", 80), i, uint64(18446744073709551615)-uint64(i), i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkScan measures the valueScanner's throughput over a result held in
// memory, in the 64 KiB chunks a connection's read buffer delivers.
func BenchmarkScan(b *testing.B) {
	doc := invoicesDoc(16 << 20)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		var s valueScanner
		for off := 0; off < len(doc); off += readBufferSize {
			n, done, err := s.scan(doc[off:min(off+readBufferSize, len(doc))])
			if err != nil || (done && off+n != len(doc)) {
				b.Fatalf("scan stopped at %d, %v", off+n, err)
			}
		}
	}
}

// BenchmarkDecoderToken is the alternative the scanner replaces, on the same
// document, for comparison.
func BenchmarkDecoderToken(b *testing.B) {
	doc := invoicesDoc(16 << 20)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// startEchoServer is a fake lightningd for benchmarks that allocates nothing
// per request, so allocs/op counts only the client. It answers every request
// with result.
func startEchoServer(b *testing.B, path string, result []byte) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		b.Fatalf("listening on %s: %v", path, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex // protects conns
	var conns []net.Conn
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Go(func() { serveEcho(nc, result) })
		}
	})
	b.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, nc := range conns {
			_ = nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// serveEcho reads requests with the package's own scanner (allocation free)
// and writes one response per request.
func serveEcho(nc net.Conn, result []byte) {
	defer func() { _ = nc.Close() }()
	cn := newConn(nc)
	var req, resp []byte
	for {
		if _, err := cn.peekNonSpace(); err != nil {
			return
		}
		var err error
		if req, err = cn.readValue(req[:0], true, 0); err != nil {
			return
		}
		i := bytes.Index(req, []byte(`"id":`)) + len(`"id":`)
		j := i + bytes.IndexByte(req[i:], ',')
		resp = append(resp[:0], `{"jsonrpc":"2.0","id":`...)
		resp = append(resp, req[i:j]...)
		resp = append(resp, `,"result":`...)
		resp = append(resp, result...)
		resp = append(resp, "}\n\n"...)
		if _, err := nc.Write(resp); err != nil {
			return
		}
	}
}

// BenchmarkCall is one buffered call at a time against an in-test server:
// the client's latency and allocations per call.
func BenchmarkCall(b *testing.B) {
	result := []byte(`{"id":"02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619","num_peers":3,"fees_collected_msat":18446744073709551615}`)
	params := json.RawMessage(`{"label":"x"}`)
	ctxs := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
		{"cancelable", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
	}
	for _, cc := range ctxs {
		b.Run(cc.name, func(b *testing.B) {
			path := socketPath(b)
			startEchoServer(b, path, result)
			c := newClient(b, path, Config{})
			ctx, cancel := cc.ctx()
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Call(ctx, "getinfo", params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCallParallel is many concurrent callers sharing the pool.
func BenchmarkCallParallel(b *testing.B) {
	path := socketPath(b)
	startEchoServer(b, path, []byte(`{"ok":true}`))
	c := newClient(b, path, Config{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Call(context.Background(), "getinfo", nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkStream is a 64 MiB result streamed over the socket to io.Discard.
func BenchmarkStream(b *testing.B) {
	path := socketPath(b)
	doc := invoicesDoc(64 << 20)
	startEchoServer(b, path, doc)
	c := newClient(b, path, Config{})
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		r, err := c.Stream(context.Background(), "listinvoices", nil)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, r); err != nil || n != int64(len(doc)) {
			b.Fatalf("got %d bytes, %v; want %d", n, err, len(doc))
		}
		_ = r.Close()
	}
}
