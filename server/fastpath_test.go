package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echo answers with what the handler saw of the request, so that two
// servers given the same bytes can be compared.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var hs []string
	for _, k := range keys {
		hs = append(hs, fmt.Sprintf("%s=%q", k, r.Header[k]))
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, "%s %s path=%q escaped=%q query=%q host=%q cl=%d close=%v tls=%v\n%s\nbody=%q err=%v",
		r.Method, r.RequestURI, r.URL.Path, r.URL.EscapedPath(), r.URL.RawQuery, r.Host, r.ContentLength, r.Close,
		r.TLS != nil, strings.Join(hs, " "), body, err)
})

// reference serves the same handler with net/http alone, as clnrest did
// before the fast path.
func reference(t testing.TB, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// exchange is what a client saw after sending raw bytes and closing its
// side: each response's status, body and Connection header, in order.
type exchange []string

func send(t testing.TB, addr string, raw []byte) exchange {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(raw); err != nil {
		return exchange{"write: " + err.Error()}
	}
	c.(*net.TCPConn).CloseWrite()
	br := bufio.NewReader(c)
	var out exchange
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			return out
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		// After a response with Connection: close, a reset for bytes the
		// server never read may or may not cut the end: not compared.
		out = append(out, fmt.Sprintf("%d %q close=%v bodyerr=%v", res.StatusCode, body, res.Close, err != nil && !res.Close))
	}
}

// serveFast is serve with h as the handler.
func serveFast(t testing.TB, h http.Handler, cfg Config) *Server {
	cfg.Handler = h
	return serve(t, cfg)
}

// TestFastPathMatchesNetHTTP: for each request, the fast path serves it
// or hands it to net/http as expected, and the client sees exactly what
// net/http alone would have answered.
func TestFastPathMatchesNetHTTP(t *testing.T) {
	const get = "POST /v1/getinfo HTTP/1.1\r\nHost: localhost:3010\r\nRune: abc\r\n"
	tests := []struct {
		name string
		raw  string
		fast int // requests the fast path must serve
	}{
		{"bare POST", get + "\r\n", 1},
		{"with a body", get + "Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"id\":\"abc\"}\n", 1},
		{"zero length", get + "Content-Length: 0\r\n\r\n", 1},
		{"lower-case names, odd spacing", "POST /v1/getinfo HTTP/1.1\r\nhost:x\r\nrune:   abc  \r\nx-custom-header: \t1\r\n\r\n", 1},
		{"repeated header", get + "X-A: 1\r\nX-A: 2\r\n\r\n", 1},
		{"escaped target", "POST /v1/get%69nfo?a=1&b=%2F HTTP/1.1\r\nHost: x\r\n\r\n", 1},
		{"encoded slash and dots", "POST /v1/%2e%2e/v1%2Fgetinfo HTTP/1.1\r\nHost: x\r\n\r\n", 1},
		{"target with #", "POST /v1/getinfo#frag HTTP/1.1\r\nHost: x\r\n\r\n", 1},
		{"empty Host", "POST /v1/getinfo HTTP/1.1\r\nHost:\r\n\r\n", 1},
		{"connection close", get + "Connection: close\r\n\r\n" + get + "\r\n", 1},
		{"keep-alive token", get + "Connection: keep-alive\r\n\r\n", 1},
		{"pipelined three", get + "\r\n" + get + "Content-Length: 2\r\n\r\n{}" + get + "\r\n", 3},
		{"unread body then another", get + "Content-Length: 5\r\n\r\nhello" + get + "\r\n", 2},

		{"GET", "GET /v1/getinfo HTTP/1.1\r\nHost: x\r\n\r\n", 0},
		{"other path", "POST /v2/getinfo HTTP/1.1\r\nHost: x\r\n\r\n", 0},
		{"absolute form", "POST http://x/v1/getinfo HTTP/1.1\r\nHost: x\r\n\r\n", 0},
		{"HTTP/1.0", "POST /v1/getinfo HTTP/1.0\r\nHost: x\r\n\r\n", 0},
		{"lower-case method", "post /v1/getinfo HTTP/1.1\r\nHost: x\r\n\r\n", 0},
		{"no Host", "POST /v1/getinfo HTTP/1.1\r\nRune: abc\r\n\r\n", 0},
		{"two Hosts", get + "Host: other\r\n\r\n", 0},
		{"bad Host", "POST /v1/getinfo HTTP/1.1\r\nHost: a b\r\n\r\n", 0},
		{"chunked body", get + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0},
		{"length and chunked", get + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0},
		{"two lengths", get + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 0},
		{"same length twice", get + "Content-Length: 2\r\nContent-Length: 2\r\n\r\nab", 0},
		{"signed length", get + "Content-Length: +2\r\n\r\nab", 0},
		{"list length", get + "Content-Length: 2, 2\r\n\r\nab", 0},
		{"obs-fold", get + "X-A: 1\r\n 2\r\n\r\n", 0},
		{"bare LF", "POST /v1/getinfo HTTP/1.1\nHost: x\n\n", 0},
		{"LF inside", get + "X-A: 1\nX-B: 2\r\n\r\n", 0},
		{"space before colon", get + "Rune : x\r\n\r\n", 0},
		{"NUL in value", get + "X-A: a\x00b\r\n\r\n", 0},
		{"expect", get + "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n{}", 0},
		{"upgrade", get + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 0},
		{"pragma", get + "Pragma: no-cache\r\n\r\n", 0},
		{"control char in target", "POST /v1/get\x01info HTTP/1.1\r\nHost: x\r\n\r\n", 0},
		{"fast then GET", get + "\r\nGET /v1/getinfo HTTP/1.1\r\nHost: x\r\n\r\n" + get + "\r\n", 1},
		{"head over 4 KiB", get + "X-Big: " + strings.Repeat("a", 5000) + "\r\n\r\n", 0},
		{"head over MaxHeaderBytes", get + "X-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", 0},
		{"garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 0},
	}
	ref := reference(t, echo)
	s := serveFast(t, echo, Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.fastRequests.Load()
			want := send(t, ref, []byte(tc.raw))
			got := send(t, s.Addr().String(), []byte(tc.raw))
			if !slices.Equal(got, want) {
				t.Errorf("responses differ from net/http's:\n got %q\nwant %q", got, want)
			}
			if n := s.fastRequests.Load() - before; n != uint64(tc.fast) {
				t.Errorf("fast path served %d requests; want %d", n, tc.fast)
			}
		})
	}
}

