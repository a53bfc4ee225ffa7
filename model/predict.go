package model

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/survival"
)

// scratch holds the per-call buffers of Predict, reused through a pool so
// that scoring allocates little more than the prediction it returns.
type scratch struct {
	vals []caresignal.Value
	row  []float64
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Predict scores one patient: the hazard of each of the next Horizon months
// (months MonthsEnrolled+1 …), the survival curve, its restricted mean and
// median, and each feature's contribution. Time-varying features are held at
// their current values for every future month.
//
// Bad input returns a *caresignal.Error whose Field is relative to the
// instance ("features.age", "horizon").
func (m *Model) Predict(inst *caresignal.Instance) (caresignal.Prediction, error) {
	var p caresignal.Prediction
	if inst.MonthsEnrolled < 0 || inst.MonthsEnrolled > caresignal.MaxMonthsEnrolled {
		return p, caresignal.Invalidf("months_enrolled", "months_enrolled must be between 0 and %d", caresignal.MaxMonthsEnrolled)
	}
	if inst.Horizon < 1 || inst.Horizon > caresignal.MaxHorizon {
		return p, caresignal.Invalidf("horizon", "horizon must be between 1 and %d", caresignal.MaxHorizon)
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	ft := m.Features
	var err error
	s.vals, err = ft.Values(inst.Features, s.vals)
	if err != nil {
		return p, prefixField(err, "features.")
	}
	if cap(s.row) < ft.Width() {
		s.row = make([]float64, ft.Width())
	}
	row := s.row[:ft.Width()]
	if err := ft.Encode(s.vals, row, &p.Warnings); err != nil {
		return p, prefixField(err, "features.")
	}

	eta := m.featureEta(row)
	curves := make([]float64, 2*inst.Horizon)
	p.PatientID = inst.PatientID
	p.Hazard, p.Survival = curves[:inst.Horizon:inst.Horizon], curves[inst.Horizon:]
	for i := range p.Hazard {
		p.Hazard[i] = survival.Logistic(eta + m.Coef[ft.MonthColumn(inst.MonthsEnrolled+i+1)])
	}
	var median int
	p.ExpectedMonths, median = survival.Curve(p.Hazard, p.Survival)
	if median > 0 {
		p.MedianMonths = &median
	}
	p.Explanation = m.explain(s.vals, row)
	return p, nil
}

// featureEta returns the features' part of the log-odds of an encoded row:
// everything but the baseline term of the month.
func (m *Model) featureEta(row []float64) float64 {
	eta := 0.0
	for j := m.Features.Months; j < len(row); j++ {
		eta += m.Coef[j] * row[j]
	}
	return eta
}

// explain returns each feature's contribution to the log-odds, measured
// from a reference patient at the training means and reference levels,
// largest in magnitude first.
func (m *Model) explain(vals []caresignal.Value, row []float64) []caresignal.Contribution {
	ft := m.Features
	out := make([]caresignal.Contribution, len(ft.Features))
	for i, f := range ft.Features {
		c := 0.0
		if f.Type == feature.Numeric {
			c = m.Coef[f.Column] * (row[f.Column] - f.TrainMean)
		} else {
			for j := f.Column; j < f.Column+f.Width; j++ {
				c += m.Coef[j] * row[j]
			}
		}
		out[i] = caresignal.Contribution{Feature: f.Name, Value: vals[i].String(), Contribution: c}
	}
	slices.SortStableFunc(out, func(a, b caresignal.Contribution) int {
		return cmp.Compare(math.Abs(b.Contribution), math.Abs(a.Contribution))
	})
	return out
}

// PredictBatch scores instances in order. An error names the instance:
// "instances[3].features.age".
func (m *Model) PredictBatch(insts []caresignal.Instance) ([]caresignal.Prediction, error) {
	out := make([]caresignal.Prediction, len(insts))
	for i := range insts {
		p, err := m.Predict(&insts[i])
		if err != nil {
			return nil, prefixField(err, fmt.Sprintf("instances[%d].", i))
		}
		out[i] = p
	}
	return out, nil
}

// prefixField puts prefix before the field, and before the message when the
// message starts with the field's name.
func prefixField(err error, prefix string) error {
	e, ok := err.(*caresignal.Error)
	if !ok || e.Field == "" {
		return err
	}
	msg := e.Message
	if len(msg) >= len(e.Field) && msg[:len(e.Field)] == e.Field {
		msg = prefix + msg
	}
	return &caresignal.Error{Code: e.Code, Field: prefix + e.Field, Message: msg, Err: e.Err}
}
