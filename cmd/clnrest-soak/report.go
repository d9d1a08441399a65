package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sample is clnrest's state at one moment, from clnrest-stats and /proc.
type sample struct {
	at              time.Duration
	goroutines      int
	rssBytes        int64
	rssPeakBytes    int64
	fds             int
	socketIOClients int
	inFlight        int64
	err             error
}

func (t *target) sample(at time.Duration) sample {
	s := sample{at: at}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := t.node.Plugin.Call(ctx, "clnrest-stats", nil)
	if err != nil {
		s.err = fmt.Errorf("clnrest-stats: %w", err)
		return s
	}
	var st struct {
		Goroutines      int   `json:"goroutines"`
		InFlight        int64 `json:"rest_requests_in_flight"`
		SocketIOClients int   `json:"socketio_clients"`
		RSSBytes        int64 `json:"rss_bytes"`
		RSSPeakBytes    int64 `json:"rss_peak_bytes"`
		OpenFDs         int   `json:"open_fds"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		s.err = fmt.Errorf("clnrest-stats answer %s: %w", raw, err)
		return s
	}
	s.goroutines, s.inFlight, s.socketIOClients = st.Goroutines, st.InFlight, st.SocketIOClients
	s.rssBytes, s.rssPeakBytes, s.fds = st.RSSBytes, st.RSSPeakBytes, st.OpenFDs
	if ents, err := os.ReadDir("/proc/" + strconv.Itoa(t.node.Plugin.PID()) + "/fd"); err == nil {
		s.fds = len(ents) // seen from outside, as an operator would
	}
	return s
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

// printSample prints one line of figures.
func printSample(s sample, counts *counters) {
	c := counts.snapshot()
	var served, expected, unexpected int64
	for k, v := range c {
		switch {
		case strings.HasPrefix(k, "201 "):
			served += v
		case strings.HasPrefix(k, "expected "):
			expected += v
		case strings.HasPrefix(k, "unexpected"):
			unexpected += v
		}
	}
	if s.err != nil {
		fmt.Printf("[%5.0fs] %v\n", s.at.Seconds(), s.err)
		return
	}
	fmt.Printf("[%5.0fs] requests %d (201: %d, expected 4xx: %d, unexpected: %d) | socket.io joins %d, notifications sent %d, received %d | clnrest rss %s, goroutines %d, fds %d, socket.io clients %d, in flight %d\n",
		s.at.Seconds(), served+expected+unexpectedRequests(c), served, expected, unexpected,
		c["socket.io joins"], c["notifications sent"], c["notifications received"],
		mb(s.rssBytes), s.goroutines, s.fds, s.socketIOClients, s.inFlight)
}

// unexpectedRequests counts the unexpected outcomes of REST calls.
func unexpectedRequests(c map[string]int64) int64 {
	var n int64
	for k, v := range c {
		if strings.HasPrefix(k, "unexpected: ") && (strings.Contains(k, " got ") || strings.Contains(k, "transport error")) {
			n += v
		}
	}
	return n
}

// summarize prints every count and the verdict: no unexpected errors,
// and RSS and goroutines flat after warm-up (the average of the last
// third of the samples within 20% of the middle third's, goroutines with
// a slack of 5 for connections being set up). It reports whether the
// soak passed.
func summarize(samples []sample, counts *counters) bool {
	c := counts.snapshot()
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Println("\nsummary")
	var unexpected int64
	for _, k := range keys {
		fmt.Printf("  %-60s %d\n", k, c[k])
		if strings.HasPrefix(k, "unexpected") {
			unexpected += c[k]
		}
	}
	ok := unexpected == 0
	fmt.Printf("  unexpected errors: %d (%s)\n", unexpected, verdict(unexpected == 0))
	var good []sample
	for _, s := range samples {
		if s.err == nil {
			good = append(good, s)
		}
	}
	if len(good) < 3 {
		fmt.Printf("  flatness: only %d samples, not judged (run longer than 3 report intervals)\n", len(good))
		return ok
	}
	third := len(good) / 3
	mid, last := good[third:2*third], good[2*third:]
	rssMid, rssLast := avg(mid, func(s sample) float64 { return float64(s.rssBytes) }), avg(last, func(s sample) float64 { return float64(s.rssBytes) })
	gMid, gLast := avg(mid, func(s sample) float64 { return float64(s.goroutines) }), avg(last, func(s sample) float64 { return float64(s.goroutines) })
	rssFlat := rssLast <= rssMid*1.2
	gFlat := gLast <= gMid*1.2+5
	fmt.Printf("  RSS: middle third %s, last third %s, peak %s (%s)\n", mb(int64(rssMid)), mb(int64(rssLast)), mb(good[len(good)-1].rssPeakBytes), verdict(rssFlat))
	fmt.Printf("  goroutines: middle third %.1f, last third %.1f (%s)\n", gMid, gLast, verdict(gFlat))
	ok = ok && rssFlat && gFlat
	fmt.Printf("soak %s\n", verdict(ok))
	return ok
}

func avg(ss []sample, f func(sample) float64) float64 {
	var sum float64
	for _, s := range ss {
		sum += f(s)
	}
	return sum / float64(len(ss))
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// freePort returns a loopback TCP port free at the time of the call.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
