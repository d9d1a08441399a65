package lightningdtest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// logOutcome is what handling one stdout message left behind: the log
// lines without their time stamps, and the violations.
func logOutcome(handle func(*Plugin, json.RawMessage), raw string) (lines, violations []string) {
	p := &Plugin{logPrefix: "plugin-x", logChanged: make(chan struct{}), state: pluginGone}
	handle(p, json.RawMessage(raw))
	for _, l := range p.Logs() {
		_, rest, _ := strings.Cut(l, " ")
		lines = append(lines, rest)
	}
	return lines, p.violations
}

// checkSameAsGeneral fails unless dispatch, with its shortcut for plain
// log notifications, leaves what decoding the message whole leaves.
func checkSameAsGeneral(t *testing.T, raw string) {
	t.Helper()
	fastLines, fastViolations := logOutcome((*Plugin).dispatch, raw)
	lines, violations := logOutcome((*Plugin).dispatchMessage, raw)
	if !slices.Equal(fastLines, lines) || !slices.Equal(fastViolations, violations) {
		t.Errorf("%s:\ndispatch logged %q, violations %q\ngeneral path logged %q, violations %q",
			raw, fastLines, fastViolations, lines, violations)
	}
}

func TestPlainLogNotificationMatchesGeneralPath(t *testing.T) {
	tests := []struct {
		raw   string
		plain bool // takes the shortcut
		want  []string
	}{
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":"REST request method=POST"}}`, true,
			[]string{"INFO    plugin-x: REST request method=POST"}},
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"debug","message":"one\ntwo\\three \"q\""}}`, true,
			[]string{"DEBUG   plugin-x: one", "DEBUG   plugin-x: two\\three \"q\""}},
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"warn","message":"tab\there \u00e9"}}`, true,
			[]string{"UNUSUAL plugin-x: tab\\there \\u00e9"}}, // \u: not unescaped, logged as it came
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"INFO","message":"caps"}}`, true,
			[]string{"INFO    plugin-x: caps"}},
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"io","message":"x"}}`, true, nil},
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"","message":"x"}}`, true, nil},
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":""}}`, true,
			[]string{"INFO    plugin-x: "}},
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":"a\"}}"}}`, true,
			[]string{`INFO    plugin-x: a"}}`}},
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":"\\"}}`, true,
			[]string{`INFO    plugin-x: \`}},
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":"ctl` + "\x7f" + `"}}`, true,
			[]string{"INFO    plugin-x: ctl?"}},
		// Not the plain shape: the general path decides.
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":"x","extra":1}}`, false,
			[]string{"INFO    plugin-x: x"}},
		{`{"jsonrpc":"2.0","method":"log","params":{"message":"no level"}}`, false,
			[]string{"INFO    plugin-x: no level"}},
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":7}}`, false, nil},
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":"x"},"id":1}`, false, nil},
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":"a","message":"b"}}`, false,
			[]string{"INFO    plugin-x: b"}},
		{`{"jsonrpc":"2.0", "method":"log","params":{"level":"info","message":"spaced"}}`, false,
			[]string{"INFO    plugin-x: spaced"}},
		{`{"jsonrpc":"2.0","method":"log","params":{"level":"in fo","message":"x"}}`, false, nil},
	}
	for _, tt := range tests {
		_, _, plain := plainLogNotification([]byte(tt.raw))
		if plain != tt.plain {
			t.Errorf("%s: plain %v, want %v", tt.raw, plain, tt.plain)
		}
		checkSameAsGeneral(t, tt.raw)
		if lines, _ := logOutcome((*Plugin).dispatch, tt.raw); !slices.Equal(lines, tt.want) {
			t.Errorf("%s: logged %q, want %q", tt.raw, lines, tt.want)
		}
	}
}

// FuzzPlainLogNotification: for any valid JSON message, the shortcut
// leaves the same log lines and violations as the general path.
func FuzzPlainLogNotification(f *testing.F) {
	f.Add(`{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":"a\nb"}}`)
	f.Add(`{"jsonrpc":"2.0","method":"log","params":{"level":"debug","message":"\\\""}}`)
	f.Add(`{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":"x"},"x":1}`)
	f.Fuzz(func(t *testing.T, raw string) {
		if !json.Valid([]byte(raw)) {
			return // the stdout decoder never hands these to dispatch
		}
		checkSameAsGeneral(t, raw)
	})
}

// BenchmarkLogBatch is the simulator's cost per access line of clnrest,
// which sends them joined in batches: general is the path before the
// shortcut (decoding each message into maps twice).
func BenchmarkLogBatch(b *testing.B) {
	line := `REST request method=POST path=/v1/getinfo status=201 duration_ms=0.412 rune_id=0`
	var batch strings.Builder
	batch.WriteString(`{"jsonrpc":"2.0","method":"log","params":{"level":"info","message":"` + line)
	const lines = 1000
	for range lines - 1 {
		batch.WriteString(`\n` + line)
	}
	batch.WriteString(`"}}`)
	raw := json.RawMessage(batch.String())
	for _, bb := range []struct {
		name   string
		handle func(*Plugin, json.RawMessage)
	}{{"plain", (*Plugin).dispatch}, {"general", (*Plugin).dispatchMessage}} {
		b.Run(bb.name, func(b *testing.B) {
			p := &Plugin{logPrefix: "plugin-clnrest", logChanged: make(chan struct{}), cfg: PluginConfig{KeepLogs: 10000}}
			b.ReportAllocs()
			for b.Loop() {
				bb.handle(p, raw)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
		})
	}
}