// FuzzFastPathMatchesNetHTTP: whatever bytes a client sends, it sees what
// net/http alone would have answered.
func FuzzFastPathMatchesNetHTTP(f *testing.F) {
	for _, seed := range []string{
		"POST /v1/getinfo HTTP/1.1\r\nHost: x\r\nRune: abc\r\n\r\n",
		"POST /v1/getinfo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}POST /v1/x HTTP/1.1\r\nHost: y\r\n\r\n",
		"POST /v1/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
		"POST /v1/a HTTP/1.1\r\nHost: x\r\nConnection: close, keep-alive\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	ref := reference(f, echo)
	s := serveFast(f, echo, Config{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		want := send(t, ref, raw)
		got := send(t, s.Addr().String(), raw)
		if !slices.Equal(got, want) {
			t.Errorf("responses to %q differ from net/http's:\n got %q\nwant %q", raw, got, want)
		}
	})
}

// TestFastPathResponses: the response rules a handler relies on.
func TestFastPathResponses(t *testing.T) {
	big := strings.Repeat("0123456789", 10_000)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		check   func(t *testing.T, res *http.Response, body string)
	}{
		{"small body gets a length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"a":1}`)
		}, func(t *testing.T, res *http.Response, body string) {
			if res.StatusCode != 201 || res.ContentLength != 7 || body != `{"a":1}` || res.Header.Get("Date") == "" {
				t.Errorf("got %d length %d %q date %q", res.StatusCode, res.ContentLength, body, res.Header.Get("Date"))
			}
		}},
		{"large body is chunked", func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < len(big); i += 3000 {
				io.WriteString(w, big[i:min(i+3000, len(big))])
			}
		}, func(t *testing.T, res *http.Response, body string) {
			if !slices.Equal(res.TransferEncoding, []string{"chunked"}) || body != big {
				t.Errorf("got %v, %d bytes", res.TransferEncoding, len(body))
			}
		}},
		{"flush sends the headers", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			io.WriteString(w, "b")
		}, func(t *testing.T, res *http.Response, body string) {
			if body != "ab" || res.ContentLength != -1 {
				t.Errorf("got %q length %d", body, res.ContentLength)
			}
		}},
		{"type sniffed", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<html><body>x</body></html>")
		}, func(t *testing.T, res *http.Response, body string) {
			if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" || res.StatusCode != 200 {
				t.Errorf("got %d %q", res.StatusCode, ct)
			}
		}},
		{"no body for 204", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
			if _, err := io.WriteString(w, "x"); !errors.Is(err, http.ErrBodyNotAllowed) {
				panic(fmt.Sprintf("write after 204: %v", err))
			}
		}, func(t *testing.T, res *http.Response, body string) {
			if res.StatusCode != 204 || body != "" || res.Header.Get("Content-Length") != "" {
				t.Errorf("got %d %q length %q", res.StatusCode, body, res.Header.Get("Content-Length"))
			}
		}},
		{"declared length kept", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "3")
			io.WriteString(w, "abc")
			if _, err := io.WriteString(w, "d"); !errors.Is(err, http.ErrContentLength) {
				panic(fmt.Sprintf("write beyond Content-Length: %v", err))
			}
		}, func(t *testing.T, res *http.Response, body string) {
			if body != "abc" || res.ContentLength != 3 {
				t.Errorf("got %q length %d", body, res.ContentLength)
			}
		}},
		{"no header splitting", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-A", "1\r\nX-Injected: 2")
			w.Header()["Bad Name"] = []string{"x"}
		}, func(t *testing.T, res *http.Response, body string) {
			if res.Header.Get("X-Injected") != "" || res.Header.Get("X-A") != "1  X-Injected: 2" || len(res.Header["Bad Name"]) != 0 {
				t.Errorf("got headers %v", res.Header)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := serveFast(t, tc.handler, Config{})
			c := dial(t, s)
			io.WriteString(c, "POST /v1/x HTTP/1.1\r\nHost: x\r\n\r\n")
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatalf("reading the body: %v", err)
			}
			tc.check(t, res, string(body))
			if s.fastRequests.Load() != 1 {
				t.Errorf("fast path served %d requests; want 1", s.fastRequests.Load())
			}
		})
	}
}

