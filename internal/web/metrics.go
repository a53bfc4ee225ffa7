package web

import (
	"context"
	_ "embed"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, registered on the
// handler's registry (never the global one).
type metrics struct {
	registry *prometheus.Registry
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	// authFailures counts failed authentications: a refused web login
	// (login), a login attempt slowed after too many failures (limited),
	// and a request to an administrators' route without a valid key
	// (admin).
	authFailures *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &metrics{
		registry: reg,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "caresignal_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and status.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caresignal_http_requests_in_flight",
			Help: "Requests being answered now.",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caresignal_auth_failures_total",
			Help: "Failed authentications: refused web logins (login), logins refused for too many failures (limited), requests to administrators' routes without a valid key (admin).",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.duration, m.inFlight, m.authFailures)
	return m
}

// instrument times every request under the route pattern the mux matched
// (never the raw path, which could carry identifiers).
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := routeOf(r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		m.duration.WithLabelValues(route, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
	})
}

func (s *server) handleMetrics() http.Handler {
	return promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
}

// handleReadyz answers 200 when the server can do its work: a model is
// loaded and, when a database is configured, it answers within a second.
func (s *server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checks := map[string]string{"model": "ok"}
		ready := true
		if s.draining.Load() {
			checks["server"], ready = "draining", false
		}
		if sv := s.models.Load(); sv == nil || sv.Production == nil {
			checks["model"], ready = "no model loaded", false
		}
		// The database is needed unless the prediction log is keeping
		// every record safely on disk while it is away.
		dbOK := true
		if s.cfg.Store == nil {
			checks["database"] = "none configured"
		} else {
			ctx, cancel := context.WithTimeout(r.Context(), time.Second)
			err := s.cfg.Store.Ping(ctx)
			cancel()
			checks["database"] = "ok"
			if err != nil {
				s.log.Warn("readiness: database unreachable", "err", err)
				checks["database"], dbOK = "unreachable", false
			}
		}
		if pl := s.cfg.PredictionLog; pl != nil {
			// Records the database refused are safe in the quarantine
			// file and the log keeps writing: the check says so (after a
			// "; ") but readiness does not change.
			checks["prediction_log"] = pl.State()
			switch pl.Health() {
			case "ok":
			case "spilling":
				dbOK = true
			default:
				ready = false
			}
		}
		code := http.StatusOK
		if !ready || !dbOK {
			code = http.StatusServiceUnavailable
		}
		status := "ready"
		if code != http.StatusOK {
			status = "not ready"
		}
		writeJSON(s.log, w, code, map[string]any{"status": status, "checks": checks})
	})
}

//go:embed openapi.json
var openAPI []byte

// handleOpenAPI serves the OpenAPI document of every route.
func (s *server) handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
}
