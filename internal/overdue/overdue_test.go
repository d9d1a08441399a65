package overdue

import (
	"sync"
	"testing"
	"time"
)

const delay = 20 * time.Millisecond

// owner is a Timer's owner as the packages use it: a lock, and an
// operation that may be running.
type owner struct {
	mu      sync.Mutex
	timer   Timer
	running bool
	overdue chan time.Time // when Fired reported true
}

func (o *owner) fire() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.timer.Fired(o.running) {
		o.overdue <- time.Now()
	}
}

func (o *owner) start() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	began := time.Now() // not after Start: no later than the time it records
	o.running = true
	o.timer.Start()
	return began
}

func (o *owner) end() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.running = false
}

func TestTimer(t *testing.T) {
	tests := []struct {
		name string
		// run drives o and returns when the operation that must become
		// overdue started, or the zero time when none must.
		run func(o *owner) time.Time
	}{
		{"one long operation", func(o *owner) time.Time {
			return o.start()
		}},
		{"a long operation right after a short one", func(o *owner) time.Time {
			// The timer the short one set fires early for the long one
			// and must be set again, not lost.
			o.start()
			o.end()
			time.Sleep(delay / 2)
			return o.start()
		}},
		{"short operations only", func(o *owner) time.Time {
			for range 3 {
				o.start()
				o.end()
				time.Sleep(delay / 2)
			}
			return time.Time{}
		}},
		{"a long operation after the timer went quiet", func(o *owner) time.Time {
			o.start()
			o.end()
			time.Sleep(3 * delay) // fired while idle: off until the next Start
			return o.start()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &owner{overdue: make(chan time.Time, 1)}
			o.timer.Init(delay, o.fire)
			began := tc.run(o)
			select {
			case at := <-o.overdue:
				if began.IsZero() {
					t.Fatal("reported overdue with no long operation")
				}
				if d := at.Sub(began); d < delay {
					t.Errorf("overdue after %v; want at least %v", d, delay)
				}
			case <-time.After(5 * delay):
				if !began.IsZero() {
					t.Fatal("a long operation was never reported overdue")
				}
			}
		})
	}
}
