package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// leakSlack is what may differ from a baseline once traffic is over
// without being a leak: a pooled lightning-rpc connection or two and the
// goroutines of connections still closing.
var leakSlack = baseline{goroutines: 4, fds: 3}

// quiet closes the test client's idle keep-alive connections, so that
// clnrest's count of descriptors and goroutines is its own.
func (e *env) quiet() {
	e.client.CloseIdleConnections()
}

// settledBaseline warms clnrest up (one of each kind of call), then
// measures what it holds at rest.
func (e *env) settledBaseline() baseline {
	e.t.Helper()
	for _, m := range []string{"getinfo", "listinvoices"} {
		if r := e.post("/v1/"+m, ""); r.status != http.StatusCreated {
			e.t.Fatalf("warm-up %s: got %d %s; want 201", m, r.status, r.body)
		}
	}
	e.quiet()
	time.Sleep(200 * time.Millisecond)
	return e.measure()
}

// unavailableBody checks a 503 answer for lightningd being unreachable.
func checkUnavailable(t *testing.T, what string, r response) {
	t.Helper()
	var body struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	}
	err := json.Unmarshal([]byte(r.body), &body)
	if r.status != http.StatusServiceUnavailable || err != nil || body.Code != -32603 ||
		!strings.HasPrefix(body.Message, "lightningd is unavailable: ") {
		t.Errorf("%s: got %d %s; want 503 {\"code\":-32603,\"message\":\"lightningd is unavailable: ...\"}", what, r.status, r.body)
	}
}

func TestRPCSocketOutage(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	base := e.settledBaseline()

	if err := e.node.RPC.CloseListener(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	outage := make([]response, 8)
	for i := range outage {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outage[i] = e.post("/v1/getinfo", "")
		}()
	}
	wg.Wait()
	for i, r := range outage {
		checkUnavailable(t, fmt.Sprintf("request %d during the outage", i), r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sio, err := e.dialSIO(ctx, sioOptions{})
	if err != nil {
		t.Fatalf("Socket.IO during the outage: %v", err)
	}
	sio.Close()
	if !strings.HasPrefix(sio.Connect, "44") || !strings.Contains(sio.Connect, "lightningd is unavailable") {
		t.Errorf("Socket.IO CONNECT during the outage: got %s; want 44{...lightningd is unavailable...}", sio.Connect)
	}
	e.waitLog(`request failed.*status=503`)

	if err := e.node.RPC.Listen(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"getinfo", "listinvoices", "getinfo"} {
		if r := e.post("/v1/"+m, ""); r.status != http.StatusCreated {
			t.Errorf("%s after the outage: got %d %s; want 201", m, r.status, r.body)
		}
	}
	e.mustDialSIO(sioOptions{}).Close()
	e.quiet()
	got := e.settle(base, leakSlack, 10*time.Second)
	t.Logf("baseline %+v, after the outage %+v", base, got)
}

// bigResult streams a result of size bytes: {"data":"xxx..."}.
func bigResult(size int) func(ctx context.Context, params json.RawMessage, w io.Writer) error {
	chunk := []byte(strings.Repeat("x", 64<<10))
	return func(ctx context.Context, params json.RawMessage, w io.Writer) error {
		if _, err := io.WriteString(w, `{"data":"`); err != nil {
			return err
		}
		for n := 0; n < size; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, `"}`)
		return err
	}
}

// brokenResult writes part of a result, then fails: the simulated
// lightningd closes the connection in the middle of its answer.
func brokenResult(ctx context.Context, params json.RawMessage, w io.Writer) error {
	if _, err := io.WriteString(w, `{"items":[`); err != nil {
		return err
	}
	for i := range 5000 {
		if _, err := fmt.Fprintf(w, `{"n":%d,"pad":"%s"},`, i, strings.Repeat("p", 40)); err != nil {
			return err
		}
	}
	return errors.New("lightningd went away in the middle of its answer")
}

func TestConnectionDroppedMidResponse(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	e.node.RPC.HandleStream("brokendump", "", brokenResult)
	e.node.RPC.HandleStream("bigdump", "", bigResult(50<<20))
	base := e.settledBaseline()

	tests := []struct {
		name string
		drop func(t *testing.T)
	}{
		{"lightningd closes mid-result", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.base+"/v1/brokendump", nil)
			req.Header.Set("Rune", e.rune)
			res, err := e.client.Do(req)
			if err != nil {
				return // cut before the status line: also a broken response
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if err == nil {
				t.Errorf("brokendump: got %d and a complete body of %d bytes; want a broken response", res.StatusCode, len(body))
			}
			if json.Valid(body) {
				t.Errorf("brokendump: the truncated body parses as JSON")
			}
		}},
		{"HTTP client leaves mid-result", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.base+"/v1/bigdump", nil)
			req.Header.Set("Rune", e.rune)
			res, err := e.client.Do(req)
			if err != nil {
				t.Fatalf("bigdump: %v", err)
			}
			if res.StatusCode != http.StatusCreated {
				t.Errorf("bigdump: got %d; want 201", res.StatusCode)
			}
			if n, err := io.CopyN(io.Discard, res.Body, 1<<20); n != 1<<20 || err != nil {
				t.Errorf("bigdump: read %d bytes, %v; want 1 MiB", n, err)
			}
			res.Body.Close() // mid-body: the transport closes the connection
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 5 {
				tt.drop(t)
				if r := e.post("/v1/getinfo", ""); r.status != http.StatusCreated {
					t.Errorf("getinfo after the drop: got %d %s; want 201", r.status, r.body)
				}
			}
		})
	}
	e.waitLog(`response cut short.*method=bigdump`)
	// The pool is healthy: a burst of concurrent calls all succeed.
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.post("/v1/listinvoices", ""); r.status != http.StatusCreated {
				t.Errorf("listinvoices after the drops: got %d %s; want 201", r.status, r.body)
			}
		}()
	}
	wg.Wait()
	e.quiet()
	// 16 concurrent calls leave up to 16 idle pooled connections.
	got := e.settle(base, baseline{goroutines: leakSlack.goroutines, fds: 16}, 10*time.Second)
	t.Logf("baseline %+v, after the drops %+v", base, got)
}

