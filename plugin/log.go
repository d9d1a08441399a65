package plugin

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
)

// LogHandler returns a slog.Handler that sends each record to lightningd
// as a "log" notification, which lightningd writes to its own log as
// "plugin-<name>: <message>". Records below level are dropped here, so
// they cost nothing. Attributes are appended to the message as key=value
// in slog's text style; time and level are left to lightningd. Debug and
// info records reach lightningd within a few milliseconds, several in one
// notification; warn and error records at once (see writer).
func (p *Plugin) LogHandler(level slog.Leveler) slog.Handler {
	return &logHandler{p: p, level: level}
}

type logHandler struct {
	p      *Plugin
	level  slog.Leveler
	prefix string // preformatted attributes from WithAttrs
	group  string // dotted group prefix from WithGroup
}

var _ slog.Handler = (*logHandler)(nil)

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.Grow(len(r.Message) + len(h.prefix) + 32*r.NumAttrs()) // one allocation, mostly
	b.WriteString(r.Message)
	b.WriteString(h.prefix)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.group, a)
		return true
	})
	return h.p.out.log(levelName(r.Level), b.String())
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range attrs {
		appendAttr(&b, h.group, a)
	}
	h2 := *h
	h2.prefix = b.String()
	return &h2
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group = h.group + name + "."
	return &h2
}

// appendAttr writes " key=value", quoting values that contain spaces or
// quotes so that a line stays unambiguous to read.
func appendAttr(b *strings.Builder, group string, a slog.Attr) {
	if a.Value.Kind() == slog.KindLogValuer {
		// Resolve defers a recover even for plain values: not per attribute.
		a.Value = a.Value.Resolve()
	}
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			appendAttr(b, g, ga)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(group)
	b.WriteString(a.Key)
	b.WriteByte('=')
	var v string
	switch a.Value.Kind() {
	case slog.KindInt64:
		var num [20]byte
		b.Write(strconv.AppendInt(num[:0], a.Value.Int64(), 10))
		return
	case slog.KindUint64:
		var num [20]byte
		b.Write(strconv.AppendUint(num[:0], a.Value.Uint64(), 10))
		return
	default:
		v = a.Value.String()
	}
	if v == "" || strings.ContainsAny(v, " \"=\n\t") {
		b.WriteString(quote(v))
		return
	}
	b.WriteString(v)
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// levelName maps slog levels to the levels lightningd accepts in a log
// notification: "debug", "info", "warn" and "error" ("trace" is below
// debug and unused here).
func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}
