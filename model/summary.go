package model

import (
	"fmt"
	"math"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/survival"
)

// z975 is the 97.5% point of the standard normal distribution.
const z975 = 1.959963984540054

// Summary is the model summary of `caresignal inspect` and
// GET /api/models/{name}: the coefficients on the original scale of the
// inputs with their standard errors, ratios and 95% Wald intervals, and the
// fit statistics.
type Summary struct {
	Name     string        `json:"name"`
	Version  string        `json:"version"`
	Kind     string        `json:"kind"`
	Link     survival.Link `json:"link"`
	Scale    string        `json:"scale"` // of the estimates: "log-odds" or "log-hazard"
	Ratio    string        `json:"ratio"` // what exp(estimate) is: "odds ratio" or "hazard ratio"
	Baseline string        `json:"baseline"`
	Penalty  PenaltyInfo   `json:"penalty"`

	Coefficients []SummaryCoefficient `json:"coefficients"`

	LogLik   float64 `json:"log_likelihood"`
	Deviance float64 `json:"deviance"`
	// AIC = deviance + 2k and BIC = deviance + k·log(n_rows), with k the
	// number of coefficients; nil for a penalised fit, which has no
	// maximum-likelihood k.
	AIC *float64 `json:"aic"`
	BIC *float64 `json:"bic"`
	// EDF is the effective number of parameters (k without a penalty).
	EDF        float64  `json:"edf"`
	NRows      int      `json:"n_rows"`
	NEvents    int      `json:"n_events"`
	NPatients  int      `json:"n_patients"`
	Iterations int      `json:"iterations"`
	Converged  bool     `json:"converged"`
	GradNorm   float64  `json:"grad_norm"`
	Notes      []string `json:"notes"`
}

// SummaryCoefficient is one coefficient on the original scale: a numeric
// feature per unit of its input, a level against the reference level, a
// baseline term as the linear predictor of that month for a patient at the
// reference levels with every numeric input at zero.
type SummaryCoefficient struct {
	Name     string   `json:"name"`
	Estimate float64  `json:"estimate"`
	StdError *float64 `json:"std_error"` // nil for a coefficient the L1 penalty set to zero
	// StdErrorObserved is from the observed information (cloglog only).
	StdErrorObserved *float64 `json:"std_error_observed,omitempty"`
	// Ratio is exp(estimate); CILow and CIHigh bound it: exp(estimate ∓
	// 1.96·std_error), the 95% Wald interval.
	Ratio  float64  `json:"ratio"`
	CILow  *float64 `json:"ci_low"`
	CIHigh *float64 `json:"ci_high"`
	// Z and P are the Wald statistic and its two-sided p-value, for
	// unpenalised fits only.
	Z *float64 `json:"z"`
	P *float64 `json:"p_value"`
}

// OriginalScale returns the coefficients and their covariances on the
// original scale of the inputs. The fit works on standardised columns,
// (x − c)/s; on the original scale the slope is β/s and the constant of the
// linear predictor moves by −Σ β·c/s, which every baseline term carrying
// the constant absorbs. The map is linear, β' = Aβ, so Cov' = A·Cov·Aᵀ.
// cov may be nil.
func (m *Model) OriginalScale(cov []float64) (coef, covOut []float64) {
	ft, k := m.Features, len(m.Coef)
	a := make([]float64, k*k)
	for j := range k {
		a[j*k+j] = 1
	}
	constant := ft.Baseline.Constant()
	for _, f := range ft.Features {
		if f.Type != feature.Numeric || f.Scale == 1 && f.Center == 0 {
			continue
		}
		j := f.Column
		a[j*k+j] = 1 / f.Scale
		for _, t := range constant {
			a[t*k+j] = -f.Center / f.Scale
		}
	}
	coef = make([]float64, k)
	for i := range k {
		for j := range k {
			coef[i] += a[i*k+j] * m.Coef[j]
		}
	}
	if cov == nil {
		return coef, nil
	}
	tmp := make([]float64, k*k) // A·Cov
	for i := range k {
		for l := range k {
			if ail := a[i*k+l]; ail != 0 {
				for j := range k {
					tmp[i*k+j] += ail * cov[l*k+j]
				}
			}
		}
	}
	covOut = make([]float64, k*k)
	for i := range k {
		for j := range k {
			s := 0.0
			for l := range k {
				s += tmp[i*k+l] * a[j*k+l]
			}
			covOut[i*k+j] = s
		}
	}
	return coef, covOut
}

