// Package overdue tells when an operation has run longer than a delay,
// without a timer operation per operation.
//
// Both the HTTP fast path (is the client still there?) and the
// lightning-rpc client (was the call's context cancelled?) start extra
// work only for the rare operation that runs long. Resetting and stopping
// a timer for every request cost them measurable CPU on a busy machine,
// so a Timer is left running: Start only records when an operation began,
// and when the timer fires early for the operation now running it is set
// again for the rest of that operation's delay. A busy owner's timer thus
// fires about once per delay, an idle one's not at all.
package overdue

import "time"

// Timer is owned by one value and guarded by that owner's lock: Start and
// Fired must be called with it held, and fire (see Init) must take it
// before calling Fired.
type Timer struct {
	delay   time.Duration
	fire    func()
	t       *time.Timer // nil until the first Start
	since   time.Time   // when the operation of the last Start began
	pending bool        // t is set and has not fired yet
}

// Init sets the delay and the function the timer runs, once, when the
// owner is made: a method value made at every Start would be an
// allocation per operation.
func (o *Timer) Init(delay time.Duration, fire func()) {
	o.delay, o.fire = delay, fire
}

// Start records that an operation begins now and makes sure fire runs
// within the delay.
func (o *Timer) Start() {
	o.since = time.Now()
	if o.pending {
		return
	}
	o.pending = true
	if o.t == nil {
		o.t = time.AfterFunc(o.delay, o.fire)
		return
	}
	o.t.Reset(o.delay)
}

// Fired is what fire calls first, with the owner's lock held. running
// tells whether the operation of the last Start still needs watching.
// Fired reports whether it has run its delay; when it is still running
// but has not, the timer is set again for the rest and Fired reports
// false. When it is not running, the timer stays off until the next Start.
func (o *Timer) Fired(running bool) bool {
	o.pending = false
	if !running {
		return false
	}
	if left := o.delay - time.Since(o.since); left > 0 {
		o.pending = true
		o.t.Reset(left)
		return false
	}
	return true
}
