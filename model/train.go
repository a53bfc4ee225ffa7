package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/survival"
)

// TrainOptions tune Train. Start from DefaultTrainOptions.
type TrainOptions struct {
	// Lambda is the L2 penalty strength on the encoded (standardised)
	// coefficients; the baseline terms are not penalised. 0: none.
	Lambda float64
	// Holdout is the share of patients whose rows are kept out of the fit
	// to measure it; 0: none. Patients are assigned by a hash of their id,
	// so the split is stable across runs and databases.
	Holdout float64
	// Source and AsOf describe where the extract came from, for the record:
	// the kind of database (not its address) and the ELT's as-of date.
	Source string
	AsOf   string
	// Now returns the training time; default time.Now.
	Now func() time.Time
	// OnIteration is told about every Newton iteration.
	OnIteration func(survival.Iteration)
}

// DefaultTrainOptions are λ = 1 and a 20% holdout.
func DefaultTrainOptions() TrainOptions { return TrainOptions{Lambda: 1, Holdout: 0.2} }

// Train fits the feature spec and the hazard model to a training extract
// (person-period rows with known outcomes), evaluates it on the held-out
// patients, and returns the model, not yet saved.
func Train(ctx context.Context, spec *feature.Spec, x *caresignal.Extract, opt TrainOptions) (*Model, error) {
	if !(opt.Holdout >= 0 && opt.Holdout < 1) {
		return nil, caresignal.Invalidf("holdout", "holdout share must be at least 0 and below 1, got %g", opt.Holdout)
	}
	if !(opt.Lambda >= 0) || math.IsInf(opt.Lambda, 0) {
		return nil, caresignal.Invalidf("lambda", "penalty strength must be a finite number ≥ 0, got %g", opt.Lambda)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	info := TrainInfo{
		TrainedAt:   opt.Now().UTC().Truncate(time.Second),
		CodeVersion: CodeVersion(),
		Source:      opt.Source,
		AsOf:        opt.AsOf,
		DataHash:    HashExtract(x),
		Rows:        len(x.Rows),
		Lambda:      opt.Lambda,
		Holdout:     opt.Holdout,
	}
	fitX, testX := splitByPatient(x, opt.Holdout)
	info.Patients = countPatients(x)
	for _, r := range x.Rows {
		if r.Event {
			info.Events++
		}
	}
	fitted, err := feature.Fit(spec, fitX)
	if err != nil {
		return nil, err
	}
	d, err := fitted.Design(fitX)
	if err != nil {
		return nil, fmt.Errorf("encoding the training rows: %w", err)
	}
	penalised := make([]bool, fitted.Width())
	for j := fitted.Months; j < len(penalised); j++ {
		penalised[j] = true
	}
	start := time.Now()
	fit, err := survival.FitLogistic(ctx, survival.Problem{X: d.X, Y: d.Y, Lambda: opt.Lambda, Penalised: penalised},
		survival.Options{OnIteration: opt.OnIteration})
	if err != nil {
		return nil, fmt.Errorf("fitting the hazard model: %w", err)
	}
	info.FitSeconds = time.Since(start).Seconds()
	info.Fit = FitInfo{
		Rows: fit.Rows, Events: fit.Events, Patients: countPatients(fitX),
		Iterations: fit.Iterations, Converged: fit.Converged, GradNorm: fit.GradNorm,
		LogLik: fit.LogLik, PenalisedLogLik: fit.PenalisedLogLik, Deviance: -2 * fit.LogLik,
		Path: fit.Path,
	}
	m := &Model{Name: spec.Name, Kind: KindDiscreteHazard, Link: LinkLogit,
		Features: fitted, Coef: fit.Coef, StdErr: fit.StdErr, Cov: fit.Cov}

	p := make([]float64, d.X.Rows())
	for i := range p {
		p[i] = survival.Logistic(d.X.Dot(i, fit.Coef))
	}
	info.Train = eval.EvaluateBinary(p, d.Y)
	if len(testX.Rows) > 0 {
		t, skipped, err := m.evaluate(testX)
		if err != nil {
			return nil, fmt.Errorf("evaluating on held-out patients: %w", err)
		}
		info.Test, info.HoldoutSkipped = &t, skipped
	}
	m.Training = info
	return m, nil
}

// evaluate scores person-period rows and compares them with their
// outcomes. Rows the model refuses — a level that only held-out patients
// have, under the "error" policy — are left out and counted.
func (m *Model) evaluate(x *caresignal.Extract) (b eval.Binary, skipped int, err error) {
	ft := m.Features
	cols, err := ft.Bind(x.Columns)
	if err != nil {
		return b, 0, err
	}
	vals := make([]caresignal.Value, len(cols))
	row := make([]float64, ft.Width())
	p := make([]float64, 0, len(x.Rows))
	y := make([]float64, 0, len(x.Rows))
	for _, r := range x.Rows {
		for j, c := range cols {
			vals[j] = r.Values[c]
		}
		if err := ft.Encode(vals, row, nil); err != nil {
			skipped++
			continue
		}
		p = append(p, survival.Logistic(m.Coef[ft.MonthColumn(r.Month)]+m.featureEta(row)))
		y = append(y, b2f(r.Event))
	}
	return eval.EvaluateBinary(p, y), skipped, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// splitByPatient puts each patient's rows wholly in the fit part or the
// held-out part: a patient is held out when a hash of their id, as a
// fraction of 2⁶⁴, falls below share.
func splitByPatient(x *caresignal.Extract, share float64) (fit, test *caresignal.Extract) {
	fit = &caresignal.Extract{Columns: x.Columns, Rows: make([]caresignal.ExtractRow, 0, len(x.Rows))}
	test = &caresignal.Extract{Columns: x.Columns}
	if share <= 0 {
		fit.Rows = x.Rows
		return fit, test
	}
	cut := uint64(share * math.MaxUint64)
	last, held := "", false
	for _, r := range x.Rows {
		if r.PatientID != last || last == "" {
			h := fnv.New64a()
			h.Write([]byte(r.PatientID))
			held, last = h.Sum64() < cut, r.PatientID
		}
		if held {
			test.Rows = append(test.Rows, r)
		} else {
			fit.Rows = append(fit.Rows, r)
		}
	}
	return fit, test
}

func countPatients(x *caresignal.Extract) int {
	n, last := 0, ""
	for i, r := range x.Rows {
		if i == 0 || r.PatientID != last {
			n++
			last = r.PatientID
		}
	}
	return n
}

// HashExtract returns the hex SHA-256 of an extract in a canonical text form
// (columns, then one line per row: patient, month, status, event, values),
// so the same rows give the same hash whichever database they came from.
func HashExtract(x *caresignal.Extract) string {
	h := sha256.New()
	buf := make([]byte, 0, 256)
	for _, c := range x.Columns {
		buf = append(append(buf, c...), '\t')
	}
	h.Write(append(buf, '\n'))
	for _, r := range x.Rows {
		buf = append(buf[:0], r.PatientID...)
		buf = append(buf, '\t')
		buf = strconv.AppendInt(buf, int64(r.Month), 10)
		buf = append(buf, '\t')
		buf = append(buf, r.Status...)
		buf = append(buf, '\t')
		buf = strconv.AppendBool(buf, r.Event)
		for _, v := range r.Values {
			buf = append(buf, '\t')
			switch v.Kind {
			case caresignal.Number:
				buf = strconv.AppendFloat(buf, v.Num, 'g', -1, 64)
			case caresignal.String:
				buf = strconv.AppendQuote(buf, v.Str)
			default:
				buf = append(buf, "null"...)
			}
		}
		h.Write(append(buf, '\n'))
	}
	return hex.EncodeToString(h.Sum(nil))
}