// TestFastPathClientGoneCancels: a client that goes away while its
// request runs cancels the request's context, as with net/http.
func TestFastPathClientGoneCancels(t *testing.T) {
	for _, tc := range []struct {
		name  string
		quick bool // a quick request first: the watch timer it set is still pending
	}{
		{"first request", false},
		{"after a quick request", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cancelled := make(chan error, 1)
			started := make(chan struct{})
			s := serveFast(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v1/quick" {
					return
				}
				close(started)
				select {
				case <-r.Context().Done():
					cancelled <- nil
				case <-time.After(10 * time.Second):
					cancelled <- errors.New("context not cancelled within 10s")
				}
			}), Config{})
			c := dial(t, s)
			if tc.quick {
				io.WriteString(c, "POST /v1/quick HTTP/1.1\r\nHost: x\r\n\r\n")
				res, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				time.Sleep(watchDelay / 2)
			}
			io.WriteString(c, "POST /v1/waitanyinvoice HTTP/1.1\r\nHost: x\r\n\r\n")
			<-started
			time.Sleep(3 * watchDelay) // the watcher has started
			c.Close()
			if err := <-cancelled; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestFastPathWatcherKeepsPipelinedBytes: a request sent while the
// previous one runs long enough to be watched is served, byte for byte.
func TestFastPathWatcherKeepsPipelinedBytes(t *testing.T) {
	s := serveFast(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/slow" {
			time.Sleep(5 * watchDelay)
		}
		if r.Context().Err() != nil {
			panic("context cancelled while the client is there")
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s", r.URL.Path, body)
	}), Config{})
	c := dial(t, s)
	io.WriteString(c, "POST /v1/slow HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(2 * watchDelay)
	io.WriteString(c, "POST /v1/next HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody")
	br := bufio.NewReader(c)
	for _, want := range []string{"/v1/slow ", "/v1/next body"} {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if string(body) != want {
			t.Errorf("got %q; want %q", body, want)
		}
	}
	if n := s.fastRequests.Load(); n != 2 {
		t.Errorf("fast path served %d; want 2", n)
	}
}

