package websocket

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"
)

// TestDroppedClientsLeaveNothing checks that a client that drops its
// connection leaves no goroutine (and so no connection) behind: the
// library alone keeps the websocket's writer goroutine and connection.
func TestDroppedClientsLeaveNothing(t *testing.T) {
	const clients = 10
	th := startHub(t, Config{})
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	for range clients {
		c := mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good")})
		th.waitClients(t, 1, 5*time.Second)
		th.Publish(json.RawMessage(`{"n":1}`))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := c.next(ctx); err != nil {
			t.Errorf("client: %v", err)
		}
		cancel()
		c.Close() // no DISCONNECT, no websocket close frame
		th.waitClients(t, 0, 5*time.Second)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := runtime.NumGoroutine()
		if got <= before+2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines after %d dropped clients: got %d; want at most %d", clients, got, before+2)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestChurnedClientsAreFreed checks that clients that came and went leave
// no memory behind (the library's task queues were never freed: ~20 KB
// per session).
func TestChurnedClientsAreFreed(t *testing.T) {
	th := startHub(t, Config{})
	churn := func(n int) {
		for i := range n {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c, err := dialRaw(ctx, th.plain.URL, rawOptions{header: runeHeader("good")})
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			th.waitClients(t, 1, 5*time.Second)
			th.Publish(json.RawMessage(`{"n":1}`))
			if _, err := c.next(ctx); err != nil {
				t.Errorf("client: %v", err)
			}
			cancel()
			if i%2 == 0 {
				_ = c.conn.WriteMessage(1, []byte("41")) // DISCONNECT
			}
			c.Close()
			th.waitClients(t, 0, 5*time.Second)
		}
	}
	churn(50) // warm-up
	before := heapInUse()
	const n = 300
	churn(n)
	time.Sleep(200 * time.Millisecond)
	per := (int64(heapInUse()) - int64(before)) / n
	t.Logf("heap growth per churned client: %d bytes", per)
	if per > 8<<10 {
		t.Errorf("heap growth per churned client: got %d bytes; want under 8 KiB", per)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
