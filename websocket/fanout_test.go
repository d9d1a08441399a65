package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clnrest/clnrest/runeauth"
)

// u64Params is a notification carrying the largest msat amount.
const u64Params = `{"invoice_creation":{"msat":18446744073709551615,"preimage":"00ff","label":"ünïcode"}}`

func TestPublishDeliversToEveryClientInOrder(t *testing.T) {
	th := startHub(t, Config{})
	clients := map[string]*rawClient{
		"websocket, rune header":  mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good")}),
		"websocket over TLS":      mustDial(t, th.tls.URL, rawOptions{header: runeHeader("good"), tls: tlsConfig(th.tls)}),
		"websocket, auth payload": mustDial(t, th.plain.URL, rawOptions{auth: `{"rune":"good"}`}),
	}
	th.waitClients(t, len(clients), 5*time.Second)

	want := []string{u64Params}
	for i := range 200 {
		want = append(want, fmt.Sprintf(`{"block_added":{"hash":"%064x","height":%d}}`, i, i))
	}
	for _, p := range want {
		th.Publish(json.RawMessage(p))
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i, w := range want {
				got, err := c.next(ctx)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if got != w {
					t.Fatalf("message %d: got %s; want %s", i, got, w)
				}
			}
		})
	}
}

func TestPollingClientReceivesMessages(t *testing.T) {
	th := startHub(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := openPoll(ctx, th.plain, runeHeader("good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.post(ctx, "40"); err != nil {
		t.Fatal(err)
	}
	if got, err := p.get(ctx, nil); err != nil || len(got) != 1 || !strings.HasPrefix(got[0], "40{") {
		t.Fatalf("CONNECT answer: got %q, %v; want [40{...}]", got, err)
	}
	th.waitClients(t, 1, 5*time.Second)
	th.Publish(json.RawMessage(u64Params))
	th.Publish(json.RawMessage(`{"n": 2}`))
	var got []string
	for len(got) < 2 {
		packets, err := p.get(ctx, nil)
		if err != nil {
			t.Fatalf("polling: %v (got so far %q)", err, got)
		}
		got = append(got, packets...)
	}
	want := []string{`42["message",` + u64Params + `]`, `42["message",{"n":2}]`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("polled packets: got %q; want %q", got, want)
	}
}

// TestFastClientsAreAnswered opens sessions whose clients answer the
// OPEN packet at once, which the library alone can miss (see
// binding.go).
func TestFastClientsAreAnswered(t *testing.T) {
	th := startHub(t, Config{})
	t.Run("websocket", func(t *testing.T) {
		for i := range 100 {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			c, err := dialRaw(ctx, th.plain.URL, rawOptions{header: runeHeader("good")})
			cancel()
			if err != nil {
				t.Fatalf("session %d: %v", i, err)
			}
			c.Close()
		}
	})
	t.Run("polling", func(t *testing.T) {
		for i := range 50 {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			p, err := openPoll(ctx, th.plain, runeHeader("good"))
			if err == nil {
				err = p.post(ctx, "40")
			}
			var got []string
			if err == nil {
				got, err = p.get(ctx, nil)
			}
			cancel()
			if err != nil || len(got) == 0 || !strings.HasPrefix(got[0], "40{") {
				t.Fatalf("session %d: CONNECT answer %q, %v; want 40{...}", i, got, err)
			}
			_ = p.post(context.Background(), "1") // CLOSE
		}
	})
}

func TestStalledClientIsDisconnected(t *testing.T) {
	const queue = 64
	th := startHub(t, Config{QueueSize: queue})
	mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good"), readBuf: 4096}) // connects, then never reads
	healthy := mustDial(t, th.tls.URL, rawOptions{header: runeHeader("good"), tls: tlsConfig(th.tls)})
	th.waitClients(t, 2, 5*time.Second)

	received := make(chan string, queue)
	readErr := make(chan error, 1)
	go func() {
		for {
			got, err := healthy.next(context.Background())
			if err != nil {
				readErr <- err
				return
			}
			received <- got
		}
	}()

	pad := strings.Repeat("x", 8<<10)
	n := 0
	for th.Clients() == 2 {
		if n > 20000 {
			t.Fatalf("stalled client still connected after %d notifications", n)
		}
		// Bursts of 16, each waited for by the healthy client, which
		// must get every one of them, in order and promptly.
		for range 16 {
			th.Publish(json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, n, pad)))
			n++
		}
		for i := n - 16; i < n; i++ {
			select {
			case got := <-received:
				if want := fmt.Sprintf(`{"n":%d,`, i); !strings.HasPrefix(got, want) {
					t.Fatalf("healthy client: got %.40s; want %s...", got, want)
				}
			case err := <-readErr:
				t.Fatalf("healthy client after %d notifications: %v", i, err)
			case <-time.After(5 * time.Second):
				t.Fatalf("healthy client waited 5s for notification %d", i)
			}
		}
	}
	line := th.logs.waitFor(t, 5*time.Second, "Socket.IO client disconnected", "too slow:")
	if !strings.Contains(line, fmt.Sprintf("too slow: %d notifications queued", queue)) {
		t.Errorf("disconnect log: got %s; want reason too slow: %d notifications queued", line, queue)
	}
	t.Logf("stalled client disconnected after %d notifications of 8 KiB", n)
}