// TestFastPathPanics: a handler's panic closes the connection without a
// complete response; other connections go on.
func TestFastPathPanics(t *testing.T) {
	s := serveFast(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/abort":
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(strings.Repeat("x", 10_000)))
			panic(http.ErrAbortHandler)
		case "/v1/bug":
			panic("bug")
		}
		io.WriteString(w, "fine")
	}), Config{})
	for _, path := range []string{"/v1/abort", "/v1/bug"} {
		c := dial(t, s)
		io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			_, err = io.ReadAll(res.Body)
		}
		if err == nil {
			t.Errorf("%s: a complete response; want a broken one", path)
		}
	}
	res, err := http.Post("http://"+s.Addr().String()+"/v1/ok", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "fine" {
		t.Errorf("after the panics: %q", body)
	}
}

// TestFastPathBigUnreadBody: a body the handler did not read is drained
// up to maxDiscard to keep the connection; a bigger one closes it.
func TestFastPathBigUnreadBody(t *testing.T) {
	s := serveFast(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), Config{})
	for _, tc := range []struct {
		size  int
		close bool
	}{{maxDiscard, false}, {maxDiscard + 1, true}} {
		c := dial(t, s)
		go fmt.Fprintf(c, "POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", tc.size, strings.Repeat("a", tc.size))
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		if res.Close != tc.close {
			t.Errorf("body of %d bytes: Connection close %v; want %v", tc.size, res.Close, tc.close)
		}
	}
}

// TestFastPathShutdown: Shutdown closes idle keep-alive connections at
// once and lets a request in flight finish, with Connection: close.
func TestFastPathShutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	s, err := Listen(Config{Addr: "127.0.0.1:0", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/slow" {
			started <- struct{}{}
			<-release
		}
		io.WriteString(w, "done")
	})})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()

	idle := dial(t, s)
	io.WriteString(idle, "POST /v1/fast HTTP/1.1\r\nHost: x\r\n\r\n")
	idleBr := bufio.NewReader(idle)
	if res, err := http.ReadResponse(idleBr, nil); err != nil {
		t.Fatal(err)
	} else {
		io.Copy(io.Discard, res.Body)
	}
	busy := dial(t, s)
	io.WriteString(busy, "POST /v1/slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := idleBr.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection at shutdown: %v; want EOF", err)
	}
	close(release)
	res, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatalf("request in flight at shutdown: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	if string(body) != "done" || !res.Close {
		t.Errorf("request in flight: %q close %v; want \"done\" with Connection: close", body, res.Close)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestFastPathTLS: over TLS both paths see r.TLS, as with net/http.
func TestFastPathTLS(t *testing.T) {
	ts := httptest.NewTLSServer(http.NotFoundHandler()) // for its certificate and a client trusting it
	tlsCfg := &tls.Config{Certificates: ts.TLS.Certificates}
	client := ts.Client()
	ts.Close()
	var sawTLS atomic.Int32
	s := serveFast(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			sawTLS.Add(1)
		}
	}), Config{TLS: tlsCfg})
	base := "https://" + s.Addr().String()
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		req, _ := http.NewRequest(method, base+"/v1/getinfo", nil)
		req.Close = true // a new connection each: GET hands its connection over
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if sawTLS.Load() != 2 || s.fastRequests.Load() != 1 || s.handedOff.Load() != 1 {
		t.Errorf("r.TLS seen %d times, fast %d, handed off %d; want 2, 1, 1", sawTLS.Load(), s.fastRequests.Load(), s.handedOff.Load())
	}
}

