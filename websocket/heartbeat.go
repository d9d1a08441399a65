package websocket

import (
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/v3/pkg/utils"
)

// The Socket.IO library drops healthy clients with "ping timeout". Its
// ping timer sends the PING and only then sets the timer that closes
// the session unless a PONG comes within the ping timeout; the PONG
// handler clears whatever timer is set when the PONG arrives. When the
// PONG is read before the ping goroutine gets to set its timer (the
// goroutine was descheduled for the length of a round trip, which a
// busy machine or the race detector makes common: a quarter of 100
// clients in 15 s at a 400 ms interval under -race), that timer is
// never cleared, and it fires before the next ping would replace it.
// Engine.IO clients answering every ping in time are then dropped, and
// reconnect, missing the notifications sent meanwhile.
//
// guardHeartbeat closes that gap from outside. It notes each PING the
// session creates, and on the PONG that answers it clears the timeout
// timer the ping set, waiting (in the goroutine that read the PONG) for
// the ping goroutine to set it when it has not yet. The field is
// unexported; a library version without it is left as it is (and
// TestPongBeforePingTimerSurvives notices).

// pingTimerType is the type of the engine socket's pingTimeoutTimer.
var pingTimerType = reflect.TypeOf(atomic.Pointer[utils.Timer]{})

// pingTimeoutTimer returns the engine socket's ping timeout timer
// field, or nil if the library has no such field.
func pingTimeoutTimer(conn engine.Socket) *atomic.Pointer[utils.Timer] {
	return (*atomic.Pointer[utils.Timer])(libraryField(conn, "pingTimeoutTimer", pingTimerType))
}

// pingGuard is the state guardHeartbeat keeps for one session.
type pingGuard struct {
	conn    interface{ ReadyState() string } // the engine socket
	timer   *atomic.Pointer[utils.Timer]
	timeout time.Duration // the ping timeout: how long a wait can matter

	mu      sync.Mutex   // protects the fields below; held while clearing
	pings   uint64       // PINGs created so far
	before  *utils.Timer // the timer set when the latest PING was created
	pending bool         // the latest PING has not been answered
}

// guardHeartbeat watches conn's pings and pongs; timeout is the
// server's ping timeout.
func guardHeartbeat(conn engine.Socket, timeout time.Duration) {
	timer := pingTimeoutTimer(conn)
	if timer == nil {
		return
	}
	g := &pingGuard{conn: conn, timer: timer, timeout: timeout}
	// packetCreate runs in the goroutine sending the packet, before it
	// is queued, so for a PING before its timeout timer is set.
	_ = conn.On("packetCreate", func(args ...any) {
		if len(args) > 0 {
			if p, ok := args[0].(*packet.Packet); ok && p != nil && p.Type == packet.PING {
				g.pinged()
			}
		}
	})
	// heartbeat runs in the goroutine that read the PONG, after the
	// library cleared the timer it found. (A v3 client's PING also
	// emits it; the server creates no PING then, so nothing is pending.)
	_ = conn.On("heartbeat", func(...any) { g.ponged() })
}

func (g *pingGuard) pinged() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pings++
	g.before = g.timer.Load()
	g.pending = true
}

// ponged clears the timeout timer of the PING just answered, once the
// ping goroutine has set it.
func (g *pingGuard) ponged() {
	g.mu.Lock()
	if !g.pending {
		g.mu.Unlock()
		return
	}
	g.pending = false
	ping, before := g.pings, g.before
	g.mu.Unlock()

	give := time.Now().Add(g.timeout)
	for {
		if g.clear(ping, before) {
			return
		}
		if time.Now().After(give) || g.conn.ReadyState() == "closed" {
			// The timer would have fired by now anyway, or the session
			// is over and its ping goroutine may set no timer at all.
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// clear stops the timer set for PING number ping and reports true,
// unless that PING has not set its timer yet (the field still holds
// before). A newer PING's timer is left alone: it waits for its own
// PONG.
func (g *pingGuard) clear(ping uint64, before *utils.Timer) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pings != ping {
		return true
	}
	t := g.timer.Load()
	if t == before {
		return false
	}
	utils.ClearTimeout(t)
	return true
}
