// Package web is caresignal's HTTP surface: an adapter over package
// serving for the JSON API (POST /api/engagement, the Open Inference
// Protocol, MLflow /invocations), plus health, metrics, model metadata,
// the administrators' API and the server-rendered web app. NewHandler
// returns one http.Handler; routes.go lists every route with who may use
// it.
package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/wire"
)

// Config is what the handler needs.
type Config struct {
	// Models is the set of models served, which the caller may swap while
	// the handler runs; nil: Model alone, never swapped.
	Models *serving.Models
	Model  *model.Model     // the model to serve when Models is nil
	Store  caresignal.Store // optional: the worklist reads batch scores from it
	Logger *slog.Logger     // required
	// AccessLog, if set, receives the access log (one line per request)
	// directly, as JSON lines of the shape Logger would write with
	// slog's JSON handler, without going through Logger. Leave it nil
	// when Logger writes text.
	AccessLog io.Writer
	Mode      string // "dev" shows a banner on every page
	// Registry receives the server's Prometheus metrics and is what
	// /metrics exposes; nil: a registry of the handler's own.
	Registry *prometheus.Registry
	// Access restricts who may do what (production mode); nil: anyone
	// may do anything (development mode).
	Access *Access
	// Deployer follows the model registry and carries out activations and
	// rollbacks; nil: no registry, the admin model routes refuse.
	Deployer *serving.Deployer
	// Stop, if set, stops the server gracefully (POST /api/admin/stop).
	Stop func()
	// PredictionLog, if set, records every prediction the API serves.
	PredictionLog *predlog.Logger
	// PseudonymKey, when set, replaces patient ids in the prediction log
	// with their keyed hash.
	PseudonymKey []byte
	// Cadence is how often the scheduled run scores the patients (0:
	// daily): the worklist calls scores stale whose as-of date is older
	// than this plus a day.
	Cadence time.Duration
	// Now is the clock the worklist reads (nil: time.Now), for tests.
	Now func() time.Time
}

// Handler is the HTTP handler of the whole surface.
type Handler struct {
	http.Handler
	s *server
}

// Wait returns when the shadow scorings started by requests have finished;
// call it after the HTTP server has shut down.
func (h *Handler) Wait() { h.s.scorer.Wait() }

// NewHandler returns the HTTP handler serving cfg.Models (or cfg.Model).
func NewHandler(cfg Config) *Handler {
	mux := http.NewServeMux()
	if cfg.Models == nil {
		cfg.Models = serving.NewModels(cfg.Model)
	}
	s := &server{cfg: cfg, log: cfg.Logger, tmpl: parseTemplates(), metrics: newMetrics(cfg.Registry), models: cfg.Models}
	sc := serving.Config{Models: cfg.Models, PseudonymKey: cfg.PseudonymKey, Registry: s.metrics.registry, Logger: cfg.Logger}
	if cfg.PredictionLog != nil {
		sc.Log = cfg.PredictionLog
	}
	scorer, err := serving.NewScorer(sc)
	if err != nil {
		panic("web: " + err.Error()) // as MustRegister: the registry already has these metrics
	}
	s.scorer = scorer
	if cfg.Store != nil {
		s.evals = &evaluationCache{store: cfg.Store, log: s.log}
		s.metrics.registry.MustRegister(s.evals)
	}
	s.routes(mux)
	var h http.Handler = mux
	h = s.metrics.instrument(h) // innermost: it reads the pattern the mux matched
	h = recoverPanics(cfg.Logger, h)
	h = logRequests(cfg.Logger, cfg.AccessLog, h)
	h = securityHeaders(func(r *http.Request) bool { return r.TLS != nil || s.secureCookies() }, h)
	return &Handler{Handler: h, s: s}
}

type server struct {
	cfg     Config
	log     *slog.Logger
	tmpl    *template.Template
	metrics *metrics
	models  *serving.Models
	scorer  *serving.Scorer
	// apiMethods maps the JSON routes' paths the fallback knows to their
	// methods (see routes).
	apiMethods map[string][]string

	draining      atomic.Bool
	sessions      sessions
	limiters      sync.Map         // key id → *rate.Limiter
	loginFailures failures         // failed logins, by client and key id
	evals         *evaluationCache // nil without a database
	checks        checksCache
}

// production returns the production model of the current set.
func (s *server) production() *model.Model { return s.models.Load().Production }

// status maps an error code to its HTTP status.
func status(code string) int {
	switch code {
	case caresignal.EINVALID:
		return http.StatusBadRequest
	case caresignal.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case caresignal.ENOTFOUND:
		return http.StatusNotFound
	case caresignal.ECONFLICT:
		return http.StatusConflict
	case caresignal.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case caresignal.ECORRUPT:
		// An artifact offered for activation failed verification.
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// writeError answers with the error's status and caller-safe message.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	writeJSON(s.log, w, s.failed(r, err), wire.NewErrorBody(err))
}

// failed returns the status answering err. Server-side failures are
// logged with their cause; input errors are not (their text can quote the
// caller's values, which may be health data).
func (s *server) failed(r *http.Request, err error) int {
	code := status(caresignal.ErrorCode(err))
	if code >= 500 {
		s.log.Error("request failed", "request_id", requestID(r.Context()), "route", routeOf(r), "err", err)
	}
	return code
}

func writeJSON(log *slog.Logger, w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a bug gets here (a NaN the model let through); say so in
		// the log without the values.
		log.Error("encoding a response", "type", fmt.Sprintf("%T", v), "err", err)
		code = http.StatusInternalServerError
		b = []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
