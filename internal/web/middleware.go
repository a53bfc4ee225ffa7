package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caresignal/caresignal/wire"
)

type ctxKey int

const requestKey ctxKey = 0

// requestInfo is what the middleware learns about a request: its id, and
// who makes it once the route's guard has decided. One value in the
// context, so the request is copied once.
type requestInfo struct {
	id     string
	caller *caller
}

func requestID(ctx context.Context) string {
	if ri, ok := ctx.Value(requestKey).(*requestInfo); ok {
		return ri.id
	}
	return ""
}

// Request ids: a random prefix drawn once per process and a counter, so an
// id costs no system call and ids from two processes do not collide.
var (
	requestPrefix = func() string {
		var b [6]byte
		rand.Read(b[:])
		return hex.EncodeToString(b[:]) + "-"
	}()
	requestCounter atomic.Uint64
)

func newRequestID() string {
	var b [12]byte
	n := requestCounter.Add(1)
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = "0123456789abcdef"[n&15]
		n >>= 4
	}
	return requestPrefix + string(b[:])
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// contentSecurityPolicy is the policy of every response but the stored
// evaluation report's own page (handleMonitoringReport): no script at
// all, styles and images only from files this server serves (no inline
// <style> or style attributes), forms posted only to it, and framed only
// by its own pages (/monitoring frames /monitoring/report).
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'self'"

// securityHeaders sets the browser security headers on every response:
// the Content-Security-Policy, nosniff, a referrer only to this origin,
// and no-store (pages and answers show patients; a handler serving
// something cacheable, the static files, says so itself). tls tells
// whether the request reached the server over HTTPS, its own or a
// trusted proxy's: then HSTS too.
func securityHeaders(tls func(*http.Request) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if tls(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests gives every request an id (returned in X-Request-Id) and
// logs one line per request: method, route, status, size and duration.
// The route is the pattern the request matched ("GET /api/models/{name}"),
// or "unmatched", never the path: paths carry identifiers (model names,
// patient ids). It never logs bodies or query strings either, which can
// carry health data.
func logRequests(log *slog.Logger, direct io.Writer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		// The mux records the pattern it matched on the request it is
		// given: this one.
		inner := r.WithContext(context.WithValue(r.Context(), requestKey, &requestInfo{id: id}))
		next.ServeHTTP(rec, inner)
		ms := float64(time.Since(start).Microseconds()) / 1000
		method, route := logMethod(r.Method), routeOf(inner)
		if direct != nil {
			writeAccessLine(direct, id, method, route, rec.status, rec.bytes, ms)
			return
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", id),
			slog.String("method", method),
			slog.String("route", route),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.Float64("ms", ms))
	})
}

// routeOf names the route r matched for logs and metrics: its pattern, or
// "unmatched" (a 404 or 405 from the mux), never the raw path.
func routeOf(r *http.Request) string {
	if r.Pattern == "" {
		return "unmatched"
	}
	return r.Pattern
}

// logMethod is the request's method if it is a standard one, else "OTHER":
// a method is any token the client likes.
func logMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "OTHER"
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// writeAccessLine writes the access log line as log/slog's JSON handler
// would (the same keys in the same order, the same time and number
// formats; a test compares the two), without its per-attribute dispatch
// and the json.Marshal it uses for the duration, in one Write.
func writeAccessLine(w io.Writer, id, method, route string, status, bytes int, ms float64) {
	bp := linePool.Get().(*[]byte)
	b := append((*bp)[:0], `{"time":"`...)
	b = time.Now().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","request_id":`...)
	b = wire.AppendString(b, id)
	b = append(b, `,"method":`...)
	b = wire.AppendString(b, method)
	b = append(b, `,"route":`...)
	b = wire.AppendString(b, route)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, int64(bytes), 10)
	b = append(b, `,"ms":`...)
	b, _ = wire.AppendFloat(b, ms) // finite: a duration
	b = append(b, "}\n"...)
	w.Write(b)
	*bp = b
	linePool.Put(bp)
}

// recoverPanics turns a panic in a handler into a 500 answer and a log line
// with the stack, so one bad request cannot take the server down.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				// A runtime error's text is the program's own; any other
				// panic value could carry request data, so only its type
				// is logged.
				what := fmt.Sprintf("%T", v)
				if re, ok := v.(runtime.Error); ok {
					what = re.Error()
				}
				log.Error("panic serving request", "request_id", requestID(r.Context()), "route", routeOf(r), "panic", what, "stack", string(debug.Stack()))
				writeJSON(log, w, http.StatusInternalServerError, wire.ErrorBody{Error: "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}