func TestShutdownWhileActive(t *testing.T) {
	tests := []struct {
		name string
		stop func(e *env) (int, error)
	}{
		{"shutdown notification", func(e *env) (int, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return e.node.Plugin.Shutdown(ctx)
		}},
		{"stdin closed", func(e *env) (int, error) {
			if err := e.node.Plugin.CloseStdin(); err != nil {
				return -1, err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return e.node.Plugin.Wait(ctx)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, map[string]any{"clnrest-protocol": "http"})
			sio := []*sioClient{e.mustDialSIO(sioOptions{}), e.mustDialSIO(sioOptions{})}
			short, long, wg := e.busy(4, 2)

			began := time.Now()
			code, err := tt.stop(e)
			took := time.Since(began)
			e.stopped = true
			defer e.node.RPC.Close()
			if err != nil || code != 0 || took > 5*time.Second {
				t.Errorf("exit: got code %d, %v after %v; want 0 within 5s", code, err, took)
			}
			wg.Wait()
			for i, r := range *short {
				if r.status != http.StatusCreated {
					t.Errorf("short call %d in flight: got %d %s; want 201", i, r.status, r.body)
				}
			}
			for i, r := range *long {
				checkUnavailable(t, fmt.Sprintf("long call %d in flight", i), r)
			}
			for i, c := range sio {
				checkDisconnected(t, fmt.Sprintf("Socket.IO client %d after the exit", i), c)
			}
			t.Logf("exit 0 after %v", took)
		})
	}
}

// busy puts calls in flight and waits until clnrest serves them all:
// short ones (0.7 s) finish within clnrest's shutdown grace, long ones
// (1 min) do not. The answers are in short and long once wg is done.
func (e *env) busy(nShort, nLong int) (short, long *[]response, wg *sync.WaitGroup) {
	e.t.Helper()
	e.node.RPC.SetDelay("listinvoices", 700*time.Millisecond)
	e.node.RPC.Handle("waitlong", "", func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{}`), nil
	})
	e.node.RPC.SetDelay("waitlong", time.Minute)
	s, l := make([]response, nShort), make([]response, nLong)
	wg = &sync.WaitGroup{}
	for i := range s {
		wg.Add(1)
		go func() { defer wg.Done(); s[i] = e.post("/v1/listinvoices", "") }()
	}
	for i := range l {
		wg.Add(1)
		go func() { defer wg.Done(); l[i] = e.post("/v1/waitlong", "") }()
	}
	waitStats(e.t, e, func(st clnrestStats) bool { return st.RESTRequestsInFlight == int64(nShort+nLong) }, 10*time.Second)
	return &s, &l, wg
}

// checkDisconnected reads until the connection ends; the shutdown
// notification itself may come first.
func checkDisconnected(t *testing.T, what string, c *sioClient) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, err = c.next(ctx)
	}
	if ctx.Err() != nil {
		t.Errorf("%s: got %v; want a disconnect", what, err)
	}
}

// TestNoLeaksAfterTraffic runs a little of everything, then checks that
// clnrest's goroutines and descriptors come back to where they were.
func TestNoLeaksAfterTraffic(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	base := e.settledBaseline()

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				e.post("/v1/getinfo", "")
				e.post("/v1/invoice", fmt.Sprintf(`{"amount_msat":1000,"label":"leak-%d-%d","description":"d"}`, w, i))
				e.post("/v1/nosuchcommand", "")
				e.do(http.MethodPost, "/v1/getinfo", "") // no rune: 403
			}
		}()
	}
	for range 20 {
		c := e.mustDialSIO(sioOptions{})
		if err := e.node.Notify("custom", json.RawMessage(`{"n":1}`)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := c.next(ctx); err != nil {
			t.Errorf("Socket.IO client: %v", err)
		}
		cancel()
		c.Close()
	}
	wg.Wait()
	e.quiet()
	waitStats(t, e, func(s clnrestStats) bool { return s.SocketIOClients == 0 }, 10*time.Second)
	// Up to 8 idle pooled lightning-rpc connections after 8 workers.
	got := e.settle(base, baseline{goroutines: leakSlack.goroutines, fds: 8}, 15*time.Second)
	t.Logf("baseline %+v, after traffic %+v", base, got)
}
