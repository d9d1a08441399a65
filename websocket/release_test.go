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
