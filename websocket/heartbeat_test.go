package websocket

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
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
