package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFeed(t *testing.T) {
	tests := []struct {
		name      string
		appends   []string
		keep      uint64
		maxBytes  int64
		wantFirst uint64
		readFrom  uint64
		wantRead  []string
		wantOK    bool
	}{
		{name: "nothing passed", appends: []string{"a", "b", "c"}, keep: 0, maxBytes: 100,
			wantFirst: 0, readFrom: 1, wantRead: []string{"b", "c"}, wantOK: true},
		{name: "passed by every client", appends: []string{"a", "b", "c"}, keep: 2, maxBytes: 100,
			wantFirst: 2, readFrom: 2, wantRead: []string{"c"}, wantOK: true},
		{name: "cursor already dropped", appends: []string{"a", "b", "c"}, keep: 2, maxBytes: 100,
			wantFirst: 2, readFrom: 1, wantOK: false},
		{name: "over the byte bound", appends: []string{"aaaa", "bbbb", "cccc"}, keep: 0, maxBytes: 5,
			wantFirst: 2, readFrom: 2, wantRead: []string{"cccc"}, wantOK: true},
		{name: "all passed", appends: []string{"a", "b"}, keep: 2, maxBytes: 100,
			wantFirst: 2, readFrom: 2, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f feed
			for _, p := range tt.appends {
				f.append(p)
			}
			if got := f.trim(tt.keep, tt.maxBytes); got != tt.wantFirst {
				t.Errorf("trim: got first %d; want %d", got, tt.wantFirst)
			}
			got, _, ok := f.read(tt.readFrom, 10, nil)
			if ok != tt.wantOK || !slices.Equal(got, tt.wantRead) {
				t.Errorf("read(%d): got %q, %v; want %q, %v", tt.readFrom, got, ok, tt.wantRead, tt.wantOK)
			}
			if head := f.head(); head != uint64(len(tt.appends)) {
				t.Errorf("head: got %d; want %d", head, len(tt.appends))
			}
		})
	}
}

// TestBurstReachesSlowReaders checks that a burst published faster than
// the clients read it reaches every reading client whole and in order:
// only clients that stop reading are disconnected.
func TestBurstReachesSlowReaders(t *testing.T) {
	const burst = 20000 // far more than maxInflight
	th := startHub(t, Config{})
	readers := []*rawClient{
		mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good")}),
		mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good")}),
	}
	th.waitClients(t, len(readers), 5*time.Second)
	for i := range burst {
		th.Publish(json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)))
	}
	for r, c := range readers {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		for i := range burst {
			got, err := c.next(ctx)
			if want := fmt.Sprintf(`{"n":%d}`, i); err != nil || got != want {
				cancel()
				t.Fatalf("reader %d, message %d: got %q, %v; want %s", r, i, got, err, want)
			}
		}
		cancel()
	}
	if got := th.Clients(); got != len(readers) {
		t.Errorf("clients after the burst: got %d; want %d", got, len(readers))
	}
}

func TestStallTimeoutDisconnects(t *testing.T) {
	th := startHub(t, Config{StallTimeout: 300 * time.Millisecond})
	mustDial(t, th.plain.URL, rawOptions{header: runeHeader("good"), readBuf: 4096}) // never reads
	th.waitClients(t, 1, 5*time.Second)
	pad := strings.Repeat("x", 4<<10)
	// Enough to fill the socket buffers, far less than the queue bound.
	for i := range 5000 {
		th.Publish(json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, pad)))
	}
	th.logs.waitFor(t, 10*time.Second, "Socket.IO client disconnected", "too slow: nothing written for 300ms")
	th.waitClients(t, 0, 5*time.Second)
}
