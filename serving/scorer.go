package serving

import (
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/wire"
)

// Recorder keeps prediction records; *predlog.Logger is one. Log must not
// wait for a database: it is called on the request's path. An error means
// the records are not kept: the request then fails (unavailable) rather
// than be answered without its record.
type Recorder interface {
	Log(recs ...caresignal.RequestRecord) error
}

// Config is what a Scorer needs.
type Config struct {
	Models *Models // required
	// Log, if set, receives a record of every request answered.
	Log Recorder
	// PseudonymKey, when set, replaces every patient id in the records
	// with its keyed hash (see wire.Pseudonym).
	PseudonymKey []byte
	// Registry receives the scorer's metrics; nil: none.
	Registry prometheus.Registerer
	Logger   *slog.Logger // nil: discard
}

// Call identifies the request a prediction answers, for its records: its
// id, and the route that received it as the log keeps it (a route
// pattern such as "POST /api/engagement").
type Call struct {
	RequestID string
	Route     string
}

// Scorer answers request bodies of each wire format with the served
// models: it decodes, picks the model, scores, encodes, records every
// prediction, and scores the shadow model beside production off the
// request's path. It is safe for concurrent use.
type Scorer struct {
	models  *Models
	log     Recorder
	key     []byte
	logger  *slog.Logger
	metrics *metrics

	shadowSem  chan struct{}
	shadowJobs sync.WaitGroup
}

// maxShadowJobs bounds the shadow scorings running at once; a request
// arriving when all are busy is not shadowed (and counted), so a slow
// candidate can never slow production down.
const maxShadowJobs = 16

// NewScorer returns a scorer of cfg.Models. It fails only when its metrics
// cannot be registered.
func NewScorer(cfg Config) (*Scorer, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	return &Scorer{models: cfg.Models, log: cfg.Log, key: cfg.PseudonymKey, logger: cfg.Logger, metrics: m,
		shadowSem: make(chan struct{}, maxShadowJobs)}, nil
}

// Wait returns when the shadow scorings started so far have finished;
// call it once no more requests arrive.
func (s *Scorer) Wait() { s.shadowJobs.Wait() }

// Engagement answers a POST /api/engagement body: one patient, or a batch
// under "instances". The answer is in a pooled buffer: write its Bytes,
// then Release it.
func (s *Scorer) Engagement(call Call, body []byte) (wire.Encoded, error) {
	set := s.models.Load()
	req, err := wire.DecodeRequest(body, set.known)
	if err != nil {
		return wire.Encoded{}, err
	}
	m := set.Pick(req.Instances[0].PatientID)
	ans, err := Score(m, req.Instances, req.Batch, req.Fields)
	if err != nil {
		return wire.Encoded{}, err
	}
	s.count(m, len(ans.Predictions))
	enc, err := wire.Encode(ans, s.log != nil)
	if err != nil {
		return wire.Encoded{}, err
	}
	if err := s.recordPatients(call, m, wire.KindPatient, false, req.Raws, ans.Predictions, &enc); err != nil {
		enc.Release()
		return wire.Encoded{}, err
	}
	if set.Shadow != nil {
		s.shadow(call, set.Shadow, req.Instances, req.Raws, req.Batch, ans)
	}
	return enc, nil
}

// WhatIf scores one patient of the web app's what-if form with m, and
// records it as a what-if prediction (wire.KindWhatIf): a real answer of
// the model, which parity rescores, but perhaps of a hypothetical
// patient, which drift and follow-up leave out. The form has no JSON
// body: the inputs are recorded in the request shape.
func (s *Scorer) WhatIf(call Call, m *model.Model, inst *caresignal.Instance) (caresignal.Prediction, error) {
	p, err := m.Predict(inst)
	if err != nil {
		return p, err
	}
	s.count(m, 1)
	if s.log != nil {
		in, err := wire.AppendInstance(nil, inst)
		if err != nil {
			return p, err
		}
		if err := s.recordPatients(call, m, wire.KindWhatIf, false, [][]byte{in}, []caresignal.Prediction{p}, nil); err != nil {
			return caresignal.Prediction{}, err
		}
	}
	return p, nil
}

// Score answers decoded instances with m: the answer of POST
// /api/engagement, carrying the outputs f asks for (zero: all). batch
// says the request used "instances", so errors name "instances[i].…".
func Score(m *model.Model, insts []caresignal.Instance, batch bool, f wire.Fields) (*wire.Answer, error) {
	explain := f.Has(wire.FieldExplanation)
	var preds []caresignal.Prediction
	if !batch {
		p, err := m.PredictFor(feature.SurfaceAPI, &insts[0], explain)
		if err != nil {
			return nil, err
		}
		preds = []caresignal.Prediction{p}
	} else {
		var err error
		if preds, err = m.PredictBatch(insts, explain); err != nil {
			return nil, err
		}
	}
	return &wire.Answer{Model: m.Info(), Predictions: preds, Fields: f}, nil
}

