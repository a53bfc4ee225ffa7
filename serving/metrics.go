package serving

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caresignal/caresignal/model"
)

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
