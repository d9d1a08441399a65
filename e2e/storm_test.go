package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// stormNotification is invoice_creation as lightningd sends it, numbered.
func stormNotification(seq int) json.RawMessage {
	return json.RawMessage(`{"invoice_creation":{"msat":"1000msat","preimage":"` +
		"0f3c2a1b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b" +
		`","label":"storm-` + strconv.Itoa(seq) + `"}}`)
}

// stormSeq reads the number back from a received message.
func stormSeq(msg string) (int, error) {
	const key = `"label":"storm-`
	i := strings.Index(msg, key)
	if i < 0 {
		return 0, fmt.Errorf("no storm label in %.120s", msg)
	}
	rest := msg[i+len(key):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return 0, fmt.Errorf("unterminated storm label in %.120s", msg)
	}
	return strconv.Atoi(rest[:j])
}

// healthyResult is what one reading client saw.
type healthyResult struct {
	received int
	err      error
}

// readStorm reads until want messages arrived in order, or something
// else happened.
func readStorm(c *sioClient, want int, deadline time.Time) healthyResult {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for n := 0; n < want; n++ {
		msg, err := c.next(ctx)
		if err != nil {
			return healthyResult{received: n, err: err}
		}
		seq, err := stormSeq(msg)
		if err != nil {
			return healthyResult{received: n, err: err}
		}
		if seq != n {
			return healthyResult{received: n, err: fmt.Errorf("got notification %d; want %d (out of order or lost)", seq, n)}
		}
	}
	return healthyResult{received: want}
}

func TestNotificationStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("storm: thousands of notifications to 100 clients; skipped under -short")
	}
	const (
		clients = 100
		stalled = 10
	)
	total, maxHWMkB := stormSize(t)
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	pid := e.node.Plugin.PID()
	before, err := readProcStatus(pid)
	if err != nil {
		t.Fatal(err)
	}
	for range stalled {
		e.mustDialSIO(sioOptions{readBuf: 4096}) // joins, then never reads
	}
	healthy := make([]*sioClient, clients-stalled)
	for i := range healthy {
		healthy[i] = e.mustDialSIO(sioOptions{})
	}
	waitStats(t, e, func(s clnrestStats) bool { return s.SocketIOClients == clients }, 20*time.Second)

	began := time.Now()
	sent, delivered := storm(t, e, healthy, total)
	after, err := readProcStatus(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sent %d notifications in %v, all delivered after %v; clnrest VmRSS %d kB → %d kB, VmHWM %d kB",
		total, sent, delivered, before.RSSkB, after.RSSkB, after.HWMkB)
	if after.HWMkB > maxHWMkB {
		t.Errorf("clnrest VmHWM: got %d kB; want under %d kB", after.HWMkB, maxHWMkB)
	}
	// A stalled client is dropped once its socket buffers are full and
	// it has taken nothing for the stall timeout (10 s), or, if the storm
	// fit in its socket buffers, when it misses Engine.IO's ping (45 s
	// after it joined at most).
	deadline := began.Add(55 * time.Second)
	for e.stats().SocketIOClients != clients-stalled && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := e.stats().SocketIOClients; got != clients-stalled {
		t.Errorf("Socket.IO clients 55 s after the storm began: got %d; want the %d healthy ones", got, clients-stalled)
	}
	checkStormDisconnects(t, e, stalled)
}

// stormSize is how many notifications the storm sends and the bound on
// clnrest's peak RSS. The full storm of the issue, 100,000 notifications
// to 90 reading clients, is 9 million websocket frames: about 30 s on an
// idle 2-core machine, far longer on a busy one or under the race
// detector (which also makes clnrest several times bigger). By default
// the test therefore sends 20,000 (10,000 under -race);
// CLNREST_STORM_NOTIFICATIONS=100000 runs the full storm.
func stormSize(t *testing.T) (total int, maxHWMkB int64) {
	t.Helper()
	total, maxHWMkB = 20000, 300<<10
	if raceEnabled {
		total, maxHWMkB = 10000, 800<<10
	}
	if v := os.Getenv("CLNREST_STORM_NOTIFICATIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("CLNREST_STORM_NOTIFICATIONS=%q: want a positive number", v)
		}
		total = n
	}
	return total, maxHWMkB
}

// storm sends total notifications as fast as the simulator can while the
// healthy clients read, and checks that each got all of them in order. It
// returns how long sending and delivering took.
func storm(t *testing.T, e *env, healthy []*sioClient, total int) (sent, delivered time.Duration) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	results := make([]healthyResult, len(healthy))
	var readers sync.WaitGroup
	for i, c := range healthy {
		readers.Add(1)
		go func() {
			results[i] = readStorm(c, total, deadline)
			readers.Done()
			// Go on answering pings, as a live client does, until the
			// connection is closed at cleanup.
			for {
				if _, err := c.read(context.Background()); err != nil {
					return
				}
			}
		}()
	}
	began := time.Now()
	for seq := range total {
		if err := e.node.Plugin.Notify("invoice_creation", stormNotification(seq)); err != nil {
			t.Fatalf("notification %d: %v", seq, err)
		}
	}
	sent = time.Since(began)
	readers.Wait()
	delivered = time.Since(began)
	failed := false
	for i, r := range results {
		if r.err != nil || r.received != total {
			failed = true
			t.Errorf("healthy client %d: got %d notifications, %v; want all %d in order", i, r.received, r.err, total)
		}
	}
	if failed {
		for _, l := range e.node.Plugin.Logs() {
			if strings.Contains(l, "disconnected") {
				t.Log(l)
			}
		}
	}
	return sent, delivered
}

// checkStormDisconnects checks that exactly the stalled clients were
// disconnected, each for being too slow or missing pings.
func checkStormDisconnects(t *testing.T, e *env, stalled int) {
	t.Helper()
	var lines []string
	for _, l := range e.node.Plugin.Logs() {
		if strings.Contains(l, "Socket.IO client disconnected") {
			lines = append(lines, l)
			if !strings.Contains(l, `reason="too slow:`) && !strings.Contains(l, `reason="ping timeout"`) {
				t.Errorf("disconnect: got %s; want reason too slow or ping timeout", l)
			}
		}
	}
	if len(lines) != stalled {
		t.Errorf("disconnects logged: got %d; want %d:\n%s", len(lines), stalled, strings.Join(lines, "\n"))
	}
}

// waitStats polls clnrest-stats until ok, failing after d.
func waitStats(t *testing.T, e *env, ok func(clnrestStats) bool, d time.Duration) clnrestStats {
	t.Helper()
	end := time.Now().Add(d)
	for {
		s := e.stats()
		if ok(s) {
			return s
		}
		if time.Now().After(end) {
			t.Fatalf("clnrest-stats after %s: %+v", d, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