// recordPatients hands the log one record of the request's predictions
// of patients, with each instance's JSON as received. enc, when not nil,
// is the encoded answer, whose outputs are copied rather than formatted
// again. An error means the log did not keep the record.
func (s *Scorer) recordPatients(call Call, m *model.Model, kind wire.Kind, shadow bool, raws [][]byte, preds []caresignal.Prediction, enc *wire.Encoded) error {
	if s.log == nil {
		return nil
	}
	r := wire.RequestLog{At: time.Now().UTC(), Model: m.Info(), Route: call.Route, Kind: kind, Shadow: shadow, RequestID: call.RequestID, Key: s.key}
	if len(preds) > 1 {
		n := 0
		for i := range preds {
			// the inputs, about 20 bytes a month of outputs, and the ids
			n += len(raws[i]) + 20*len(preds[i].Hazard) + 200
		}
		r.Grow(n)
	}
	for i := range preds {
		p := &preds[i]
		out := func(dst []byte) ([]byte, error) { return wire.AppendOutputs(dst, p.Hazard, p.ExpectedMonths) }
		if enc != nil && enc.HasOutputs() {
			out = func(dst []byte) ([]byte, error) { return enc.AppendOutputs(dst, i), nil }
		}
		if err := r.Add(p.PatientID, raws[i], p.FeaturesHash, out); err != nil {
			s.logger.Error("prediction log: a prediction not kept", "request_id", call.RequestID, "err", err) // not possible: the answer was encoded
		}
	}
	return s.keep(call, &r)
}

// keep hands r's record to the log. When the log does not keep it, the
// error (unavailable) is the request's.
func (s *Scorer) keep(call Call, r *wire.RequestLog) error {
	rec, ok := r.Stored()
	if !ok {
		return nil
	}
	if err := s.log.Log(rec); err != nil {
		s.logger.Error("prediction log: records not kept; the request fails", "request_id", call.RequestID, "predictions", rec.Instances, "err", err)
		if caresignal.ErrorCode(err) != caresignal.EUNAVAILABLE {
			err = caresignal.Errorf(caresignal.EUNAVAILABLE, "the prediction could not be recorded: %v", err)
		}
		return err
	}
	return nil
}

// shadow scores the request's instances with the shadow model after the
// answer has been computed, off the request's path, records how far its
// first-month hazards lie from production's, and puts its predictions in
// the prediction log beside production's (marked shadow). raws are the
// instances as received; nil: rendered from insts.
func (s *Scorer) shadow(call Call, shadow *model.Model, insts []caresignal.Instance, raws [][]byte, batch bool, prod *wire.Answer) {
	select {
	case s.shadowSem <- struct{}{}:
	default:
		s.metrics.shadowLost.WithLabelValues("busy").Inc()
		return
	}
	s.shadowJobs.Add(1)
	go func() {
		defer func() { <-s.shadowSem; s.shadowJobs.Done() }()
		ans, err := Score(shadow, insts, batch, wire.FieldHazard|wire.FieldExpectedMonths)
		if err != nil {
			s.metrics.shadowLost.WithLabelValues("error").Inc()
			s.logger.Warn("shadow model refused a request production answered", "request_id", call.RequestID, "shadow_version", shadow.Version, "code", caresignal.ErrorCode(err))
			return
		}
		if s.log != nil {
			if raws == nil {
				raws = instancesJSON(insts)
			}
			_ = s.recordPatients(call, shadow, wire.KindPatient, true, raws, ans.Predictions, nil) // logged; nobody waits for the shadow's answer
		}
		info := shadow.Info()
		obs := s.metrics.shadowDiff.WithLabelValues(info.Name, info.Version)
		for i := range ans.Predictions {
			a, b := ans.Predictions[i].Hazard, prod.Predictions[i].Hazard
			if len(a) > 0 && len(b) > 0 {
				obs.Observe(math.Abs(a[0] - b[0]))
			}
		}
	}()
}

// metrics are the scorer's Prometheus metrics, registered on the
// registerer it is given (never the global one).
type metrics struct {
	predictions *prometheus.CounterVec
	shadowDiff  *prometheus.HistogramVec
	shadowLost  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		predictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caresignal_predictions_total",
			Help: "Patients or person-period rows scored, by model name and version.",
		}, []string{"model", "version"}),
		shadowDiff: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "caresignal_shadow_hazard_abs_diff",
			Help:    "Absolute difference between the shadow and the production model's first-month hazard, per patient, by shadow version.",
			Buckets: []float64{1e-12, 1e-6, 1e-4, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"model", "version"}),
		shadowLost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caresignal_shadow_skipped_total",
			Help: "Requests the shadow model did not score, by reason: busy (the shadow queue was full) or error (it refused the input).",
		}, []string{"reason"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.predictions, m.shadowDiff, m.shadowLost} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// count adds n predictions made by m.
func (s *Scorer) count(m *model.Model, n int) {
	s.metrics.predictions.WithLabelValues(m.Name, m.Version).Add(float64(n))
}
