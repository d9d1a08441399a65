package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clnrest/clnrest/internal/lightningdtest"
	"github.com/clnrest/clnrest/lnrpc"
)

func TestPercentile(t *testing.T) {
	lat := make([]time.Duration, 100)
	for i := range lat {
		lat[i] = time.Duration(i+1) * time.Microsecond
	}
	tests := []struct {
		name string
		res  loadResult
		p    float64
		want time.Duration
	}{
		{"p50 of 1..100", loadResult{Latencies: lat}, 50, 50 * time.Microsecond},
		{"p99 of 1..100", loadResult{Latencies: lat}, 99, 99 * time.Microsecond},
		{"p100 of 1..100", loadResult{Latencies: lat}, 100, 100 * time.Microsecond},
		{"one sample", loadResult{Latencies: lat[:1]}, 99, time.Microsecond},
		{"no sample", loadResult{}, 50, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.res.Percentile(tt.p); got != tt.want {
				t.Errorf("got %s; want %s", got, tt.want)
			}
		})
	}
}

func TestCombineTakesTheMedianRate(t *testing.T) {
	segs := []loadResult{
		{Requests: 100, Window: time.Second, Latencies: []time.Duration{3}, CPU: []time.Duration{1, 2}},
		{Requests: 900, Window: time.Second, Latencies: []time.Duration{1}, CPU: []time.Duration{1, 2}},
		{Requests: 300, Window: time.Second, Latencies: []time.Duration{2}, CPU: []time.Duration{1, 2}},
	}
	got := combine(segs)
	if got.Rate() != 300 || got.Requests != 1300 || got.CPU[1] != 6 || got.Latencies[0] != 1 {
		t.Errorf("got rate %v, %d requests, CPU %v, latencies %v; want 300, 1300, [3 6], sorted", got.Rate(), got.Requests, got.CPU, got.Latencies)
	}
}

func TestRunLoadIsBounded(t *testing.T) {
	tests := []struct {
		name      string
		spec      loadSpec
		wantAtMax int
	}{
		{"by requests", loadSpec{Concurrency: 4, Duration: time.Minute, MaxRequests: 40}, 40},
		{"by time", loadSpec{Concurrency: 4, Duration: 100 * time.Millisecond, MaxRequests: 1 << 40}, 1 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.NewClient = func(int) request {
				return func(context.Context) error { time.Sleep(time.Millisecond); return nil }
			}
			start := time.Now()
			res := runLoad(tt.spec)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s; want it bounded", d)
			}
			if res.Requests == 0 || res.Requests > tt.wantAtMax {
				t.Errorf("got %d requests; want 1 to %d", res.Requests, tt.wantAtMax)
			}
		})
	}
}

// TestRawClient reads Content-Length and chunked responses on one
// keep-alive connection.
func TestRawClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Rune") != "r1" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"ok":true}`)
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // forces chunked encoding
			fmt.Fprint(w, strings.Repeat("x", 5000))
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	for _, path := range []string{"/plain", "/chunked"} {
		t.Run(path, func(t *testing.T) {
			c, err := dialRaw(ln.Addr().String(), nil, path, "r1")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for i := range 3 {
				if status, err := c.Do(); err != nil || status != http.StatusCreated {
					t.Fatalf("request %d: got %d, %v; want 201", i, status, err)
				}
			}
		})
	}
}

func TestFakeNodeAnswers(t *testing.T) {
	tests := []struct{ method, want string }{
		{"checkrune", `{"jsonrpc":"2.0","id":"x:checkrune#1","result":{"valid":true}}`},
		{"getinfo", `{"jsonrpc":"2.0","id":"x:getinfo#1","result":` + fakeGetinfo + `}`},
		{"nosuch", `{"jsonrpc":"2.0","id":"x:nosuch#1","error":{"code":-32601,"message":"Unknown command"}}`},
	}
	path := filepath.Join(t.TempDir(), "rpc")
	f, err := startFakeNode(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			fmt.Fprintf(nc, `{"jsonrpc":"2.0","id":"x:%s#1","method":"%s","params":{"s":"}{\""}}`, tt.method, tt.method)
			got, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			br.ReadString('\n')
			if strings.TrimSpace(got) != tt.want {
				t.Errorf("got %s; want %s", got, tt.want)
			}
		})
	}
}

