package lnrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// rawParams makes params for the fake's "raw" method: tmpl is written as the
// whole response, with $ID replaced by the request id.
func rawParams(tmpl string) json.RawMessage {
	b, _ := json.Marshal(tmpl) // marshalling a string cannot fail
	return b
}

// resultReader is one way for a caller to get a result.
type resultReader struct {
	name string
	get  func(ctx context.Context, c *Client, method string, params json.RawMessage) ([]byte, error)
}

// resultReaders are the ways a caller can get a result: buffered, or
// streamed through each of Result's reading paths.
func resultReaders() []resultReader {
	return []resultReader{
		{"Call", func(ctx context.Context, c *Client, m string, p json.RawMessage) ([]byte, error) {
			return c.Call(ctx, m, p)
		}},
		{"Stream/ReadAll", func(ctx context.Context, c *Client, m string, p json.RawMessage) ([]byte, error) {
			return streamWith(ctx, c, m, p, func(r *Result) ([]byte, error) {
				return io.ReadAll(struct{ io.Reader }{r}) // hides WriteTo
			})
		}},
		{"Stream/WriteTo", func(ctx context.Context, c *Client, m string, p json.RawMessage) ([]byte, error) {
			return streamWith(ctx, c, m, p, func(r *Result) ([]byte, error) {
				var buf bytes.Buffer
				_, err := io.Copy(&buf, r)
				return buf.Bytes(), err
			})
		}},
		{"Stream/OneByte", func(ctx context.Context, c *Client, m string, p json.RawMessage) ([]byte, error) {
			return streamWith(ctx, c, m, p, func(r *Result) ([]byte, error) {
				return io.ReadAll(iotest.OneByteReader(r))
			})
		}},
	}
}

func streamWith(ctx context.Context, c *Client, method string, params json.RawMessage, read func(*Result) ([]byte, error)) ([]byte, error) {
	r, err := c.Stream(ctx, method, params)
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Close() }()
	return read(r)
}

// testContext bounds a call, so that a misread response fails the test
// instead of hanging it.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestResults(t *testing.T) {
	bigNums := `{"u64":18446744073709551615,"neg":-9007199254740993,"f":1.5e300,"s":"é\u00e9\"\\"}`
	tests := []struct {
		name   string
		method string
		params json.RawMessage
		want   string
	}{
		{"u64 and big negative ints exact", "echo", json.RawMessage(bigNums), bigNums},
		{"array of big numbers", "echo", json.RawMessage(`[18446744073709551615,-9007199254740993]`), `[18446744073709551615,-9007199254740993]`},
		{"nil params sent as {}", "echo", nil, `{}`},
		{"null params sent as {}", "echo", json.RawMessage(`null`), `{}`},
		{"number result", "raw", rawParams(`{"jsonrpc":"2.0","id":$ID,"result":18446744073709551615}` + "\n\n"), `18446744073709551615`},
		{"string result", "raw", rawParams(`{"jsonrpc":"2.0","id":$ID,"result":"a\"}b"}` + "\n\n"), `"a\"}b"`},
		{"null result", "raw", rawParams(`{"jsonrpc":"2.0","id":$ID,"result":null}` + "\n\n"), `null`},
		{"whitespace everywhere", "raw", rawParams("\n {\t\"jsonrpc\" : \"2.0\" ,\r\n\"id\"\t:  $ID , \"result\" :  { \"x\" : [ 1 , 2 ] }  }  \n\n"), `{ "x" : [ 1 , 2 ] }`},
		{"id after result", "raw", rawParams(`{"result":{"id":"not it"},"jsonrpc":"2.0","id":$ID}` + "\n\n"), `{"id":"not it"}`},
		{"unknown members ignored", "raw", rawParams(`{"jsonrpc":"2.0","x":{"result":1},"id":$ID,"result":[],"y":[{}]}` + "\n\n"), `[]`},
		{"result containing blank lines", "raw", rawParams("{\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":{\"a\":\n\n\"b\\n\\n\"}}\n\n"), "{\"a\":\n\n\"b\\n\\n\"}"},
		{"notifications before response skipped", "raw", rawParams(
			`{"jsonrpc":"2.0","method":"message","params":{"id":$ID,"level":"info","message":"working"}}` + "\n\n" +
				`{"jsonrpc":"2.0","method":"progress","params":{"id":"other","num":1,"total":2}}` + "\n\n" +
				`{"jsonrpc":"2.0","id":$ID,"result":{"ok":true}}` + "\n\n"), `{"ok":true}`},
	}
	path := socketPath(t)
	f := startFake(t, path)
	c := newClient(t, path, Config{})
	for _, tt := range tests {
		for _, rd := range resultReaders() {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				got, err := rd.get(testContext(t), c, tt.method, tt.params)
				if err != nil {
					t.Fatalf("got error %v; want result %s", err, tt.want)
				}
				if string(got) != tt.want {
					t.Errorf("got result %s; want %s", got, tt.want)
				}
			})
		}
	}
	if accepted, _ := f.counts(); accepted != 1 {
		t.Errorf("got %d connections accepted; want 1 (every response leaves its connection reusable)", accepted)
	}
}

