package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

const (
	// logDelay is how long a debug or info line may wait before it is
	// written, so that the lines of many REST requests reach lightningd in
	// one write and one message instead of one each. Each batch costs a
	// timer wake-up and a write here and a wake-up, read and parse in
	// lightningd, whatever its size, so batches are made long: at 2 ms
	// the access lines of one client's requests (thousands a second
	// against a fast node) still went out a handful at a time, and the
	// batches cost both
	// processes several µs of CPU per request (clnrest-bench). A line
	// reaching lightningd's log 100 ms late is no loss to its reader.
	logDelay = 100 * time.Millisecond
	// maxPendingLog bounds the bytes of log lines waiting; a line that
	// would go past it writes everything at once, so that a logger outrunning
	// stdout is slowed down instead of growing memory.
	maxPendingLog = 256 << 10
	// maxLogMessage bounds the message of one log notification made of
	// joined lines; lightningd reads a message whole before parsing it.
	maxLogMessage = 64 << 10
)

// writer is the one writer of stdout. Messages from any goroutine are
// written whole, one after the other, each followed by a blank line, as
// lightningd's own plugins do.
//
// Log lines at debug and info wait up to logDelay and go out together:
// consecutive lines of one level are joined with newlines into one log
// notification, which lightningd splits back into lines
// (plugin_log_handle in lightningd/plugin.c). Under load this turns a
// write per REST request, and a message for lightningd's single thread to
// read and parse, into one per batch. Nothing is reordered: any other
// message, and any warn or error line, is written after the lines
// waiting before it, in the same write.
type writer struct {
	// writeMu is held while writing to w, so writes go out whole and in
	// the order their contents were taken from pending.
	writeMu sync.Mutex
	w       io.Writer
	buf     bytes.Buffer // encoding buffer, used under writeMu
	// err is the first write error, set under writeMu; once stdout is
	// broken, lightningd is gone and nothing more is attempted.
	err atomic.Pointer[error]

	mu           sync.Mutex // protects the fields below
	pending      []logLine  // waiting to be written, oldest first
	spare        []logLine  // the previous pending slice, reused
	pendingBytes int
	delay        time.Duration // logDelay, but in tests
	timer        *time.Timer   // flushes pending after delay; nil until first used
	armed        bool          // timer is set to fire
	closed       bool          // lines are written at once
}

// logLine is one log line waiting to be written.
type logLine struct {
	level   string // as lightningd names it: debug, info, warn, error
	message string
}

func newWriter(w io.Writer) *writer { return &writer{w: w, delay: logDelay} }

// send writes v as one JSON message, after the log lines waiting.
func (w *writer) send(v any) error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	if err := w.startWrite(); err != nil {
		return err
	}
	enc := json.NewEncoder(&w.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// What is pending still goes out; v is dropped.
		_ = w.writeBuf()
		return fmt.Errorf("encoding message for lightningd: %w", err)
	}
	w.buf.WriteByte('\n')
	return w.writeBuf()
}

// log queues a log line for lightningd. Debug and info lines are written
// within logDelay, warn and error lines at once (with those before them).
func (w *writer) log(level, message string) error {
	if err := w.loadErr(); err != nil {
		return err
	}
	w.mu.Lock()
	w.pending = append(w.pending, logLine{level: level, message: message})
	w.pendingBytes += len(message)
	now := w.closed || w.pendingBytes > maxPendingLog || (level != "debug" && level != "info" && level != "trace")
	if !now && !w.armed {
		w.armed = true
		if w.timer == nil {
			w.timer = time.AfterFunc(w.delay, w.flushTimer)
		} else {
			w.timer.Reset(w.delay)
		}
	}
	w.mu.Unlock()
	if now {
		return w.flush()
	}
	return nil
}

// flush writes the log lines waiting, if any.
func (w *writer) flush() error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	if err := w.startWrite(); err != nil {
		return err
	}
	if w.buf.Len() == 0 {
		return nil
	}
	return w.writeBuf()
}

func (w *writer) flushTimer() { _ = w.flush() }

// close writes the log lines waiting and makes later lines go out at
// once: nothing is left behind when the process ends.
func (w *writer) close() error {
	w.mu.Lock()
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
		w.armed = false
	}
	w.mu.Unlock()
	return w.flush()
}

// startWrite begins a write: w.buf is emptied and filled with the log
// lines waiting, unless stdout already failed. The caller holds writeMu.
func (w *writer) startWrite() error {
	if err := w.loadErr(); err != nil {
		return err
	}
	w.buf.Reset()
	w.takePending()
	return nil
}

// takePending moves the waiting log lines, encoded, into w.buf. The caller
// holds writeMu, which keeps the order of takes the order of writes.
func (w *writer) takePending() {
	w.mu.Lock()
	lines := w.pending
	w.pending, w.spare = w.spare, nil
	w.pendingBytes = 0
	w.armed = false // a timer still due finds nothing, or lines of a later batch
	w.mu.Unlock()
	if len(lines) == 0 {
		return
	}
	w.buf.Write(appendLogNotifications(w.buf.AvailableBuffer(), lines))
	clear(lines) // don't keep the strings alive
	w.mu.Lock()
	w.spare = lines[:0]
	w.mu.Unlock()
}

// writeBuf writes buf to stdout; the caller holds writeMu.
func (w *writer) writeBuf() error {
	_, err := w.w.Write(w.buf.Bytes())
	if w.buf.Cap() > 1<<20 {
		w.buf = bytes.Buffer{} // don't keep a huge buffer for ever
	}
	if err != nil {
		err = fmt.Errorf("writing to lightningd: %w", err)
		w.err.Store(&err)
		return err
	}
	return nil
}

func (w *writer) loadErr() error {
	if p := w.err.Load(); p != nil {
		return *p
	}
	return nil
}

// appendLogNotifications appends lines as log notifications, joining
// consecutive lines of one level into one message while it stays under
// maxLogMessage. A line that needs a \u escape goes alone: lightningd
// does not unescape \u (json_escape_unescape in ccan), and logs such a
// message as it came, so joined lines would show as one.
func appendLogNotifications(dst []byte, lines []logLine) []byte {
	for i := 0; i < len(lines); {
		first := lines[i]
		dst = append(dst, `{"jsonrpc":"2.0","method":"log","params":{"level":`...)
		dst = appendJSONString(dst, first.level)
		dst = append(dst, `,"message":"`...)
		start := len(dst)
		var plain bool
		dst, plain = appendLogText(dst, first.message)
		i++
		for plain && i < len(lines) && lines[i].level == first.level && len(dst)-start < maxLogMessage {
			mark := len(dst)
			dst = append(dst, `\n`...)
			if dst, plain = appendLogText(dst, lines[i].message); !plain {
				dst = dst[:mark]
				break
			}
			i++
		}
		dst = append(dst, "\"}}\n\n"...)
	}
	return dst
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst, _ = appendLogText(dst, s)
	return append(dst, '"')
}

// appendLogText appends s escaped for the inside of a JSON string. It
// reports whether every escape used is one lightningd unescapes (\" \\ \n
// \t \r \b \f); other control characters need \u00XX. Invalid UTF-8 is
// replaced by U+FFFD, as encoding/json does.
func appendLogText(dst []byte, s string) ([]byte, bool) {
	const hex = "0123456789abcdef"
	plain := true
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		i++
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c >= 0x20:
			dst = append(dst, c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			plain = false
		}
	}
	return dst, plain
}
