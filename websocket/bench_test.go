package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkFanout measures one notification's trip from Publish to each
// of 1,000 websocket clients (Go clients speaking the protocol, in this
// process, over loopback). ns/op is the time until the last client has
// it; p50-us and p99-us are per-client delivery latencies. bytes/client
// and goroutines/client are what 1,000 idle connected clients cost,
// server and test client sides together.
//
//	go test -run '^$' -bench Fanout ./websocket/
func BenchmarkFanout(b *testing.B) {
	const clients = 1000
	th := startHub(b, Config{})

	before := memInUse()
	goroutines := runtime.NumGoroutine()
	conns := make([]*rawClient, clients)
	for i := range conns {
		conns[i] = mustDial(b, th.plain.URL, rawOptions{header: runeHeader("good")})
	}
	th.waitClients(b, clients, 30*time.Second)
	perClient := float64(memInUse()-before) / clients
	goroutinesPerClient := float64(runtime.NumGoroutine()-goroutines) / clients

	rounds := make([]fanoutRound, b.N)
	for i := range rounds {
		rounds[i].left.Store(clients)
		rounds[i].done = make(chan struct{})
	}
	latencies := make([][]time.Duration, clients)
	var readers sync.WaitGroup
	for i, c := range conns {
		latencies[i] = make([]time.Duration, 0, b.N)
		readers.Add(1)
		go func() {
			defer readers.Done()
			latencies[i] = readRounds(b, c, rounds, latencies[i])
		}()
	}

	pad := strings.Repeat("0", 200)
	b.ResetTimer()
	for i := range rounds {
		r := &rounds[i]
		r.start.Store(time.Now().UnixNano())
		th.Publish(json.RawMessage(fmt.Sprintf(`{"invoice_creation":{"seq":%d,"msat":18446744073709551615,"preimage":"%s"}}`, i, pad)))
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			b.Fatalf("round %d: %d clients still waiting after 30s", i, r.left.Load())
		}
	}
	b.StopTimer()
	readers.Wait()

	// After the timed loop: ResetTimer drops metrics reported before it.
	b.ReportMetric(perClient, "bytes/client")
	b.ReportMetric(goroutinesPerClient, "goroutines/client")
	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-us")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-us")
	}
}

type fanoutRound struct {
	start atomic.Int64 // UnixNano when Publish was called
	left  atomic.Int64 // clients that have not received it yet
	done  chan struct{}
}

// readRounds reads one message per round and records its latency.
func readRounds(b *testing.B, c *rawClient, rounds []fanoutRound, lat []time.Duration) []time.Duration {
	for range rounds {
		got, err := c.next(context.Background())
		if err != nil {
			b.Errorf("reading: %v", err)
			return lat
		}
		now := time.Now().UnixNano()
		seq, err := seqOf(got)
		if err != nil || seq >= len(rounds) {
			b.Errorf("message %.80s: %v", got, err)
			return lat
		}
		r := &rounds[seq]
		lat = append(lat, time.Duration(now-r.start.Load()))
		if r.left.Add(-1) == 0 {
			close(r.done)
		}
	}
	return lat
}

func seqOf(msg string) (int, error) {
	const key = `"seq":`
	i := strings.Index(msg, key)
	if i < 0 {
		return 0, fmt.Errorf("no seq")
	}
	rest := msg[i+len(key):]
	j := strings.IndexByte(rest, ',')
	if j < 0 {
		return 0, fmt.Errorf("no seq end")
	}
	return strconv.Atoi(rest[:j])
}

func memInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// BenchmarkSustained100 publishes b.N notifications as fast as Publish
// takes them to 100 websocket clients and reports the rate at which every
// client received all of them, in order ("notifications/s" is per client:
// each of the 100 got that many per second).
func BenchmarkSustained100(b *testing.B) {
	const clients = 100
	th := startHub(b, Config{})
	conns := make([]*rawClient, clients)
	for i := range conns {
		conns[i] = mustDial(b, th.plain.URL, rawOptions{header: runeHeader("good")})
	}
	th.waitClients(b, clients, 30*time.Second)
	var readers sync.WaitGroup
	for _, c := range conns {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for want := range b.N {
				got, err := c.next(context.Background())
				if err != nil {
					b.Errorf("reading: %v", err)
					return
				}
				if seq, err := seqOf(got); err != nil || seq != want {
					b.Errorf("got seq %d (%v); want %d in order", seq, err, want)
					return
				}
			}
		}()
	}
	pad := strings.Repeat("0", 200)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		th.Publish(json.RawMessage(fmt.Sprintf(`{"invoice_creation":{"seq":%d,"msat":18446744073709551615,"preimage":"%s"}}`, i, pad)))
	}
	readers.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "notifications/s")
}