// Summary summarises the model; see Summary.
func (m *Model) Summary() Summary {
	t := m.Training
	if m.Imported != nil {
		im := m.Imported
		return Summary{Name: m.Name, Version: m.Version, Kind: m.Kind, Coefficients: []SummaryCoefficient{},
			Baseline: "learned by the classifier from its period column " + im.PeriodColumn,
			Penalty:  PenaltyInfo{Type: "imported"},
			Notes: []string{fmt.Sprintf("Imported from a scikit-learn %s file (%s, scikit-learn %s): %s. It has no coefficients or fit statistics of its own; each future month is scored by setting %s to that month.",
				im.Format, im.FileName, im.SklearnVersion, im.Describe, im.PeriodColumn)}}
	}
	s := Summary{Name: m.Name, Version: m.Version, Kind: m.Kind, Link: m.Link,
		Scale: m.Link.ScaleName(), Ratio: m.Link.RatioName(), Baseline: m.Features.Baseline.Describe(),
		Penalty: t.Penalty, LogLik: t.Fit.LogLik, Deviance: t.Fit.Deviance, EDF: t.Fit.EDF,
		NRows: t.Fit.Rows, NEvents: t.Fit.Events, NPatients: t.Fit.Patients,
		Iterations: t.Fit.Iterations, Converged: t.Fit.Converged, GradNorm: t.Fit.GradNorm}
	s.Penalty.CV = nil
	penalised := t.Penalty.Type != PenaltyNone && t.Penalty.Type != ""
	k := len(m.Coef)
	if m.Landmark != nil {
		s.Baseline += "; " + m.Landmark.Describe()
	}
	// A landmark model's stacked rows are not independent: its
	// log-likelihood is a working one, with no AIC or BIC.
	if !penalised && m.Landmark == nil {
		aic := t.Fit.Deviance + 2*float64(k)
		bic := t.Fit.Deviance + float64(k)*math.Log(float64(t.Fit.Rows))
		s.AIC, s.BIC = &aic, &bic
	}
	coef, cov := m.OriginalScale(m.Cov)
	var covObs []float64
	if m.CovObserved != nil {
		_, covObs = m.OriginalScale(m.CovObserved)
	}
	for j := range k {
		c := SummaryCoefficient{Name: m.Features.Columns[j], Estimate: coef[j], Ratio: math.Exp(coef[j])}
		if v := cov[j*k+j]; v > 0 {
			se := math.Sqrt(v)
			lo, hi := math.Exp(coef[j]-z975*se), math.Exp(coef[j]+z975*se)
			c.StdError, c.CILow, c.CIHigh = &se, &lo, &hi
			if !penalised {
				z := coef[j] / se
				p := math.Erfc(math.Abs(z) / math.Sqrt2)
				c.Z, c.P = &z, &p
			}
		}
		if covObs != nil && covObs[j*k+j] > 0 {
			se := math.Sqrt(covObs[j*k+j])
			c.StdErrorObserved = &se
		}
		s.Coefficients = append(s.Coefficients, c)
	}
	s.Notes = m.summaryNotes(penalised)
	return s
}

func (m *Model) summaryNotes(penalised bool) []string {
	notes := []string{
		"Estimates are on the " + m.Link.ScaleName() + " scale, per unit of each numeric input; levels are against the reference level; ratio = exp(estimate) is the " + m.Link.RatioName() + ", with a 95% Wald interval.",
		"Standard errors come from the expected (Fisher) information, as R's glm reports them.",
	}
	if m.Landmark != nil {
		notes[1] = "A landmark model: each lag group k months ahead has a term and coefficients of its own, fitted on the features known at the start of the month k months earlier. The coefficients shown are those of the month in progress (lag 0), which the explanations use; the artifact holds every lag group's."
		notes = append(notes, "Standard errors are cluster-robust by patient (a sandwich on the stacked rows, which repeat each patient's features once per lag and so are not independent); the model-based ones would be too small.")
		if penalised {
			notes = append(notes, "The fit is penalised ("+m.Training.Penalty.Type+"): estimates are shrunk towards zero, the sandwich's bread is the penalised information, so standard errors and intervals are approximate, and no p-values, AIC or BIC are given.")
		}
		return notes
	}
	if m.Link == survival.CLogLog {
		notes = append(notes, "Under the cloglog link the coefficients are log hazard ratios of the grouped-time proportional hazards model; std_error_observed is from the observed information.")
	}
	if penalised {
		notes = append(notes, "The fit is penalised ("+m.Training.Penalty.Type+"): estimates are shrunk towards zero, standard errors and intervals come from the penalised information and are approximate, and no p-values, AIC or BIC are given.")
	}
	return notes
}

// ReferenceHazard returns the hazard of months 1..n for the reference row
// (every feature column at its training mean, see feature.Fitted.Reference):
// the baseline hazard of a typical patient.
func (m *Model) ReferenceHazard(n int) []float64 {
	if m.Imported != nil {
		// The typical patient of an imported model: each input at its
		// form default, missing where there is none.
		inst := caresignal.Instance{Features: map[string]caresignal.Value{}, Horizon: n}
		for _, in := range m.Imported.Inputs {
			v := caresignal.NullValue()
			if in.Default != "" {
				v = caresignal.Str(in.Default)
			}
			inst.Features[in.Name] = v
		}
		p, err := m.Predict(&inst)
		if err != nil {
			return nil // the classifier does not impute what the form leaves out
		}
		return p.Hazard
	}
	ref := m.Features.Reference()
	eta := 0.0
	for j := m.Features.Baseline.Width(); j < len(m.Coef); j++ {
		eta += m.Coef[j] * ref[j]
	}
	h := make([]float64, n)
	for i := range h {
		h[i] = m.Link.Inverse(eta + m.Features.Baseline.Eta(i+1, m.Coef))
	}
	return h
}
