package main

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/clnrest/clnrest/internal/lightningdtest"
)

// BenchmarkGateway is clnrest's hot path, POST /v1/getinfo with a rune,
// one request at a time:
//
//	http/fake/log    server.Server + rest.Handler + runeauth + lnrpc, access
//	                 log into a pipe as in production, fake lightningd
//	http/fake/nolog  the same without the access log
//	handler/fake     rest.Handler.ServeHTTP called directly (no net/http server)
//	http/sim         like http/fake/log, against the simulated lightningd
//
// With the fake lightningd and the raw client allocating nothing per
// request, allocs/op is the gateway's own. Profile with
//
//	go test -run '^$' -bench 'Gateway/http/fake/log' -benchmem -cpuprofile cpu.out ./cmd/clnrest-bench
//	go tool pprof -top -cum cmd/clnrest-bench.test cpu.out
func BenchmarkGateway(b *testing.B) {
	b.Run("http/fake/log", func(b *testing.B) { benchHTTP(b, fakeEnv(b, true)) })
	b.Run("http/fake/nolog", func(b *testing.B) { benchHTTP(b, fakeEnv(b, false)) })
	b.Run("handler/fake", benchHandler)
	b.Run("http/sim", benchSim)
}

func fakeEnv(b *testing.B, accessLog bool) string {
	env, err := startGatewayEnv(accessLog)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(env.Close)
	return env.addr
}

func benchHTTP(b *testing.B, addr string) {
	benchHTTPRune(b, addr, "bench-rune")
}

func benchHTTPRune(b *testing.B, addr, rune string) {
	c, err := dialRaw(addr, nil, "/v1/getinfo", rune)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := expect201(c); err != nil {
			b.Fatal(err)
		}
	}
}

// benchHandler calls the handler directly with a reused request and a
// response writer that allocates nothing.
func benchHandler(b *testing.B) {
	dir := b.TempDir()
	socket := filepath.Join(dir, "lightning-rpc")
	node, err := startFakeNode(socket)
	if err != nil {
		b.Fatal(err)
	}
	defer node.Close()
	gw, err := newGateway(socket, true)
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	req := &http.Request{
		Method: http.MethodPost, URL: &url.URL{Path: "/v1/getinfo"}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Rune": {"bench-rune"}}, Body: http.NoBody, Host: "127.0.0.1", RemoteAddr: "127.0.0.1:1",
	}
	req = req.WithContext(context.Background())
	w := &nullWriter{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		w.status = 0
		gw.Handler.ServeHTTP(w, req)
		if w.status != http.StatusCreated {
			b.Fatalf("got status %d; want 201", w.status)
		}
	}
}

// nullWriter is an http.ResponseWriter that keeps only the status.
type nullWriter struct {
	header http.Header
	status int
}

func (w *nullWriter) Header() http.Header { return w.header }
func (w *nullWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *nullWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}

// benchSim is the gateway in front of the simulated lightningd (real rune
// checks).
func benchSim(b *testing.B) {
	dir := b.TempDir()
	rpc, err := lightningdtest.NewRPCServer(lightningdtest.RPCConfig{SocketPath: filepath.Join(dir, "lightning-rpc")})
	if err != nil {
		b.Fatal(err)
	}
	defer rpc.Close()
	rune, err := rpc.CreateRune()
	if err != nil {
		b.Fatal(err)
	}
	gw, err := newGateway(rpc.SocketPath(), true)
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	addr, stop, err := gw.serve()
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	benchHTTPRune(b, addr, rune)
}

// BenchmarkGatewayParallel is http/fake/log with 64 concurrent clients,
// each on its own keep-alive connection: ns/op is then about the CPU per
// request of gateway, client and fake lightningd together on GOMAXPROCS
// cores, and the profile shows the gateway under load.
func BenchmarkGatewayParallel(b *testing.B) {
	b.Run("log", func(b *testing.B) { benchParallel(b, fakeEnv(b, true)) })
	b.Run("nolog", func(b *testing.B) { benchParallel(b, fakeEnv(b, false)) })
}

func benchParallel(b *testing.B, addr string) {
	b.SetParallelism(32) // 32 × GOMAXPROCS(2) = 64 clients
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c, err := dialRaw(addr, nil, "/v1/getinfo", "bench-rune")
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		for pb.Next() {
			if err := expect201(c); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
