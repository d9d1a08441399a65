package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"
)

// burstClients is how many clients start at the same instant.
const burstClients = 2000

// burstRequests is how many requests each burst client sends in turn;
// the first one also opens its connection.
const burstRequests = 3

// burstResult is what a burst measured.
type burstResult struct {
	Wall      time.Duration
	Latencies []time.Duration
	Errors    int
	EAGAIN    int
	FirstErr  error
}

// runBurst starts n clients at once; each sends burstRequests requests
// made by newClient(i), one after the other. The whole burst is bounded
// by a one-minute context.
func runBurst(n int, newClient func(i int) request) burstResult {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := make(chan struct{})
	var mu sync.Mutex // protects res
	var res burstResult
	var wg sync.WaitGroup
	for i := range n {
		do := newClient(i)
		wg.Go(func() {
			<-start
			for range burstRequests {
				t0 := time.Now()
				err := do(ctx)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					res.Errors++
					if errors.Is(err, syscall.EAGAIN) {
						res.EAGAIN++
					}
					if res.FirstErr == nil {
						res.FirstErr = err
					}
				} else {
					res.Latencies = append(res.Latencies, d)
				}
				mu.Unlock()
			}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	res.Wall = time.Since(t0)
	slices.Sort(res.Latencies)
	return res
}

func (r burstResult) percentile(p float64) time.Duration {
	return loadResult{Latencies: r.Latencies}.Percentile(p)
}

func (r burstResult) errorSummary() string {
	return loadResult{Errors: r.Errors, EAGAIN: r.EAGAIN, FirstErr: r.FirstErr}.errorSummary()
}

// burst sends 2,000 clients at once at clnrest (http and https, each on
// its own new connection), and, for comparison, 2,000 at once with
// upstream's pattern straight at lightning-rpc.
func (b *bench) burst() error {
	for _, proto := range []string{"http", "https"} {
		srv, err := b.startREST(proto)
		if err != nil {
			return err
		}
		tr := srv.Transport(burstClients)
		client := &http.Client{Transport: tr, Timeout: time.Minute}
		res := runBurst(burstClients, func(int) request { return restGetinfo(client, srv.Base, b.node.Rune()) })
		tr.CloseIdleConnections()
		b.addBurst("burst: REST (net/http client)", proto, res)
		if proto == "http" {
			b.burstErrors = res.Errors
		} else {
			b.burstErrors += res.Errors
		}
		if err := srv.Stop(); err != nil {
			return fmt.Errorf("stopping clnrest: %w", err)
		}
	}
	b.burstRan = true
	res := runBurst(burstClients, func(int) request { return upstreamPattern(b.node.Socket(), b.node.Rune()) })
	b.addBurst("burst: upstream pattern", "unix", res)
	return nil
}

func (b *bench) addBurst(test, proto string, res burstResult) {
	r := row{Test: test, Proto: proto, Conc: burstClients, P50: res.percentile(50), P99: res.percentile(99),
		Errors: res.errorSummary(),
		Notes:  fmt.Sprintf("%d clients at once, %d requests each; done in %s", burstClients, burstRequests, durCell(res.Wall))}
	b.table.add(r)
	b.logf("%s %s: %s, errors %s", test, proto, r.Notes, r.Errors)
}