func TestRequestFormat(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		method     string
		params     json.RawMessage
		wantPrefix string
		wantParams string
	}{
		{"default prefix", Config{}, "getinfo", nil, `"clnrest:getinfo#`, `{}`},
		{"custom prefix", Config{IDPrefix: "rest-2"}, "listpeers", json.RawMessage(`{"id":"02ab"}`), `"rest-2:listpeers#`, `{"id":"02ab"}`},
		{"odd method name escaped", Config{}, "we\"ird/ме", json.RawMessage(`["x"]`), `"clnrest:call#`, `["x"]`},
		{"bad prefix replaced", Config{IDPrefix: "a b"}, "getinfo", nil, `"clnrest:getinfo#`, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socketPath(t)
			f := startFake(t, path)
			c := newClient(t, path, tt.cfg)
			_, _ = c.Call(context.Background(), tt.method, tt.params) // unknown methods fail; the request is what matters
			req := f.lastRequest(t)
			if req.JSONRPC != "2.0" {
				t.Errorf("got jsonrpc %q; want 2.0", req.JSONRPC)
			}
			if !strings.HasPrefix(string(req.ID), tt.wantPrefix) {
				t.Errorf("got id %s; want a string starting %s", req.ID, tt.wantPrefix)
			}
			if req.Method != tt.method {
				t.Errorf("got method %q; want %q", req.Method, tt.method)
			}
			if string(req.Params) != tt.wantParams {
				t.Errorf("got params %s; want %s", req.Params, tt.wantParams)
			}
		})
	}
}

func TestInvalidParams(t *testing.T) {
	path := socketPath(t)
	f := startFake(t, path)
	c := newClient(t, path, Config{})
	_, err := c.Call(context.Background(), "echo", json.RawMessage(`{"a":`))
	if err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("got error %v; want a params error", err)
	}
	if accepted, _ := f.counts(); accepted != 0 {
		t.Errorf("got %d connections; want 0 (invalid params are refused before dialling)", accepted)
	}
}

func TestErrorObject(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		params   json.RawMessage
		want     Error
		wantData string
	}{
		{"data kept whole", "fail",
			json.RawMessage(`{"code":-32602,"message":"Invalid \"amount\"","data":{"msat":18446744073709551615,"neg":-9007199254740993,"l":[1.0,{"x":null}]}}`),
			Error{Code: -32602, Message: `Invalid "amount"`}, `{"msat":18446744073709551615,"neg":-9007199254740993,"l":[1.0,{"x":null}]}`},
		{"no data", "fail", json.RawMessage(`{"code":1502,"message":"Not permitted: method not present"}`),
			Error{Code: 1502, Message: "Not permitted: method not present"}, ""},
		{"unknown method", "nosuchmethod", nil,
			Error{Code: -32601, Message: "Unknown command 'nosuchmethod'"}, ""},
		{"id after error, notification before", "raw", rawParams(
			`{"jsonrpc":"2.0","method":"message","params":{"id":$ID}}` + "\n\n" +
				`{"error":{"code":206,"message":"x","data":"s"},"jsonrpc":"2.0","id":$ID}` + "\n\n"),
			Error{Code: 206, Message: "x"}, `"s"`},
	}
	path := socketPath(t)
	f := startFake(t, path)
	c := newClient(t, path, Config{})
	for _, tt := range tests {
		for _, mode := range []string{"Call", "Stream"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				var err error
				if mode == "Call" {
					_, err = c.Call(testContext(t), tt.method, tt.params)
				} else {
					var r *Result
					if r, err = c.Stream(testContext(t), tt.method, tt.params); r != nil {
						_ = r.Close()
						t.Fatal("got a Result; want nil with the error")
					}
				}
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("got error %v; want *Error", err)
				}
				if e.Code != tt.want.Code || e.Message != tt.want.Message || string(e.Data) != tt.wantData {
					t.Errorf("got {%d %q %s}; want {%d %q %s}", e.Code, e.Message, e.Data, tt.want.Code, tt.want.Message, tt.wantData)
				}
				if errors.Is(err, ErrUnavailable) {
					t.Errorf("got %v marked unavailable; want only *Error", err)
				}
			})
		}
	}
	if accepted, _ := f.counts(); accepted != 1 {
		t.Errorf("got %d connections accepted; want 1 (an error response leaves the connection reusable)", accepted)
	}
}