// TestFastPathSlowUnreadBody: the rest of a body the handler did not read
// is drained within ReadHeaderTimeout; a sender that stalls is cut off.
func TestFastPathSlowUnreadBody(t *testing.T) {
	s := serveFast(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden) // refused before reading the body
	}), Config{ReadHeaderTimeout: 300 * time.Millisecond})
	c := dial(t, s)
	io.WriteString(c, "POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d", res.StatusCode)
	}
	start := time.Now()
	c.SetReadDeadline(start.Add(5 * time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("connection with a stalled body: %v; want closed by the server", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stalled body cut off after %v; want about 300ms", d)
	}
}

// TestFastPathRequestOutlivesHeadDeadlines: the read deadlines for a head
// (ReadHeaderTimeout for a connection's first request, IdleTimeout for
// the next) do not reach the request: one that runs past them keeps its
// context while its client waits, and a body sent after them is read.
func TestFastPathRequestOutlivesHeadDeadlines(t *testing.T) {
	const limit = 100 * time.Millisecond
	s := serveFast(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * limit)
		if err := r.Context().Err(); err != nil {
			http.Error(w, "context: "+err.Error(), http.StatusInternalServerError)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s %s", r.URL.Path, body)
	}), Config{ReadHeaderTimeout: limit, IdleTimeout: limit})
	c := dial(t, s)
	br := bufio.NewReader(c)
	for _, tc := range []struct {
		name, head, body, want string
	}{
		{"first request, no body", "POST /v1/a HTTP/1.1\r\nHost: x\r\n\r\n", "", "/v1/a "},
		{"next request, no body", "POST /v1/b HTTP/1.1\r\nHost: x\r\n\r\n", "", "/v1/b "},
		{"body sent late", "POST /v1/c HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n", "late", "/v1/c late"},
	} {
		io.WriteString(c, tc.head)
		if tc.body != "" {
			time.Sleep(2 * limit)
			io.WriteString(c, tc.body)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || string(body) != tc.want {
			t.Errorf("%s: %d %q; want 200 %q", tc.name, res.StatusCode, body, tc.want)
		}
	}
}

// TestFastPathAbort: once Shutdown gives up, a running request's context
// is cancelled (abort), and so is that of one that begins later.
func TestFastPathAbort(t *testing.T) {
	for _, tc := range []struct {
		name         string
		abortedFirst bool
	}{
		{"running when Shutdown gives up", false},
		{"beginning after", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, peer := net.Pipe() // abort closes the connection too
			defer peer.Close()
			cn := &conn{s: &Server{}, nc: nc}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.abortedFirst {
				cn.s.aborted.Store(true)
			}
			cn.begin(cancel, false)
			if !tc.abortedFirst {
				if ctx.Err() != nil {
					t.Fatal("context cancelled before the abort")
				}
				cn.s.aborted.Store(true)
				cn.abort()
			}
			if ctx.Err() == nil {
				t.Error("context not cancelled")
			}
		})
	}
}

// TestFastPathShutdownGivesUp: a request still running when Shutdown's
// time is up sees its context cancelled, and Shutdown reports the timeout.
func TestFastPathShutdownGivesUp(t *testing.T) {
	started := make(chan struct{})
	cancelled := make(chan bool, 1)
	// serve's clean-up checks what Serve returned.
	s := serveFast(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
			cancelled <- true
		case <-time.After(10 * time.Second):
			cancelled <- false
		}
	}), Config{})
	c := dial(t, s)
	io.WriteString(c, "POST /v1/waitanyinvoice HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v; want %v", err, context.DeadlineExceeded)
	}
	if !<-cancelled {
		t.Error("the running request's context was not cancelled")
	}
}