func TestPublishNeverBlocks(t *testing.T) {
	th := startHub(t, Config{})
	mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good"), readBuf: 4096})
	th.waitClients(t, 1, 5*time.Second)

	params := json.RawMessage(`{"channel_state_changed":{"peer_id":"02aa","short_channel_id":"1x2x3","msat":18446744073709551615}}`)
	start := time.Now()
	var slowest time.Duration
	// Twice the queue: the kernel's socket buffers take some at first.
	for range 2 * DefaultQueueSize {
		t0 := time.Now()
		th.Publish(params)
		slowest = max(slowest, time.Since(t0))
	}
	total := time.Since(start)
	t.Logf("%d Publish calls: %s, slowest %s", 2*DefaultQueueSize, total, slowest)
	if total > 20*time.Second || slowest > time.Second {
		t.Errorf("%d Publish calls took %s, slowest %s; want well under 20s and 1s", 2*DefaultQueueSize, total, slowest)
	}
	th.logs.waitFor(t, 5*time.Second, "Socket.IO client disconnected", fmt.Sprintf("too slow: %d notifications queued", DefaultQueueSize))
	th.waitClients(t, 0, 5*time.Second)
}

func TestClientEventsAreNotBroadcast(t *testing.T) {
	th := startHub(t, Config{})
	sender := mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good")})
	other := mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good")})
	th.waitClients(t, 2, 5*time.Second)

	for _, ev := range []string{"message", "invoice_creation", "other"} {
		if err := sender.emit(ev, map[string]any{"from": "client"}); err != nil {
			t.Fatalf("emit %s: %v", ev, err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	th.Publish(json.RawMessage(`{"from":"lightningd"}`))
	for name, c := range map[string]*rawClient{"sender": sender, "other": other} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := c.next(ctx)
		cancel()
		if err != nil || got != `{"from":"lightningd"}` {
			t.Errorf("%s's first message: got %q, %v; want {\"from\":\"lightningd\"}", name, got, err)
		}
	}
}

func TestInvalidNotificationIsDropped(t *testing.T) {
	th := startHub(t, Config{})
	c := mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good")})
	th.waitClients(t, 1, 5*time.Second)
	th.Publish(json.RawMessage(`{"broken":`))
	th.Publish(json.RawMessage(`{"ok":true}`))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if got, err := c.next(ctx); err != nil || got != `{"ok":true}` {
		t.Errorf("first message: got %q, %v; want {\"ok\":true}", got, err)
	}
	th.logs.waitFor(t, time.Second, "level=WARN", "dropping a notification")
}

func TestStalledPollingClientIsDisconnected(t *testing.T) {
	const queue = 8
	th := startHub(t, Config{QueueSize: queue})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := openPoll(ctx, th.plain, runeHeader("good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.post(ctx, "40"); err != nil {
		t.Fatal(err)
	}
	if got, err := p.get(ctx, nil); err != nil || len(got) != 1 || !strings.HasPrefix(got[0], "40{") {
		t.Fatalf("CONNECT answer: got %q, %v; want [40{...}]", got, err)
	}
	th.waitClients(t, 1, 5*time.Second)
	// The client never polls again.
	for i := range queue + 1 {
		th.Publish(json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)))
	}
	th.logs.waitFor(t, 5*time.Second, "Socket.IO client disconnected", fmt.Sprintf("too slow: %d notifications queued", queue))
	th.waitClients(t, 0, 5*time.Second)
}

// connectPoll opens a polling session and joins namespace "/".
func connectPoll(t *testing.T, th *testHub, rune string) *pollClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := openPoll(ctx, th.plain, runeHeader(rune))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.post(ctx, "40"); err != nil {
		t.Fatal(err)
	}
	if got, err := p.get(ctx, nil); err != nil || len(got) != 1 || !strings.HasPrefix(got[0], "40{") {
		t.Fatalf("CONNECT answer: got %q, %v; want [40{...}]", got, err)
	}
	return p
}

// TestPendingPollsAreAnswered checks that a poll pending when the server
// ends the session is answered at once rather than left hanging.
func TestPendingPollsAreAnswered(t *testing.T) {
	tests := []struct {
		name string
		end  func(th *testHub)
		want string // first packet of the pending poll's answer
	}{
		{name: "rune revoked", want: "41", end: func(th *testHub) {
			th.auth.set("revocable", &runeauth.Error{Status: 401, Code: 1503, Message: "Not authorized: Blacklisted rune"})
		}},
		{name: "hub closed", want: "1", end: func(th *testHub) { _ = th.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := startHub(t, Config{Recheck: 20 * time.Millisecond})
			th.auth.set("revocable", nil)
			go func() { _ = th.Run(context.Background()) }()
			p := connectPoll(t, th, "revocable")
			th.waitClients(t, 1, 5*time.Second)

			type answer struct {
				packets []string
				err     error
			}
			answered := make(chan answer, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				got, err := p.get(ctx, nil)
				answered <- answer{got, err}
			}()
			time.Sleep(100 * time.Millisecond) // let the poll be pending
			start := time.Now()
			tt.end(th)
			a := <-answered
			if a.err != nil || len(a.packets) == 0 || a.packets[0] != tt.want {
				t.Errorf("pending poll: got %q, %v; want %q first", a.packets, a.err, tt.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("pending poll answered after %s; want at once", d)
			}
			// The session is over: a further poll is answered at once too,
			// with CLOSE or as an unknown session.
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			got, err := p.get(ctx, nil)
			if ctx.Err() != nil || (err == nil && (len(got) == 0 || got[0] != "1")) {
				t.Errorf("next poll: got %q, %v; want CLOSE (1) or an error at once", got, err)
			}
		})
	}
}
