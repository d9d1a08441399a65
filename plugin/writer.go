package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// writer is the one writer of stdout. Messages from any goroutine are
// written whole, one after the other, each followed by a blank line, as
// lightningd's own plugins do.
type writer struct {
	mu  sync.Mutex // protects w, buf and err
	w   io.Writer
	buf bytes.Buffer
	// err is the first write error; once stdout is broken, lightningd is
	// gone and nothing more is attempted.
	err error
}

func newWriter(w io.Writer) *writer { return &writer{w: w} }

func (w *writer) send(v any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.buf.Reset()
	enc := json.NewEncoder(&w.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding message for lightningd: %w", err)
	}
	w.buf.WriteByte('\n')
	if _, err := w.w.Write(w.buf.Bytes()); err != nil {
		w.err = fmt.Errorf("writing to lightningd: %w", err)
		return w.err
	}
	if w.buf.Cap() > 1<<20 {
		w.buf = bytes.Buffer{} // don't keep a huge buffer for ever
	}
	return nil
}
