package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is the plugin's stdout in FuzzRun: written by the
// plugin's goroutines, read by the test once Run has returned.
type lockedBuffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// FuzzRun feeds arbitrary bytes to Run as lightningd's side of stdin: Run
// must return (stdin ends, so it must not hang), must not panic, and must
// write nothing but JSON-RPC 2.0 messages to stdout. Seeds are in
// testdata/fuzz/FuzzRun/.
func FuzzRun(f *testing.F) {
	f.Fuzz(func(t *testing.T, stdin []byte) {
		var out lockedBuffer
		cfg := testConfig()
		cfg.Init = func(context.Context, Init) error { return nil }
		cfg.OnNotification = func(string, json.RawMessage) {}
		p := New(bytes.NewReader(stdin), &out, cfg)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Run did not return within 5s of stdin ending; stdin %q", stdin)
		}
		checkJSONRPCStream(t, out.bytes())
	})
}

// checkJSONRPCStream fails unless b is a sequence of JSON-RPC 2.0
// objects, as lightningd requires of a plugin's stdout.
func checkJSONRPCStream(t *testing.T, b []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var m struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      json.RawMessage `json:"id"`
			Method  string          `json:"method"`
		}
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("stdout is not a stream of JSON objects: %v\n%s", err, b)
		}
		if m.JSONRPC != "2.0" || (m.ID == nil && m.Method == "") {
			t.Fatalf("stdout holds a message that is not JSON-RPC 2.0: %+v\n%s", m, b)
		}
	}
}