func TestErrorMarshal(t *testing.T) {
	tests := []struct {
		name string
		e    Error
		want string
	}{
		{"with data", Error{Code: -1, Message: "m", Data: json.RawMessage(`{"a":18446744073709551615}`)}, `{"code":-1,"message":"m","data":{"a":18446744073709551615}}`},
		{"without data", Error{Code: 1501, Message: "Not authorized: Missing rune"}, `{"code":1501,"message":"Not authorized: Missing rune"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(&tt.e)
			if err != nil || string(got) != tt.want {
				t.Errorf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestProtocolErrors(t *testing.T) {
	tests := []struct {
		name string
		tmpl string
	}{
		{"wrong id", `{"jsonrpc":"2.0","id":"clnrest:other#1","result":{}}`},
		{"wrong id after result", `{"jsonrpc":"2.0","result":{"a":1},"id":7}`},
		{"no id", `{"jsonrpc":"2.0","result":{}}`},
		{"neither result nor error", `{"jsonrpc":"2.0","id":$ID}`},
		{"result and error", `{"jsonrpc":"2.0","id":$ID,"error":{"code":1,"message":"m"},"result":{}}`},
		{"not an object", `[1,2]`},
		{"missing colon", `{"jsonrpc" "2.0"}`},
		{"trailing comma", `{"jsonrpc":"2.0","id":$ID,"result":{},}`},
		{"error not an object", `{"jsonrpc":"2.0","id":$ID,"error":"bad"}`},
		{"null id without error", `{"jsonrpc":"2.0","id":null,"result":{}}`},
	}
	path := socketPath(t)
	f := startFake(t, path)
	c := newClient(t, path, Config{})
	readers := resultReaders()
	for i, tt := range tests {
		for j, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				_, err := rd.get(testContext(t), c, "raw", rawParams(tt.tmpl+"\n\n"))
				if !errors.Is(err, ErrProtocol) {
					t.Errorf("got error %v; want ErrProtocol", err)
				}
				// Each failure discards its connection, so each case dials anew.
				if accepted, _ := f.counts(); accepted != i*len(readers)+j+1 {
					t.Errorf("got %d connections accepted; want %d", accepted, i*len(readers)+j+1)
				}
			})
		}
	}
}

func TestNullIDError(t *testing.T) {
	// lightningd answers a request it cannot parse with id null, then closes.
	path := socketPath(t)
	f := startFake(t, path)
	c := newClient(t, path, Config{})
	_, err := c.Call(context.Background(), "raw", rawParams(`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Expected {} for json command"}}`+"\n\n"))
	var e *Error
	if !errors.As(err, &e) || e.Code != -32600 {
		t.Fatalf("got %v; want *Error with code -32600", err)
	}
	if _, err := c.Call(context.Background(), "echo", nil); err != nil {
		t.Fatalf("got %v on the next call; want success", err)
	}
	if accepted, _ := f.counts(); accepted != 2 {
		t.Errorf("got %d connections accepted; want 2 (the null-id connection is discarded)", accepted)
	}
}

func TestConcurrentCalls(t *testing.T) {
	const callers, maxConns = 200, 4
	path := socketPath(t)
	f := startFake(t, path)
	c := newClient(t, path, Config{MaxConns: maxConns})
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			want := fmt.Sprintf(`{"caller":%d,"big":18446744073709551615}`, i)
			got, err := c.Call(context.Background(), "slow", json.RawMessage(want))
			switch {
			case err != nil:
				errs <- fmt.Errorf("caller %d: %w", i, err)
			case string(got) != want:
				errs <- fmt.Errorf("caller %d: got %s; want %s", i, got, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if accepted, _ := f.counts(); accepted > maxConns {
		t.Errorf("got %d connections accepted; want at most %d", accepted, maxConns)
	}
}

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		call  string
	}{
		{"socket missing", func(t *testing.T, path string) {}, "echo"},
		{"connection refused", func(t *testing.T, path string) {
			f := startFake(t, path)
			f.ln.SetUnlinkOnClose(false) // leave the socket file with nobody listening
			f.stop()
		}, "echo"},
		{"closed mid-response", func(t *testing.T, path string) { startFake(t, path) }, "cut"},
		{"closed before response", func(t *testing.T, path string) { startFake(t, path) }, "drop"},
	}
	for _, tt := range tests {
		for _, rd := range resultReaders() {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				path := socketPath(t)
				tt.setup(t, path)
				c := newClient(t, path, Config{})
				_, err := rd.get(context.Background(), c, tt.call, nil)
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("got error %v; want ErrUnavailable", err)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("got error %q; want it to name the socket %s", err, path)
				}
			})
		}
	}
}

