package rest

import (
	"bufio"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/cors"

	"github.com/clnrest/clnrest/config"
	"github.com/clnrest/clnrest/runeauth"
)

// withCORS applies clnrest-cors-origins. Preflights are answered here,
// without calling lightningd, allowing any method and any requested
// header (rune, content-type). Socket.IO requests carrying an Origin
// that the policy refuses are answered 403: a WebSocket handshake is
// not subject to the browser's CORS checks, so the server must refuse it.
func withCORS(next http.Handler, origins *config.Origins) http.Handler {
	if origins == nil {
		return next
	}
	opts := cors.Options{
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead},
		AllowedHeaders: []string{"*"},
		MaxAge:         600,
	}
	if origins.AllowAll() {
		opts.AllowedOrigins = []string{"*"}
	} else {
		opts.AllowOriginFunc = origins.Allows
	}
	c := cors.New(opts)
	return c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && isSocketIO(r) && !origins.Allows(origin) {
			writeJSONError(w, newError(http.StatusForbidden, codeInvalidRequest, "Origin "+origin+" is not allowed by clnrest-cors-origins"))
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// withCSP sends the Content-Security-Policy on every response.
func withCSP(next http.Handler, csp string) http.Handler {
	if csp == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		next.ServeHTTP(w, r)
	})
}

// withAccessLog logs one info line per request: method, path (as sent,
// percent-encoded, so the line shows exactly what was asked for), status,
// duration and the rune's unique id (never the rune). Socket.IO traffic
// is left out: its long polls would drown the log, and the Socket.IO
// server logs connects and disconnects itself.
func withAccessLog(next http.Handler, log *slog.Logger) http.Handler {
	h := log.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isSocketIO(r) || !h.Enabled(r.Context(), slog.LevelInfo) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			end := time.Now()
			// The record goes straight to the handler: Logger.Info would
			// also walk the stack for the caller's position, which no
			// line shows, on every request.
			rec := slog.NewRecord(end, slog.LevelInfo, "REST request", 0)
			rec.AddAttrs(slog.String("method", r.Method), slog.String("path", routePath(r)),
				slog.Int("status", sw.status()),
				// milliseconds, in ASCII: lightningd's log turns "µs" into "??s"
				slog.String("duration_ms", strconv.FormatFloat(float64(end.Sub(start).Microseconds())/1000, 'f', 3, 64)))
			if id := runeID(r); id != "" {
				rec.AddAttrs(slog.String("rune_id", id))
			}
			_ = h.Handle(r.Context(), rec)
		}()
		next.ServeHTTP(sw, r)
	})
}

// withRequestCap answers 503 with Retry-After, without running anything,
// while max requests are already being served, so that a flood cannot
// pile up goroutines, memory and lightningd calls without bound. Socket.IO
// requests are not counted: long polls and WebSockets last for minutes by
// design, and the Socket.IO hub bounds its clients itself.
func withRequestCap(next http.Handler, max int) http.Handler {
	slots := make(chan struct{}, max)
	refusal := newError(http.StatusServiceUnavailable, codeInternal,
		"Too many requests in progress (clnrest-max-requests "+strconv.Itoa(max)+"); retry later")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isSocketIO(r) {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			writeJSONError(w, refusal)
		}
	})
}

// runeID names the request's rune in logs (runeauth.LogID); "" when the
// request has none.
func runeID(r *http.Request) string {
	rune := r.Header.Get("Rune")
	if rune == "" {
		return ""
	}
	return runeauth.LogID(rune)
}

// statusWriter records the status a handler sent. It keeps Flush and
// Hijack reachable through Unwrap and direct methods.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijacking is not supported by the underlying connection")
}
