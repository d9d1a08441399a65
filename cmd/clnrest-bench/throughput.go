package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/clnrest/clnrest/lnrpc"
)

// maxRowRequests bounds each measured segment whatever the machine's speed.
const maxRowRequests = 2_000_000

// rounds is how many interleaved segments make one throughput row: the
// rows of a concurrency take turns, so that a burst of other work on a
// shared machine hits all of them alike, and a row's rate is the median
// of its segments.
const rounds = 3

// Names of the throughput rows.
const (
	directPairRow = "direct pair"
	upstreamRow   = "upstream pattern"
	restNetHTTP   = "REST (net/http client)"
	restRawClient = "REST (raw client)"
)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startREST starts clnrest with protocol on a free port.
func (b *bench) startREST(protocol string) (*restServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := b.node.StartREST(ctx, protocol, port)
	if err != nil {
		return nil, fmt.Errorf("starting clnrest (%s): %w", protocol, err)
	}
	b.logf("clnrest %s on %s, pid %d", protocol, srv.Base, srv.PID)
	if b.idleRSS == 0 {
		b.recordIdle(srv)
	}
	return srv, nil
}

// recordIdle notes clnrest's RSS once it has settled after start-up,
// before any request.
func (b *bench) recordIdle(srv *restServer) {
	time.Sleep(time.Second)
	m, err := readMemory(srv.PID)
	if err != nil {
		b.logf("reading clnrest's idle RSS: %v", err)
		return
	}
	b.idleRSS = m.RSS
	b.table.add(row{Test: "idle clnrest", Proto: srv.Proto(),
		Notes: fmt.Sprintf("RSS %s (VmHWM %s) one second after start-up, before any request", mb(m.RSS), mb(m.HWM))})
}

// pids are the processes whose CPU a row reports: clnrest (0 when the
// row does not involve it) and lightningd (0 for the simulator).
func (b *bench) pids(clnrest int) []int { return []int{clnrest, b.node.PID()} }

// nodeCPU is lightningd's (or the simulator's) CPU per request.
func (b *bench) nodeCPU(res loadResult) time.Duration { return res.CPUPerRequest(1) }

// loadCPU is the load generator's (this process's) CPU per request.
func loadCPU(res loadResult) time.Duration {
	if res.Requests == 0 {
		return 0
	}
	return res.SelfCPU / time.Duration(res.Requests)
}

// rowSpec is one throughput row being measured: its clients live across
// the row's segments, so that only the first segment opens connections.
type rowSpec struct {
	test, proto string
	clnrestPID  int
	show        bool // false: measured for the ratios only
	clients     []request
	close       func()
	segments    []loadResult
}

// spec builds a row whose client i is newClient(i).
func spec(test, proto string, pid, conc int, newClient func(int) request, close func()) *rowSpec {
	s := &rowSpec{test: test, proto: proto, clnrestPID: pid, show: true, close: close}
	for i := range conc {
		s.clients = append(s.clients, newClient(i))
	}
	return s
}

// runRows measures specs at concurrency conc in interleaved segments and
// adds the shown ones to the table, with their ratio to the direct pair
// (specs[0]).
func (b *bench) runRows(conc int, specs []*rowSpec) {
	segment := b.set.duration / rounds
	warm := max(b.set.warmup/rounds, 100*time.Millisecond)
	for r := range rounds {
		for _, s := range specs {
			if r == 0 {
				// The first segment also opens the connections.
				runLoad(loadSpec{Concurrency: conc, Warmup: b.set.warmup, MaxRequests: maxRowRequests,
					NewClient: func(i int) request { return s.clients[i] }})
			}
			s.segments = append(s.segments, runLoad(loadSpec{Concurrency: conc, Warmup: warm, Duration: segment,
				MaxRequests: maxRowRequests, PIDs: b.pids(s.clnrestPID),
				NewClient: func(i int) request { return s.clients[i] }}))
		}
	}
	direct := combine(specs[0].segments)
	for _, s := range specs {
		if s.close != nil {
			s.close()
		}
		res := combine(s.segments)
		b.results[rowKey(s.test, s.proto, conc)] = res
		if !s.show {
			continue
		}
		r := row{Measured: true, Test: s.test, Proto: s.proto, Conc: conc, Rate: res.Rate(), P50: res.Percentile(50), P99: res.Percentile(99),
			CPU: res.CPUPerRequest(0), NodeCPU: b.nodeCPU(res), LoadCPU: loadCPU(res), Errors: res.errorSummary()}
		if s != specs[0] && direct.Rate() > 0 {
			r.Ratio = res.Rate() / direct.Rate()
		}
		b.table.add(r)
		b.logf("%-22s %-5s c=%-3d %8.0f req/s  p50 %-10s p99 %-10s errors %s", s.test, s.proto, conc, res.Rate(),
			durCell(r.P50), durCell(r.P99), r.Errors)
	}
}

