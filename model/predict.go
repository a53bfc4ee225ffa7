package model

import (
	"fmt"
	"math"
	"strconv"
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
// median, and each feature's contribution. A carry-forward model holds
// time-varying features at their current values for every future month; a
// landmark model scores month k ahead with its lag k's terms on the
// current features. The explanation is of the month in progress.
//
// Bad input returns a *caresignal.Error whose Field is relative to the
// instance ("features.age", "horizon").
func (m *Model) Predict(inst *caresignal.Instance) (caresignal.Prediction, error) {
	return m.PredictFor(feature.SurfaceAPI, inst, true)
}

// Hazard returns the hazard of one month for the given features — a
// person-period row scored as a classifier scores it — without the curve
// summaries and explanation Predict adds.
func (m *Model) Hazard(features map[string]caresignal.Value, month int) (float64, error) {
	p, err := m.PredictFor(feature.SurfaceAPI, &caresignal.Instance{Features: features, MonthsEnrolled: month - 1, Horizon: 1}, false)
	if err != nil {
		return 0, err
	}
	return p.Hazard[0], nil
}

// PredictFor is Predict with the unseen-level policy of surface, and
// the explanation only when explain is set (it costs about as much as the
// rest): requests use feature.SurfaceAPI (Predict's), batch scoring and
// offline rescoring feature.SurfaceBatch.
func (m *Model) PredictFor(surface feature.Surface, inst *caresignal.Instance, explain bool) (caresignal.Prediction, error) {
	var p caresignal.Prediction
	if inst.MonthsEnrolled < 0 || inst.MonthsEnrolled > caresignal.MaxMonthsEnrolled {
		return p, caresignal.Invalidf("months_enrolled", "months_enrolled must be between 0 and %d", caresignal.MaxMonthsEnrolled)
	}
	if inst.Horizon < 1 || inst.Horizon > caresignal.MaxHorizon {
		return p, caresignal.Invalidf("horizon", "horizon must be between 1 and %d", caresignal.MaxHorizon)
	}
	if inst.DaysElapsed < 0 || inst.DaysElapsed >= caresignal.MonthDays {
		return p, caresignal.Invalidf("days_elapsed", "days_elapsed must be between 0 and %d", caresignal.MonthDays-1)
	}
	if m.Imported != nil {
		return m.predictImported(inst, explain)
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
	if err := ft.EncodeFor(surface, s.vals, row, &p.Warnings); err != nil {
		return p, prefixField(err, "features.")
	}

	eta := m.featureEta(row)
	if math.IsInf(eta, 0) || math.IsNaN(eta) {
		return p, m.outOfRange(row)
	}
	// A landmark model's month k ahead has its lag group's terms: γ_g and
	// β_g on today's features. Group 0 (lags from 0) has no γ and the
	// model's own coefficients (setCoefficients), so its η is eta.
	var lagBuf [16]float64
	var lagEta []float64
	if l := m.Landmark; l != nil {
		lagEta = append(lagBuf[:0], eta)
		for g := 1; g < len(l.Starts); g++ {
			e := m.etaFrom(l.gamma[g], l.lagCoef[g], row)
			if math.IsInf(e, 0) || math.IsNaN(e) {
				return p, caresignal.Invalidf("features", "the features' values together are too large in magnitude for this model to score")
			}
			lagEta = append(lagEta, e)
		}
	}
	p.FeaturesHash = rowHash(row)
	curves := make([]float64, 2*inst.Horizon)
	p.PatientID = inst.PatientID
	p.Hazard, p.Survival = curves[:inst.Horizon:inst.Horizon], curves[inst.Horizon:]
	for i := range p.Hazard {
		e := eta
		if lagEta != nil {
			e = lagEta[m.Landmark.group(i)]
		}
		p.Hazard[i] = m.Link.Inverse(e + ft.Baseline.Eta(inst.MonthsEnrolled+i+1, m.Coef))
	}
	p.Hazard[0] = caresignal.MonthInProgress(p.Hazard[0], inst.DaysElapsed)
	var median int
	p.ExpectedMonths, median = survival.Curve(p.Hazard, p.Survival)
	if median > 0 {
		p.MedianMonths = &median
	}
	if explain {
		p.Explanation = m.explain(s.vals, row)
	}
	return p, nil
}

// featureEta returns the features' part of the linear predictor of an
// encoded row: everything but the baseline terms of the month.
func (m *Model) featureEta(row []float64) float64 { return m.etaFrom(0, m.Coef, row) }

// etaFrom returns e plus the features' part of the linear predictor of an
// encoded row under the coefficients coef (a full design's width: the
// baseline terms are skipped), summed in column order after e.
func (m *Model) etaFrom(e float64, coef, row []float64) float64 {
	for j := m.Features.Baseline.Width(); j < len(row); j++ {
		e += coef[j] * row[j]
	}
	return e
}

// outOfRange names the feature whose value, times its coefficient, is
// beyond floating point, for a row whose linear predictor is not finite.
// (Specs with bounds on every numeric feature never get here.)
func (m *Model) outOfRange(row []float64) error {
	ref := m.Features.Reference()
	for _, f := range m.Features.Features {
		for j := f.Column; j < f.Column+f.Width; j++ {
			if t := m.Coef[j] * (row[j] - ref[j]); math.IsInf(t, 0) || math.IsNaN(t) || math.IsInf(m.Coef[j]*row[j], 0) {
				return caresignal.Invalidf("features."+f.Name, "features.%s is too large in magnitude for this model to score", f.Name)
			}
		}
	}
	return caresignal.Invalidf("features", "the features' values together are too large in magnitude for this model to score")
}

// explain returns each feature's contribution to the linear predictor
// (log-odds for logit, log-hazard for cloglog), measured from the training
// reference row (see feature.Fitted.Reference), largest in magnitude first.
// The contributions sum to η − η_reference exactly: the model is linear in
// the encoded row.
func (m *Model) explain(vals []caresignal.Value, row []float64) []caresignal.Contribution {
	ft := m.Features
	ref := ft.Reference()
	n := len(ft.Features)
	var cs [32]float64
	var order [32]int
	contrib, idx := cs[:0], order[:0]
	if n > len(cs) {
		contrib, idx = make([]float64, 0, n), make([]int, 0, n)
	}
	for i, f := range ft.Features {
		c := 0.0
		for j := f.Column; j < f.Column+f.Width; j++ {
			c += m.Coef[j] * (row[j] - ref[j])
		}
		contrib = append(contrib, c)
		idx = append(idx, i)
	}
	// Largest magnitude first, ties in feature order (a stable sort of a
	// handful of indices).
	for i := 1; i < n; i++ {
		for j := i; j > 0 && math.Abs(contrib[idx[j]]) > math.Abs(contrib[idx[j-1]]); j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	// Every value and text shares one string: two allocations per
	// prediction, not two per feature.
	var buf [1024]byte
	text := buf[:0]
	type span struct{ value, text [2]int }
	var spans [32]span
	sp := spans[:0]
	if n > len(spans) {
		sp = make([]span, 0, n)
	}
	for _, i := range idx {
		f, v := &ft.Features[i], &vals[i]
		var s span
		s.value[0] = len(text)
		text = v.Append(text)
		s.value[1] = len(text)
		s.text[0] = len(text)
		text = append(text, f.Name...)
		text = append(text, " = "...)
		if v.Missing() {
			text = append(text, "missing (imputed)"...)
		} else {
			text = append(text, text[s.value[0]:s.value[1]]...)
		}
		text = append(text, " → "...)
		text = appendSigned(text, contrib[i])
		s.text[1] = len(text)
		sp = append(sp, s)
	}
	all := string(text)
	out := make([]caresignal.Contribution, n)
	for k, i := range idx {
		s := sp[k]
		out[k] = caresignal.Contribution{Feature: ft.Features[i].Name, Value: all[s.value[0]:s.value[1]],
			Contribution: contrib[i], Text: all[s.text[0]:s.text[1]]}
	}
	return out
}

// appendSigned formats a contribution with two decimals and its sign:
// "+0.62", "−0.05" (with a true minus sign), "0.00"; past a million, three
// significant digits ("+1.23e+07").
func appendSigned(b []byte, c float64) []byte {
	var digits [32]byte
	d := strconv.AppendFloat(digits[:0], math.Abs(c), 'f', 2, 64)
	if math.Abs(c) >= 1e6 {
		d = strconv.AppendFloat(digits[:0], math.Abs(c), 'g', 3, 64)
	}
	switch {
	case string(d) == "0.00":
	case c > 0:
		b = append(b, '+')
	default:
		b = append(b, "−"...)
	}
	return append(b, d...)
}

// PredictBatch scores instances in order, with explanations when explain
// is set. An error names the instance: "instances[3].features.age".
func (m *Model) PredictBatch(insts []caresignal.Instance, explain bool) ([]caresignal.Prediction, error) {
	out := make([]caresignal.Prediction, len(insts))
	for i := range insts {
		p, err := m.PredictFor(feature.SurfaceAPI, &insts[i], explain)
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

// rowHash is FNV-1a (64 bits, hex) over the bits of an encoded row.
func rowHash(row []float64) string {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, x := range row {
		b := math.Float64bits(x)
		for k := 0; k < 64; k += 8 {
			h ^= (b >> k) & 0xff
			h *= prime
		}
	}
	return strconv.FormatUint(h, 16)
}
