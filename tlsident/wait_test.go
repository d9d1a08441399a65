package tlsident

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// step is one delayed write by the simulated cln-grpc.
type step struct {
	after time.Duration
	files map[string][]byte
}

func TestLoadWaitsForOtherWriter(t *testing.T) {
	set := generatedSet(t, "127.0.0.1")
	present := []string{caFile, caKeyFile, serverKeyFile}
	rest := map[string][]byte{serverFile: set[serverFile], clientFile: set[clientFile], clientKeyFile: set[clientKeyFile]}
	torn := map[string][]byte{serverFile: set[serverFile], clientKeyFile: set[clientKeyFile],
		clientFile: set[clientFile][:len(set[clientFile])/2]}
	tests := []struct {
		name          string
		waitFor       time.Duration
		steps         []step
		cancelAfter   time.Duration // 0: never
		wantGenerated bool
		wantErr       error
		minElapsed    time.Duration
	}{
		{"completed after 300ms", 5 * time.Second, []step{{300 * time.Millisecond, rest}}, 0, false, nil, 300 * time.Millisecond},
		{"completed half-written then whole", 5 * time.Second,
			[]step{{200 * time.Millisecond, torn}, {500 * time.Millisecond, rest}}, 0, false, nil, 500 * time.Millisecond},
		{"never completed", 300 * time.Millisecond, nil, 0, true, nil, 300 * time.Millisecond},
		{"completed too late", 200 * time.Millisecond, []step{{1500 * time.Millisecond, rest}}, 0, true, nil, 200 * time.Millisecond},
		{"left half-written", 600 * time.Millisecond, []step{{100 * time.Millisecond, torn}}, 0, false, ErrMalformed, 600 * time.Millisecond},
		{"cancelled", 5 * time.Second, nil, 100 * time.Millisecond, false, context.Canceled, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSet(t, dir, set, present...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelAfter > 0 {
				time.AfterFunc(tt.cancelAfter, cancel)
			}
			stop := startWriter(t, dir, tt.steps)
			start := time.Now()
			id, err := Load(ctx, Config{Dir: dir, WaitFor: tt.waitFor})
			elapsed := time.Since(start)
			stop()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Load: got %v; want %v", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Load: got %v; want nil", err)
			} else if id.Generated != tt.wantGenerated {
				t.Errorf("Generated: got %v; want %v", id.Generated, tt.wantGenerated)
			}
			if elapsed < tt.minElapsed {
				t.Errorf("elapsed: got %v; want at least %v", elapsed, tt.minElapsed)
			}
			if err == nil && !tt.wantGenerated {
				got := readSet(t, dir)
				for _, name := range fileNames {
					if !bytes.Equal(got[name], set[name]) {
						t.Errorf("%s: got changed; want the other writer's file", name)
					}
				}
			}
		})
	}
}

// startWriter plays steps from a goroutine, each at its delay after the
// start, writing files the way cln-grpc does (create, then write). The
// returned stop waits for the goroutine, cancelling steps not yet due.
func startWriter(t *testing.T, dir string, steps []step) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		for _, s := range steps {
			select {
			case <-done:
				return
			case <-time.After(time.Until(start.Add(s.after))):
			}
			for name, data := range s.files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					t.Errorf("writing %s: %v", name, err)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