// throughput measures, at each concurrency, the direct pair, upstream's
// pattern and REST over http, then REST over https beside the direct
// pair again (a real lightningd runs one clnrest at a time).
func (b *bench) throughput() error {
	start := len(b.table.rows)
	for _, proto := range []string{"http", "https"} {
		srv, err := b.startREST(proto)
		if err != nil {
			return err
		}
		var relay *restServer
		if proto == "http" {
			if relay, err = startRelay(b.node.Socket()); err != nil {
				srv.Stop()
				return err
			}
			b.logf("bare relay on %s, pid %d", relay.Base, relay.PID)
		}
		for _, c := range b.set.concurrency {
			b.runRows(c, b.rowSpecs(srv, relay, proto, c))
		}
		if relay != nil {
			if err := relay.Stop(); err != nil {
				b.logf("stopping the bare relay: %v", err)
			}
		}
		if err := srv.Stop(); err != nil {
			return fmt.Errorf("stopping clnrest: %w", err)
		}
	}
	// Group the rows by concurrency, in a fixed order within each.
	order := map[string]int{directPairRow: 0, upstreamRow: 1, relayRow: 2, restNetHTTP: 3, restRawClient: 4}
	slices.SortStableFunc(b.table.rows[start:], func(x, y row) int {
		if x.Conc != y.Conc {
			return x.Conc - y.Conc
		}
		if x.Proto != y.Proto && order[x.Test] >= 3 && order[y.Test] >= 3 {
			return strings.Compare(x.Proto, y.Proto)
		}
		return order[x.Test] - order[y.Test]
	})
	return nil
}

// rowSpecs are the rows measured together at one concurrency: the direct
// pair first (the ratios' denominator), upstream's pattern and the bare
// relay (with http only), then REST with net/http's client and with the
// raw client.
func (b *bench) rowSpecs(srv, relay *restServer, proto string, conc int) []*rowSpec {
	rune := b.node.Rune()
	pair := lnrpc.New(b.node.Socket(), lnrpc.Config{})
	// With https the direct pair is measured again for the ratios, and
	// kept out of the table ("unix/https" in bench.results).
	directProto := "unix"
	if proto != "http" {
		directProto = "unix/" + proto
	}
	specs := []*rowSpec{spec(directPairRow, directProto, 0, conc, func(int) request { return directPair(pair, rune) }, func() { pair.Close() })}
	specs[0].show = proto == "http"
	if proto == "http" {
		specs = append(specs, spec(upstreamRow, "unix", 0, conc, func(int) request { return upstreamPattern(b.node.Socket(), rune) }, nil))
	}
	if relay != nil {
		specs = append(specs, rawRow(relayRow, relay, rune, conc))
	}
	tr := srv.Transport(conc)
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	specs = append(specs, spec(restNetHTTP, proto, srv.PID, conc, func(int) request { return restGetinfo(client, srv.Base, rune) }, tr.CloseIdleConnections))
	return append(specs, rawRow(restRawClient, srv, rune, conc))
}

// rawRow is a row of raw clients, each on a keep-alive connection of its
// own to srv.
func rawRow(test string, srv *restServer, rune string, conc int) *rowSpec {
	raws := make([]*rawRequester, conc)
	return spec(test, srv.Proto(), srv.PID, conc, func(i int) request {
		raws[i] = &rawRequester{srv: srv, rune: rune}
		return raws[i].do
	}, func() {
		for _, r := range raws {
			r.close()
		}
	})
}

// combine merges the segments of a row: requests, errors, latencies and
// CPU add up; the rate is the median of the segments' rates.
func combine(segs []loadResult) loadResult {
	var out loadResult
	var rates []float64
	for _, s := range segs {
		out.Requests += s.Requests
		out.Errors += s.Errors
		out.EAGAIN += s.EAGAIN
		if out.FirstErr == nil {
			out.FirstErr = s.FirstErr
		}
		out.Latencies = append(out.Latencies, s.Latencies...)
		if out.CPU == nil {
			out.CPU = make([]time.Duration, len(s.CPU))
		}
		for i := range s.CPU {
			out.CPU[i] += s.CPU[i]
		}
		out.SelfCPU += s.SelfCPU
		rates = append(rates, s.Rate())
	}
	slices.Sort(out.Latencies)
	slices.Sort(rates)
	out.medianRate = rates[len(rates)/2]
	return out
}