// TestProcessReadings finds this test's own listener by port and reads
// this process's CPU time and memory.
func TestProcessReadings(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pid, err := pidListening(ln.Addr().(*net.TCPAddr).Port)
	if err != nil || pid != os.Getpid() {
		t.Errorf("pidListening: got %d, %v; want %d", pid, err, os.Getpid())
	}
	if cpu, err := cpuTime(os.Getpid()); err != nil || cpu < 0 {
		t.Errorf("cpuTime: got %s, %v; want a time", cpu, err)
	}
	m, err := readMemory(os.Getpid())
	if err != nil || m.RSS <= 0 || m.HWM < m.RSS {
		t.Errorf("readMemory: got %+v, %v; want RSS > 0 and HWM ≥ RSS", m, err)
	}
}

func TestInvoicesFor(t *testing.T) {
	var w countingWriter
	n := invoicesFor(2e6)
	if err := streamInvoices(context.Background(), []byte(fmt.Sprintf(`{"limit":%d}`, n)), &w); err != nil {
		t.Fatal(err)
	}
	if w.n < 1.9e6 || w.n > 2.1e6 {
		t.Errorf("got %d bytes for %d invoices; want about 2e6", w.n, n)
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// TestUpstreamPattern runs upstream's three calls against the simulator:
// a stored rune passes, a made-up one fails at checkrune.
func TestUpstreamPattern(t *testing.T) {
	rpc, err := lightningdtest.NewRPCServer(lightningdtest.RPCConfig{SocketPath: filepath.Join(t.TempDir(), "rpc")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rpc.Close() })
	good, err := rpc.CreateRune()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, rune string
		wantErr    bool
	}{
		{"stored rune", good, false},
		{"not a rune", "bm90IGEgcnVuZQ==", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := upstreamPattern(rpc.SocketPath(), tt.rune)(context.Background())
			if (err != nil) != tt.wantErr {
				t.Errorf("got %v; want error: %t", err, tt.wantErr)
			}
		})
	}
}

// TestBareRelay serves keep-alive requests through the relay against the
// simulator: a stored rune gets getinfo's result with a 201, one checkrune
// refuses gets a 500, and the connection stays usable throughout.
func TestBareRelay(t *testing.T) {
	rpc, err := lightningdtest.NewRPCServer(lightningdtest.RPCConfig{SocketPath: filepath.Join(t.TempDir(), "rpc")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rpc.Close() })
	registerBenchCommands(rpc)
	good, err := rpc.CreateRune()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	client := lnrpc.New(rpc.SocketPath(), lnrpc.Config{})
	t.Cleanup(func() { client.Close() })
	go relay(ln, client)
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	tests := []struct {
		name, rune, body string
		wantStatus       int
		wantBody         string
	}{
		{"stored rune", good, "", http.StatusCreated, `"id":"`},
		{"with a body", good, `{"x":1}`, http.StatusCreated, `"id":"`},
		{"not a rune", "bm90IGEgcnVuZQ==", "", http.StatusInternalServerError, "rune: should be base64"},
		{"stored rune again", good, "", http.StatusCreated, `"id":"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fmt.Fprintf(nc, "POST /v1/getinfo HTTP/1.1\r\nHost: x\r\nrune: %s\r\nContent-Length: %d\r\n\r\n%s", tt.rune, len(tt.body), tt.body)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("got %d %s; want %d with %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// TestSyscallCost runs the probe: both figures are measured, a write and
// the read that takes its bytes back out cost more than one getpid, and
// the machine line shows them.
func TestSyscallCost(t *testing.T) {
	c, err := measureSyscallCost()
	if err != nil {
		t.Fatal(err)
	}
	if c.Getpid <= 0 || c.WriteRead <= c.Getpid {
		t.Errorf("got getpid %s, write and read %s; want 0 < getpid < write and read", c.Getpid, c.WriteRead)
	}
	line := (&bench{syscalls: c}).machine()
	for _, want := range []string{roundDuration(c.Getpid).String(), roundDuration(c.WriteRead).String()} {
		if !strings.Contains(line, want) {
			t.Errorf("machine line %q does not show %s", line, want)
		}
	}
}

func TestRoundDuration(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{831 * time.Nanosecond, 831 * time.Nanosecond},
		{1288 * time.Nanosecond, 1290 * time.Nanosecond},
		{3315 * time.Nanosecond, 3320 * time.Nanosecond},
		{12345 * time.Nanosecond, 12300 * time.Nanosecond},
	} {
		if got := roundDuration(tc.in); got != tc.want {
			t.Errorf("roundDuration(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestMedianPerCallStopsAtAnError(t *testing.T) {
	broken := errors.New("broken")
	calls := 0
	_, err := medianPerCall(func() error { calls++; return broken })
	if !errors.Is(err, broken) || calls != 1 {
		t.Errorf("got %v after %d rounds; want the round's error after 1", err, calls)
	}
}
