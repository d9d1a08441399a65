package websocket

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/v3/pkg/utils"
)

// TestHandshakeHeartbeat checks the heartbeat clients are told: that of
// python-socketio, which upstream clnrest runs.
func TestHandshakeHeartbeat(t *testing.T) {
	th := startHub(t, Config{})
	c := mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good")})
	var open struct {
		PingInterval int64 `json:"pingInterval"`
		PingTimeout  int64 `json:"pingTimeout"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(c.Open, "0")), &open); err != nil {
		t.Fatalf("OPEN packet %q: %v", c.Open, err)
	}
	if open.PingInterval != 25000 || open.PingTimeout != 20000 {
		t.Errorf("OPEN packet: pingInterval %d, pingTimeout %d; want 25000 and 20000", open.PingInterval, open.PingTimeout)
	}
}

// TestPongBeforePingTimerSurvives stages the library's heartbeat race on
// every ping: the goroutine that sends a PING is held up after sending
// it, so that the client's PONG is read before that goroutine sets the
// ping's timeout timer. The client answers every ping in time and must
// stay connected; a client that stops answering must still be dropped
// for it.
func TestPongBeforePingTimerSurvives(t *testing.T) {
	const (
		interval = 600 * time.Millisecond
		timeout  = 400 * time.Millisecond
		holdUp   = 100 * time.Millisecond // far longer than a round trip here
	)
	th := startHub(t, Config{heartbeat: heartbeat{interval: interval, timeout: timeout}})
	c := mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good")})
	go func() {
		for {
			if _, err := c.read(context.Background()); err != nil {
				return
			}
		}
	}()
	th.waitClients(t, 1, 5*time.Second)

	// The socket emits flush, then drain, in the goroutine that sent
	// the packets; for a PING on an idle session that is the ping timer's
	// goroutine, which sets the timeout timer once drain returns.
	th.mu.RLock()
	var cl *client
	for _, x := range th.clients {
		cl = x
	}
	th.mu.RUnlock()
	eio := cl.peer.s.Conn()
	var pingFlushed atomic.Bool
	var pongs, staged atomic.Int64
	_ = eio.On("flush", func(args ...any) {
		if len(args) > 0 {
			if wbuf, ok := args[0].([]*packet.Packet); ok {
				for _, p := range wbuf {
					if p != nil && p.Type == packet.PING {
						pingFlushed.Store(true)
					}
				}
			}
		}
	})
	_ = eio.On("drain", func(...any) {
		if !pingFlushed.Swap(false) {
			return
		}
		before := pongs.Load()
		time.Sleep(holdUp)
		if pongs.Load() > before {
			staged.Add(1) // the PONG came while the ping goroutine waited
		}
	})
	// packet runs in the goroutine that read the packet, before the
	// library (or the hub) acts on it.
	_ = eio.On("packet", func(args ...any) {
		if len(args) > 0 {
			if p, ok := args[0].(*packet.Packet); ok && p != nil && p.Type == packet.PONG {
				pongs.Add(1)
			}
		}
	})

	time.Sleep(10 * interval)
	if n := th.Clients(); n != 1 || strings.Contains(th.logs.String(), "disconnected") {
		t.Fatalf("a client answering every ping: %d clients connected; want 1. Log:\n%s", n, th.logs.String())
	}
	if n := staged.Load(); n < 4 {
		t.Fatalf("the PONG came before the ping timer was set %d times in %s; want at least 4 (pongs: %d)", n, 12*interval, pongs.Load())
	}

	// A client that stops answering is still dropped.
	_ = c.conn.SetReadDeadline(time.Now()) // ends the reading goroutine
	th.logs.waitFor(t, interval+timeout+5*time.Second, "Socket.IO client disconnected", `reason="ping timeout"`)
}

type readyState string

func (r readyState) ReadyState() string { return string(r) }

// TestPingGuard checks which timeout timer a PONG clears.
func TestPingGuard(t *testing.T) {
	tests := []struct {
		name string
		// run drives the guard; it returns the timer that must be
		// cleared and the one that must be left set (either may be nil).
		run func(g *pingGuard, set func() *utils.Timer) (cleared, kept *utils.Timer)
	}{
		{"timer set before the PONG", func(g *pingGuard, set func() *utils.Timer) (*utils.Timer, *utils.Timer) {
			g.pinged()
			t1 := set()
			g.ponged()
			return t1, nil
		}},
		{"timer set after the PONG", func(g *pingGuard, set func() *utils.Timer) (*utils.Timer, *utils.Timer) {
			g.pinged()
			done := make(chan *utils.Timer)
			go func() { time.Sleep(30 * time.Millisecond); done <- set() }()
			g.ponged() // waits for the timer
			return <-done, nil
		}},
		{"no PING pending", func(g *pingGuard, set func() *utils.Timer) (*utils.Timer, *utils.Timer) {
			g.pinged()
			set()
			g.ponged()
			t2 := set() // as if a later timer were set without a PING
			g.ponged()
			return nil, t2
		}},
		{"a newer PING's timer", func(g *pingGuard, set func() *utils.Timer) (*utils.Timer, *utils.Timer) {
			g.pinged()
			g.mu.Lock()
			ping, before := g.pings, g.before
			g.mu.Unlock()
			g.pinged() // the next PING, before the first set its timer
			t2 := set()
			if !g.clear(ping, before) {
				t.Error("clear for an older PING: got false; want true (nothing to wait for)")
			}
			return nil, t2
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var field atomic.Pointer[utils.Timer]
			g := &pingGuard{conn: readyState("open"), timer: &field, timeout: 2 * time.Second}
			var fired atomic.Int64
			set := func() *utils.Timer {
				tm := utils.SetTimeout(func() { fired.Add(1) }, 100*time.Millisecond)
				field.Store(tm)
				return tm
			}
			cleared, kept := tt.run(g, set)
			time.Sleep(200 * time.Millisecond)
			want := int64(0)
			if kept != nil {
				want = 1
			}
			if got := fired.Load(); got != want {
				t.Errorf("timers fired: got %d; want %d (cleared %v, kept %v)", got, want, cleared != nil, kept != nil)
			}
		})
	}
}

// TestPingGuardGivesUp checks that a PONG does not wait for a timer
// that a closed session will never set.
func TestPingGuardGivesUp(t *testing.T) {
	var field atomic.Pointer[utils.Timer]
	g := &pingGuard{conn: readyState("closed"), timer: &field, timeout: 10 * time.Second}
	g.pinged()
	start := time.Now()
	g.ponged()
	if d := time.Since(start); d > time.Second {
		t.Errorf("ponged on a closed session returned after %s; want at once", d)
	}
}
