package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// request runs one request of a closed-loop client and reports its failure.
type request func(ctx context.Context) error

// loadSpec is one closed-loop load: Concurrency clients, each sending its
// next request as soon as the previous one is answered.
type loadSpec struct {
	Concurrency int
	// Warmup runs before measuring (connections open, pools fill).
	Warmup time.Duration
	// Duration is the measured window.
	Duration time.Duration
	// MaxRequests bounds the requests of the whole run; the run ends early
	// when it is reached.
	MaxRequests int64
	// NewClient returns client i's request function.
	NewClient func(i int) request
	// PIDs are processes whose CPU time is measured over the window.
	PIDs []int
}

// loadResult is what one load measured in its window.
type loadResult struct {
	Requests  int           // completed inside the window
	Errors    int           // failed inside the window, or during warm-up
	EAGAIN    int           // of which "resource temporarily unavailable"
	FirstErr  error         // the first failure seen
	Window    time.Duration // measured window actually elapsed
	Latencies []time.Duration
	CPU       []time.Duration // per PIDs entry, over the window
	SelfCPU   time.Duration   // this process, over the window
	// medianRate, when set, is the rate of combined segments (see combine).
	medianRate float64
}

// Rate is completed requests per second.
func (r loadResult) Rate() float64 {
	if r.medianRate > 0 {
		return r.medianRate
	}
	if r.Window <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Window.Seconds()
}

// Percentile returns the p-th percentile latency (0 < p <= 100).
func (r loadResult) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies))*p/100+0.5) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// CPUPerRequest is the CPU time of PIDs[i] divided by the requests.
func (r loadResult) CPUPerRequest(i int) time.Duration {
	if r.Requests == 0 || i >= len(r.CPU) {
		return 0
	}
	return r.CPU[i] / time.Duration(r.Requests)
}

// clientStats is one client's share of a loadResult.
type clientStats struct {
	lat      []time.Duration
	errors   int
	eagain   int
	firstErr error
}

// runLoad runs spec and returns what it measured. Every client stops at
// the end of the window or when MaxRequests is reached, whichever is first;
// a request still running then is cancelled through its context.
func runLoad(spec loadSpec) loadResult {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	measureFrom := start.Add(spec.Warmup)
	measureTo := measureFrom.Add(spec.Duration)
	var issued atomic.Int64
	stats := make([]clientStats, spec.Concurrency)
	var wg sync.WaitGroup
	for i := range spec.Concurrency {
		do := spec.NewClient(i)
		st := &stats[i]
		st.lat = make([]time.Duration, 0, 1024)
		wg.Go(func() {
			for issued.Add(1) <= spec.MaxRequests {
				t0 := time.Now()
				if !t0.Before(measureTo) {
					return
				}
				err := do(ctx)
				t1 := time.Now()
				st.record(err, t0, t1, measureFrom, measureTo)
			}
		})
	}
	res := loadResult{CPU: make([]time.Duration, len(spec.PIDs))}
	if d := time.Until(measureFrom); d > 0 {
		time.Sleep(d)
	}
	before, selfBefore, atFrom := cpuOf(spec.PIDs), selfCPU(), time.Now()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(measureTo)):
	}
	after, selfAfter := cpuOf(spec.PIDs), selfCPU()
	res.Window = time.Since(atFrom)
	for i := range spec.PIDs {
		res.CPU[i] = after[i] - before[i]
	}
	res.SelfCPU = selfAfter - selfBefore
	// Clients still inside a request stop at its end; a request that
	// hangs is cancelled after a grace period.
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cancel()
		<-done
	}
	for i := range stats {
		res.merge(&stats[i])
	}
	slices.Sort(res.Latencies)
	return res
}

// record counts one finished request: its latency when it lies inside
// the window, its failure whenever it happened.
func (st *clientStats) record(err error, t0, t1, from, to time.Time) {
	if err != nil {
		st.errors++
		if errors.Is(err, syscall.EAGAIN) {
			st.eagain++
		}
		if st.firstErr == nil {
			st.firstErr = err
		}
		return
	}
	if !t0.Before(from) && !t1.After(to) {
		st.lat = append(st.lat, t1.Sub(t0))
	}
}

func (r *loadResult) merge(st *clientStats) {
	r.Requests += len(st.lat)
	r.Latencies = append(r.Latencies, st.lat...)
	r.Errors += st.errors
	r.EAGAIN += st.eagain
	if r.FirstErr == nil {
		r.FirstErr = st.firstErr
	}
}

// cpuOf reads the CPU time of each pid; a process that cannot be read
// counts as 0.
func cpuOf(pids []int) []time.Duration {
	out := make([]time.Duration, len(pids))
	for i, pid := range pids {
		out[i], _ = cpuTime(pid)
	}
	return out
}

// errorSummary names the failures of a result for the table.
func (r loadResult) errorSummary() string {
	if r.Errors == 0 {
		return "0"
	}
	s := fmt.Sprintf("%d", r.Errors)
	switch {
	case r.EAGAIN > 0:
		s += fmt.Sprintf(" (%d EAGAIN: %s)", r.EAGAIN, syscall.EAGAIN.Error())
	case r.FirstErr != nil:
		s += fmt.Sprintf(": %.60s", r.FirstErr.Error())
	}
	return s
}