func TestReconnect(t *testing.T) {
	tests := []struct {
		name          string
		callWhileDown bool
	}{
		{"call while down", true},
		{"stale idle connection", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socketPath(t)
			f := startFake(t, path)
			c := newClient(t, path, Config{})
			if _, err := c.Call(context.Background(), "echo", nil); err != nil {
				t.Fatalf("first call: got %v; want success", err)
			}
			f.stop()
			if tt.callWhileDown {
				if _, err := c.Call(context.Background(), "echo", nil); !errors.Is(err, ErrUnavailable) {
					t.Fatalf("call while down: got %v; want ErrUnavailable", err)
				}
			}
			f2 := startFake(t, path)
			got, err := c.Call(context.Background(), "echo", json.RawMessage(`[1]`))
			if err != nil || string(got) != `[1]` {
				t.Fatalf("call after restart: got %s, %v; want [1]", got, err)
			}
			if accepted, _ := f2.counts(); accepted != 1 {
				t.Errorf("got %d connections to the restarted server; want 1", accepted)
			}
		})
	}
}

// hangCancelledEarly makes a call that lightningd never answers, with a
// context cancelled well before the call's watch is armed.
func hangCancelledEarly(ctx context.Context, c *Client) error {
	ctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(watchDelay/10, cancel)
	_, err := c.Call(ctx, "hang", nil)
	return err
}