// TestFastPathRequestsShareNothing: the requests of one connection reuse
// the connection's request and header storage, and none sees anything of
// the one before: not its headers, not the headers its response set.
func TestFastPathRequestsShareNothing(t *testing.T) {
	var seen []string
	var reqs []*http.Request
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys := slices.Sorted(maps.Keys(r.Header))
		seen = append(seen, fmt.Sprintf("%s %s %v host=%s", r.RequestURI, strings.Join(keys, ","), r.Header["X-A"], r.Host))
		reqs = append(reqs, r)
		if r.Header.Get("X-First") != "" {
			w.Header().Set("X-First-Only", "1")
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "first")
			return
		}
		io.WriteString(w, "second request")
	})
	s := serveFast(t, h, Config{})
	c := dial(t, s)
	io.WriteString(c, "POST /v1/a HTTP/1.1\r\nHost: one\r\nX-First: yes\r\nX-A: 1\r\nX-A: 2\r\nX-Extra: e\r\n\r\n"+
		"POST /v1/b HTTP/1.1\r\nHost: two\r\nX-A: 3\r\n\r\n")
	br := bufio.NewReader(c)
	var got []string
	for range 2 {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%q first-only=%q length=%d", body, res.Header.Get("X-First-Only"), res.ContentLength))
	}
	want := []string{`"first" first-only="1" length=5`, `"second request" first-only="" length=14`}
	if !slices.Equal(got, want) {
		t.Errorf("responses:\n got %q\nwant %q", got, want)
	}
	wantSeen := []string{"/v1/a X-A,X-Extra,X-First [1 2] host=one", "/v1/b X-A [3] host=two"}
	if !slices.Equal(seen, wantSeen) {
		t.Errorf("the handler saw:\n got %q\nwant %q", seen, wantSeen)
	}
	if len(reqs) == 2 && reqs[0] == reqs[1] {
		t.Error("both requests were the same *http.Request")
	}
}

// TestReuseHeader: a connection keeps its header map and values from one
// request to the next, cleared, but never one sized for a large request.
func TestReuseHeader(t *testing.T) {
	small := http.Header{"A": {"1"}, "B": {"2"}}
	tests := []struct {
		name     string
		kept     http.Header
		n        int
		wantKept bool // the map returned is the one kept afterwards
		wantSame bool // and it is the map that was kept before
	}{
		{"first request", nil, 3, true, false},
		{"next request", small, 5, true, true},
		{"at the bound", small, maxReusedHeaders, true, true},
		{"large request", small, maxReusedHeaders + 1, false, false},
		{"large first request", nil, 1000, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.kept
			kept := tc.kept
			got := reuseHeader(&kept, tc.n)
			if len(got) != 0 {
				t.Errorf("got a map of %d entries; want it empty", len(got))
			}
			got["X"] = []string{"x"} // tell the maps apart
			if isKept := kept != nil && kept["X"] != nil; isKept != tc.wantKept {
				t.Errorf("returned map kept: %v; want %v", isKept, tc.wantKept)
			}
			if same := before != nil && before["X"] != nil; same != tc.wantSame {
				t.Errorf("previous map reused: %v; want %v", same, tc.wantSame)
			}
			if !tc.wantKept && kept != nil {
				t.Errorf("kept %v after a large request; want nothing kept", kept)
			}
			delete(small, "X")
			small["A"], small["B"] = []string{"1"}, []string{"2"}
		})
	}
}

func TestReuseValues(t *testing.T) {
	tests := []struct {
		name     string
		kept     []string
		n        int
		wantKept bool
	}{
		{"first request", nil, 3, true},
		{"grows within the bound", make([]string, 2), 10, true},
		{"reuses", []string{"old", "old", "old"}, 2, true},
		{"large request", make([]string, 4), maxReusedHeaders + 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kept := tc.kept
			got := reuseValues(&kept, tc.n)
			if len(got) != tc.n || slices.ContainsFunc(got, func(s string) bool { return s != "" }) {
				t.Errorf("got %q; want %d empty values", got, tc.n)
			}
			if tc.wantKept {
				if cap(kept) < tc.n || &kept[:1][0] != &got[:1][0] {
					t.Errorf("the values returned are not the ones kept")
				}
				if tc.kept != nil && cap(tc.kept) >= tc.n && &tc.kept[0] != &got[0] {
					t.Errorf("a slice large enough was not reused")
				}
				if tc.kept != nil && cap(tc.kept) >= 3 && tc.kept[2] != "" {
					t.Errorf("stale value %q left beyond the values used", tc.kept[2])
				}
			} else if kept != nil {
				t.Errorf("kept %d values after a large request; want nothing kept", cap(kept))
			}
		})
	}
}
