package plugin

import (
	"log/slog"
	"testing"
)

func TestLogHandler(t *testing.T) {
	tests := []struct {
		name      string
		log       func(l *slog.Logger)
		wantLevel string
		wantMsg   string
	}{
		{"info with attrs", func(l *slog.Logger) { l.Info("REST server running at https://127.0.0.1:3010") }, "info", "REST server running at https://127.0.0.1:3010"},
		{"debug", func(l *slog.Logger) { l.Debug("d", "k", 1) }, "debug", "d k=1"},
		{"warn quoted", func(l *slog.Logger) { l.Warn("w", "reason", `has "quotes" and spaces`) }, "warn", `w reason="has \"quotes\" and spaces"`},
		{"error", func(l *slog.Logger) { l.Error("e", "err", "x") }, "error", "e err=x"},
		{"with attrs and group", func(l *slog.Logger) {
			l.With("conn", 3).WithGroup("req").Info("done", "status", 201, slog.Group("rune", "id", "7"))
		}, "info", "done conn=3 req.status=201 req.rune.id=7"},
		{"empty value quoted", func(l *slog.Logger) { l.Info("m", "v", "") }, "info", `m v=""`},
		{"LogValuer resolved", func(l *slog.Logger) {
			l.Info("m", "secret", redacted("rune-text"), slog.Group("g", "inner", redacted("x")))
		}, "info", "m secret=[redacted] g.inner=[redacted]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ld := startPlugin(t, testConfig())
			tc.log(slog.New(ld.p.LogHandler(slog.LevelDebug)))
			got := ld.nextLog()
			if got.Level != tc.wantLevel || got.Message != tc.wantMsg {
				t.Errorf("got %s %q; want %s %q", got.Level, got.Message, tc.wantLevel, tc.wantMsg)
			}
		})
	}
}

func TestLogHandlerLevel(t *testing.T) {
	ld := startPlugin(t, testConfig())
	l := slog.New(ld.p.LogHandler(slog.LevelInfo))
	l.Debug("dropped")
	l.Info("kept")
	if got := ld.nextLog(); got.Message != "kept" {
		t.Errorf("got %q; want the debug line dropped and %q logged", got.Message, "kept")
	}
}

// redacted is a slog.LogValuer, as a type hiding a secret from logs is.
type redacted string

func (redacted) LogValue() slog.Value { return slog.StringValue("[redacted]") }