func TestContextCancel(t *testing.T) {
	tests := []struct {
		name     string
		maxConns int
		run      func(ctx context.Context, c *Client) error
		want     error
		wantHang bool // the hung connection must have been discarded
	}{
		{"deadline while lightningd works", 0, func(ctx context.Context, c *Client) error {
			_, err := c.Call(ctx, "hang", nil)
			return err
		}, context.DeadlineExceeded, true},
		{"cancelled before the watch is armed", 0, func(ctx context.Context, c *Client) error {
			// The watch starts after watchDelay: a context that ends first
			// still interrupts the call then.
			return hangCancelledEarly(ctx, c)
		}, context.Canceled, true},
		{"cancelled while an earlier call's timer is set", 1, func(ctx context.Context, c *Client) error {
			// The one connection's timer, set by the echo, fires before
			// the hang has run watchDelay: it must be set again, not lost.
			if _, err := c.Call(ctx, "echo", nil); err != nil {
				return fmt.Errorf("echo: %w", err)
			}
			time.Sleep(watchDelay / 2)
			return hangCancelledEarly(ctx, c)
		}, context.Canceled, true},
		{"already cancelled", 0, func(ctx context.Context, c *Client) error {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := c.Call(ctx, "echo", nil)
			return err
		}, context.Canceled, false},
		{"stream deadline before result", 0, func(ctx context.Context, c *Client) error {
			_, err := c.Stream(ctx, "hang", nil)
			return err
		}, context.DeadlineExceeded, true},
		{"stream deadline mid-result", 0, func(ctx context.Context, c *Client) error {
			r, err := c.Stream(ctx, "partial", nil)
			if err != nil {
				return fmt.Errorf("stream started with %w", err)
			}
			defer func() { _ = r.Close() }()
			_, err = io.Copy(io.Discard, r)
			return err
		}, context.DeadlineExceeded, true},
		{"waiting for a connection", 1, func(ctx context.Context, c *Client) error {
			hung := make(chan error, 1)
			hctx, cancel := context.WithCancel(context.Background())
			defer func() { cancel(); <-hung }()
			go func() { _, err := c.Call(hctx, "hang", nil); hung <- err }()
			waitFor(t, "the hanging call to hold the only connection", func() bool {
				c.mu.Lock()
				defer c.mu.Unlock()
				return c.open == 1 && len(c.idle) == 0
			})
			_, err := c.Call(ctx, "echo", nil)
			return err
		}, context.DeadlineExceeded, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socketPath(t)
			f := startFake(t, path)
			c := newClient(t, path, Config{MaxConns: tt.maxConns})
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- tt.run(ctx, c) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("the call did not end within 5s of its context's end")
			}
			if !errors.Is(err, tt.want) || errors.Is(err, ErrUnavailable) {
				t.Fatalf("got error %v; want %v and not ErrUnavailable", err, tt.want)
			}
			if tt.wantHang {
				select {
				case <-f.hungUp:
				case <-time.After(5 * time.Second):
					t.Fatal("the cancelled call's connection was not closed")
				}
			}
			got, err := c.Call(context.Background(), "echo", json.RawMessage(`"after"`))
			if err != nil || string(got) != `"after"` {
				t.Errorf("next call: got %s, %v; want \"after\"", got, err)
			}
		})
	}
}

// failingWriter accepts limit bytes, then fails.
type failingWriter struct{ limit int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errors.New("client went away")
	}
	w.limit -= len(p)
	return len(p), nil
}

func TestStreamAbandoned(t *testing.T) {
	tests := []struct {
		name    string
		abandon func(r *Result) error // stops consuming the result part way
	}{
		{"Close after a few bytes", func(r *Result) error {
			buf := make([]byte, 100)
			if _, err := io.ReadFull(r, buf); err != nil || buf[0] != '[' {
				return fmt.Errorf("got %q, %w; want the start of the result", buf, err)
			}
			return nil
		}},
		{"writer fails", func(r *Result) error {
			if n, err := io.Copy(&failingWriter{limit: 100000}, r); n != 100000 || err == nil {
				return fmt.Errorf("got %d, %w; want 100000 and the writer's error", n, err)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socketPath(t)
			f := startFake(t, path)
			c := newClient(t, path, Config{})
			r, err := c.Stream(context.Background(), "big", json.RawMessage(`{"elements":8192}`)) // 8 MiB
			if err != nil {
				t.Fatalf("got %v; want a stream", err)
			}
			if err := tt.abandon(r); err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Errorf("got Close error %v; want nil", err)
			}
			if n, err := r.Read(make([]byte, 10)); n != 0 || err == nil {
				t.Errorf("Read after Close: got %d, %v; want 0 and an error", n, err)
			}
			got, err := c.Call(context.Background(), "echo", json.RawMessage(`{"next":1}`))
			if err != nil || string(got) != `{"next":1}` {
				t.Fatalf("next call: got %s, %v; want {\"next\":1}", got, err)
			}
			if accepted, _ := f.counts(); accepted != 2 {
				t.Errorf("got %d connections accepted; want 2 (the abandoned stream's connection is discarded)", accepted)
			}
		})
	}
}

func TestStreamLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200 MB")
	}
	const elements = 200 << 10 // 1 KiB each: about 200 MiB
	path := socketPath(t)
	startFake(t, path)
	c := newClient(t, path, Config{})

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r, err := c.Stream(context.Background(), "big", json.RawMessage(fmt.Sprintf(`{"elements":%d}`, elements)))
	if err != nil {
		t.Fatalf("got %v; want a stream", err)
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		t.Fatalf("got copy error %v; want nil", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("got Close error %v; want nil", err)
	}
	runtime.ReadMemStats(&after)

	if want := bigResultLen(elements); n != want {
		t.Errorf("got %d result bytes; want %d", n, want)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	if limit := uint64(n / 100); allocated > limit {
		t.Errorf("got %d bytes allocated while streaming %d; want at most %d", allocated, n, limit)
	}
	t.Logf("streamed %d bytes with %d bytes allocated (client and fake server)", n, allocated)
	if got, err := c.Call(context.Background(), "echo", nil); err != nil || string(got) != "{}" {
		t.Errorf("next call: got %s, %v; want {}", got, err)
	}
}

func TestClose(t *testing.T) {
	path := socketPath(t)
	f := startFake(t, path)
	c := New(path, Config{})
	inflight := make(chan error, 1)
	go func() { _, err := c.Call(context.Background(), "hang", nil); inflight <- err }()
	waitFor(t, "the hanging call to reach lightningd", func() bool {
		accepted, _ := f.counts()
		return accepted == 1
	})
	if err := c.Close(); err != nil {
		t.Fatalf("got Close error %v; want nil", err)
	}
	select {
	case err := <-inflight:
		if !errors.Is(err, ErrClosed) || !errors.Is(err, ErrUnavailable) {
			t.Errorf("in-flight call: got %v; want ErrClosed and ErrUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight call still running after Close")
	}
	for _, rd := range resultReaders() {
		if _, err := rd.get(context.Background(), c, "echo", nil); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s after Close: got %v; want ErrClosed and ErrUnavailable", rd.name, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: got %v; want nil", err)
	}
}

func TestIdleConnections(t *testing.T) {
	tests := []struct {
		name         string
		cfg          Config
		wantAccepted int // after two sequential calls
		wantClosed   bool
	}{
		{"reused", Config{}, 1, false},
		{"idle timeout closes", Config{IdleTimeout: 20 * time.Millisecond}, 1, true},
		{"no idle kept", Config{MaxIdle: -1}, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socketPath(t)
			f := startFake(t, path)
			c := newClient(t, path, tt.cfg)
			for range 2 {
				if _, err := c.Call(context.Background(), "echo", nil); err != nil {
					t.Fatalf("got %v; want success", err)
				}
			}
			accepted, _ := f.counts()
			if accepted != tt.wantAccepted {
				t.Errorf("got %d connections accepted; want %d", accepted, tt.wantAccepted)
			}
			if tt.wantClosed {
				waitFor(t, "the idle connections to close", func() bool {
					accepted, closed := f.counts()
					return closed == accepted
				})
				return
			}
			time.Sleep(20 * time.Millisecond)
			if _, closed := f.counts(); closed != 0 {
				t.Errorf("got %d connections closed; want 0 within the idle timeout", closed)
			}
		})
	}
}

// TestNoChurnUnderSteadyLoad: callers that stay within MaxConns, pausing
// now and then between calls as HTTP requests do, reuse the connections
// they opened instead of closing some as calls end and dialling again as
// calls start.
func TestNoChurnUnderSteadyLoad(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		callers int
	}{
		{"default pool, 48 callers", Config{}, 48},
		{"MaxConns 8, 8 callers", Config{MaxConns: 8}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := socketPath(t)
			f := startFake(t, path)
			c := newClient(t, path, tt.cfg)
			var wg sync.WaitGroup
			for range tt.callers {
				wg.Go(func() {
					for i := range 100 {
						if _, err := c.Call(context.Background(), "echo", nil); err != nil {
							t.Errorf("got %v; want success", err)
							return
						}
						if i%10 == 0 {
							time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
						}
					}
				})
			}
			wg.Wait()
			if accepted, closed := f.counts(); accepted > tt.callers || closed != 0 {
				t.Errorf("got %d connections accepted, %d closed; want at most %d accepted, none closed", accepted, closed, tt.callers)
			}
		})
	}
}
