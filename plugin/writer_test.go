package plugin

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clnrest/clnrest/internal/lightningdtest"
)

// stdout is lightningd's end of the plugin's stdout: it records each
// write, so tests can tell what went out together.
type stdout struct {
	mu     sync.Mutex // protects writes
	writes []string
}

func (s *stdout) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, string(p))
	return len(p), nil
}

// await waits up to 5s for a write.
func (s *stdout) await() {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		n := len(s.writes)
		s.mu.Unlock()
		if n > 0 {
			return
		}
	}
}

func (s *stdout) taken() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.writes
	s.writes = nil
	return w
}

// ldLogLine is a log line as lightningd records it.
type ldLogLine struct{ level, text string }

// lightningdLogs reads the messages written as lightningd does
// (plugin_log_handle): a log message with a backslash is unescaped, with
// only the escapes ccan's json_escape knows (lightningdtest.UnescapeJSON),
// and split at newlines; a message that does not unescape is logged as it
// came. Other messages are returned as their method or id.
func lightningdLogs(t *testing.T, out string) (lines []ldLogLine, others []string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Level   string          `json:"level"`
				Message json.RawMessage `json:"message"`
			} `json:"params"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return lines, others
		} else if err != nil {
			t.Fatalf("stdout is not JSON: %v in %q", err, out)
		}
		if m.Method != "log" {
			others = append(others, m.Method+string(m.ID))
			continue
		}
		raw := string(m.Params.Message[1 : len(m.Params.Message)-1])
		if !strings.Contains(raw, `\`) {
			lines = append(lines, ldLogLine{m.Params.Level, raw})
			continue
		}
		text, ok := lightningdtest.UnescapeJSON(raw)
		if !ok {
			lines = append(lines, ldLogLine{m.Params.Level, raw})
			continue
		}
		for _, l := range strings.Split(text, "\n") {
			lines = append(lines, ldLogLine{m.Params.Level, l})
		}
	}
}

func newTestWriter(delay time.Duration) (*writer, *stdout) {
	out := &stdout{}
	w := newWriter(out)
	w.delay = delay
	return w, out
}

func TestLogLinesJoined(t *testing.T) {
	tests := []struct {
		name  string
		lines []logLine
		// want is what lightningd logs; notes how many notifications.
		want          []ldLogLine
		notifications int
	}{
		{"one level joined",
			[]logLine{{"info", "a"}, {"info", "b c=1"}, {"info", `q="x y"`}},
			[]ldLogLine{{"info", "a"}, {"info", "b c=1"}, {"info", `q="x y"`}}, 1},
		{"levels apart, order kept",
			[]logLine{{"info", "a"}, {"debug", "b"}, {"debug", "c"}, {"info", "d"}},
			[]ldLogLine{{"info", "a"}, {"debug", "b"}, {"debug", "c"}, {"info", "d"}}, 3},
		{"a line that needs \\u goes alone, as lightningd logs it raw",
			[]logLine{{"info", "a"}, {"info", "esc\x1b[0m"}, {"info", "b"}, {"info", "c"}},
			[]ldLogLine{{"info", "a"}, {"info", `esc\u001b[0m`}, {"info", "b"}, {"info", "c"}}, 3},
		{"tabs, quotes and backslashes survive the join",
			[]logLine{{"info", "t\tq\"b\\"}, {"info", "cr\r"}},
			[]ldLogLine{{"info", "t\tq\"b\\"}, {"info", "cr\r"}}, 1},
		{"a newline inside a line splits it, as it did alone",
			[]logLine{{"info", "x\ny"}, {"info", "z"}},
			[]ldLogLine{{"info", "x"}, {"info", "y"}, {"info", "z"}}, 1},
		{"invalid UTF-8 replaced, other UTF-8 kept",
			[]logLine{{"info", "bad\xff"}, {"info", "é\u2028"}},
			[]ldLogLine{{"info", "bad\uFFFD"}, {"info", "é\u2028"}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, out := newTestWriter(time.Hour)
			for _, l := range tc.lines {
				if err := w.log(l.level, l.message); err != nil {
					t.Fatal(err)
				}
			}
			if got := out.taken(); len(got) != 0 {
				t.Fatalf("info lines written before their delay: %q", got)
			}
			if err := w.flush(); err != nil {
				t.Fatal(err)
			}
			writes := out.taken()
			if len(writes) != 1 {
				t.Fatalf("got %d writes; want 1", len(writes))
			}
			if n := strings.Count(writes[0], `"method":"log"`); n != tc.notifications {
				t.Errorf("got %d notifications; want %d in %s", n, tc.notifications, writes[0])
			}
			got, _ := lightningdLogs(t, writes[0])
			if !equalLines(got, tc.want) {
				t.Errorf("lightningd logs %q; want %q", got, tc.want)
			}
		})
	}
}

func equalLines(a, b []ldLogLine) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLogLineLimits(t *testing.T) {
	w, out := newTestWriter(time.Hour)
	line := strings.Repeat("x", 1000)
	// Past maxPendingLog the line that crosses it writes everything.
	n := maxPendingLog/len(line) + 1
	for range n {
		if err := w.log("info", line); err != nil {
			t.Fatal(err)
		}
	}
	writes := out.taken()
	if len(writes) != 1 {
		t.Fatalf("got %d writes after %d bytes of lines; want 1", len(writes), n*len(line))
	}
	got, _ := lightningdLogs(t, writes[0])
	if len(got) != n {
		t.Fatalf("got %d lines; want %d", len(got), n)
	}
	// No notification's message is much over maxLogMessage.
	for _, msg := range strings.Split(writes[0], "\n\n") {
		if len(msg) > maxLogMessage+len(line)+200 {
			t.Errorf("a notification of %d bytes; want about %d at most", len(msg), maxLogMessage)
		}
	}
}

func TestLogWritesInOrder(t *testing.T) {
	t.Run("warn and error at once, after the lines before them", func(t *testing.T) {
		w, out := newTestWriter(time.Hour)
		w.log("info", "a")
		w.log("warn", "b")
		w.log("info", "c")
		w.log("error", "d")
		writes := out.taken()
		if len(writes) != 2 {
			t.Fatalf("got %d writes; want 2 (one per warn or error)", len(writes))
		}
		got, _ := lightningdLogs(t, strings.Join(writes, ""))
		want := []ldLogLine{{"info", "a"}, {"warn", "b"}, {"info", "c"}, {"error", "d"}}
		if !equalLines(got, want) {
			t.Errorf("got %q; want %q", got, want)
		}
	})
	t.Run("a message goes out after the lines before it, in the same write", func(t *testing.T) {
		w, out := newTestWriter(time.Hour)
		w.log("info", "starting")
		if err := w.send(response{JSONRPC: "2.0", ID: json.RawMessage(`7`), Result: map[string]string{"disable": "x"}}); err != nil {
			t.Fatal(err)
		}
		writes := out.taken()
		if len(writes) != 1 {
			t.Fatalf("got %d writes; want 1", len(writes))
		}
		lines, others := lightningdLogs(t, writes[0])
		if len(lines) != 1 || lines[0].text != "starting" || len(others) != 1 || others[0] != "7" {
			t.Errorf("got lines %q and messages %q; want the log line, then the response", lines, others)
		}
		if strings.Index(writes[0], "starting") > strings.Index(writes[0], `"id":7`) {
			t.Errorf("response written before the log line: %s", writes[0])
		}
	})
	t.Run("debug and info go out within the delay", func(t *testing.T) {
		w, out := newTestWriter(time.Millisecond)
		w.log("info", "a")
		out.await()
		got, _ := lightningdLogs(t, strings.Join(out.taken(), ""))
		if !equalLines(got, []ldLogLine{{"info", "a"}}) {
			t.Errorf("got %q; want the line written by the timer", got)
		}
		w.log("debug", "b") // the timer is armed again
		out.await()
		if got, _ := lightningdLogs(t, strings.Join(out.taken(), "")); !equalLines(got, []ldLogLine{{"debug", "b"}}) {
			t.Errorf("got %q; want the second line written by the timer", got)
		}
	})
	t.Run("close writes what waits, and later lines at once", func(t *testing.T) {
		w, out := newTestWriter(time.Hour)
		w.log("info", "a")
		if err := w.close(); err != nil {
			t.Fatal(err)
		}
		w.log("info", "b")
		got, _ := lightningdLogs(t, strings.Join(out.taken(), ""))
		if !equalLines(got, []ldLogLine{{"info", "a"}, {"info", "b"}}) {
			t.Errorf("got %q; want both lines written", got)
		}
	})
}

func TestWriterBroken(t *testing.T) {
	w := newWriter(failingWriter{})
	w.delay = time.Hour
	if err := w.log("info", "a"); err != nil {
		t.Fatalf("log before any write: %v", err)
	}
	if err := w.flush(); err == nil {
		t.Fatal("flush to a broken stdout: got nil; want the error")
	}
	if err := w.log("info", "b"); err == nil {
		t.Error("log after stdout broke: got nil; want the error")
	}
	if err := w.send(response{JSONRPC: "2.0", ID: json.RawMessage(`1`)}); err == nil {
		t.Error("send after stdout broke: got nil; want the error")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func BenchmarkLogLine(b *testing.B) {
	w := newWriter(io.Discard)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = w.log("info", "REST request method=POST path=/v1/getinfo status=201 duration_ms=0.463 rune_id=10")
		}
	})
	_ = w.close()
}
