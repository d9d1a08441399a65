package e2e

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"
)

// TestLongCallsDoNotStarveOthers: many clients leave a blocking call
// pending (like waitanyinvoice); other requests are still served at once.
func TestLongCallsDoNotStarveOthers(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	release := make(chan struct{})
	var started sync.WaitGroup
	const pending = 150 // more than the old pool of 64 connections
	started.Add(pending)
	e.node.RPC.Handle("waitforever", "", func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		started.Done()
		select {
		case <-release:
		case <-ctx.Done():
		}
		return json.RawMessage(`{}`), nil
	})
	var done sync.WaitGroup
	for range pending {
		done.Go(func() { e.post("/v1/waitforever", "") })
	}
	waited := make(chan struct{})
	go func() { started.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		t.Fatal("the blocking calls did not all reach lightningd")
	}
	begin := time.Now()
	r := e.post("/v1/getinfo", "")
	if took := time.Since(begin); r.status != 201 || took > 2*time.Second {
		t.Errorf("getinfo with %d calls pending: got %d after %v; want 201 at once", pending, r.status, took)
	}
	close(release)
	done.Wait()
}
