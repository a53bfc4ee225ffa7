// Package model is the hazard model as a deployable thing: training it from a
// person-period extract, predicting and explaining with it, and saving and
// loading it as a versioned, checksummed artifact.
package model

import (
	"runtime/debug"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/survival"
)

// KindDiscreteHazard is the kind of the models this package trains.
const KindDiscreteHazard = "discrete-time-hazard"

// Model is a fitted discrete-time hazard model. It is safe for concurrent
// use once loaded or trained; nothing mutates it.
type Model struct {
	Name    string // the spec's name, e.g. "engagement"
	Version string // set when saved or loaded: a hash of what the model computes (see Format)
	Kind    string
	Link    survival.Link

	Features *feature.Fitted
	Coef     []float64 // per design column
	// StdErr and Cov (row-major, len(Coef)² entries) come from the
	// expected (Fisher) information, as R's glm reports them.
	StdErr []float64
	Cov    []float64
	// StdErrObserved and CovObserved come from the observed information;
	// cloglog models only (for logit they equal StdErr and Cov).
	StdErrObserved []float64
	CovObserved    []float64
	Training       TrainInfo
	// Imported is set for a model imported from scikit-learn (Kind
	// KindSklearn), which has no features, coefficients or covariance of
	// its own.
	Imported *Imported
	// Landmark is set for a landmark (direct multi-horizon) model, whose
	// months after the next have terms of their own; nil for a
	// carry-forward model. Coef, StdErr and Cov are then those of the
	// month in progress (lag 0), the standard errors cluster-robust.
	Landmark *Landmark

	reference *Reference // see Reference; nil for imported and older models
}

// Info names the model for responses.
func (m *Model) Info() caresignal.ModelInfo {
	return caresignal.ModelInfo{Name: m.Name, Version: m.Version}
}

// Platforms, as the Open Inference Protocol's model metadata names them:
// where a model's arithmetic comes from.
const (
	PlatformNative  = "caresignal-hazard"
	PlatformSklearn = "sklearn"
)

// DefaultPeriodColumn names the month of a person-period row (1, 2, …) in
// the training extract, and so in the rows a trained model scores.
const DefaultPeriodColumn = "month"

// Platform names where the model's arithmetic comes from: this package's
// fitter, or an imported scikit-learn classifier.
func (m *Model) Platform() string {
	if m.Imported != nil {
		return PlatformSklearn
	}
	return PlatformNative
}

// PeriodColumn names the input that holds the month of enrolment a
// person-period row describes: DefaultPeriodColumn for a trained model, the
// classifier's own period column for an imported one.
func (m *Model) PeriodColumn() string {
	if m.Imported != nil {
		return m.Imported.PeriodColumn
	}
	return DefaultPeriodColumn
}

// Explains reports whether the model has coefficients of its own, so that
// its predictions carry each feature's contribution and its summary the
// ratios; an imported classifier has neither.
func (m *Model) Explains() bool { return m.Imported == nil }

// HorizonModel names how the model predicts the months after the next:
// HorizonLandmark or HorizonCarryForward ("" for an imported model).
func (m *Model) HorizonModel() string {
	switch {
	case m.Landmark != nil:
		return HorizonLandmark
	case m.Imported != nil:
		return ""
	}
	return HorizonCarryForward
}

// Coefficient is one fitted design coefficient, on the encoded scale (per
// standard deviation for standardised features, per indicator for levels
// and months).
type Coefficient struct {
	Name             string  `json:"name"`
	Estimate         float64 `json:"estimate"`
	StdError         float64 `json:"std_error"`
	StdErrorObserved float64 `json:"std_error_observed,omitempty"`
}

// Coefficients lists the coefficients with their names: a landmark
// model's all lag groups', the month in progress's first.
func (m *Model) Coefficients() []Coefficient {
	if m.Features == nil {
		return nil
	}
	if l := m.Landmark; l != nil {
		cs := make([]Coefficient, len(l.coef))
		for j := range l.coef {
			cs[j] = Coefficient{Name: l.columns[j], Estimate: l.coef[j], StdError: l.stdErr[j]}
		}
		return cs
	}
	cs := make([]Coefficient, len(m.Coef))
	for j := range m.Coef {
		cs[j] = Coefficient{Name: m.Features.Columns[j], Estimate: m.Coef[j], StdError: m.StdErr[j]}
		if m.StdErrObserved != nil {
			cs[j].StdErrorObserved = m.StdErrObserved[j]
		}
	}
	return cs
}

// TrainInfo records how, when and from what a model was trained.
type TrainInfo struct {
	TrainedAt   time.Time    `json:"trained_at"`
	CodeVersion string       `json:"code_version"`
	Source      string       `json:"source"`          // where the extract came from, e.g. "sqlite"
	AsOf        string       `json:"as_of,omitempty"` // the ELT's as-of date
	DataHash    string       `json:"data_hash"`       // SHA-256 of the training extract, see HashExtract
	Rows        int          `json:"rows"`            // person-period rows in the extract
	Events      int          `json:"events"`          // drop-offs in the extract
	Patients    int          `json:"patients"`        // distinct patients in the extract
	Penalty     PenaltyInfo  `json:"penalty"`
	Holdout     float64      `json:"holdout_share"`   // share of patients held out
	FitSeconds  float64      `json:"fit_seconds"`     // wall time of cross-validation and the fit
	Fit         FitInfo      `json:"fit"`             // diagnostics of the fit
	Train       eval.Binary  `json:"train_metrics"`   // on the rows fitted
	Test        *eval.Binary `json:"holdout_metrics"` // on held-out patients' rows; nil without a holdout
	// HoldoutSkipped counts held-out rows the model refused (a category
	// level no training patient had, under the "error" policy).
	HoldoutSkipped int `json:"holdout_rows_skipped"`
}

// PenaltyInfo records the penalty: its type, strength λ, L1 share α and,
// when λ was chosen by cross-validation, the curve that chose it.
type PenaltyInfo struct {
	Type   string   `json:"type"`
	Lambda float64  `json:"lambda"`
	Alpha  float64  `json:"alpha"`
	CV     *CVCurve `json:"cv,omitempty"`
}

// FitInfo holds the Newton fit's diagnostics.
type FitInfo struct {
	Rows     int `json:"rows"` // person-period rows fitted
	Events   int `json:"events"`
	Patients int `json:"patients"`
	// CompressedRows is the number of binomial rows the person-period rows
	// were merged into (all features categorical); 0: not compressed.
	CompressedRows  int                  `json:"compressed_rows,omitempty"`
	EDF             float64              `json:"edf"` // effective number of parameters
	Iterations      int                  `json:"iterations"`
	Converged       bool                 `json:"converged"`
	GradNorm        float64              `json:"grad_norm"`
	LogLik          float64              `json:"log_lik"`
	PenalisedLogLik float64              `json:"penalised_log_lik"`
	Deviance        float64              `json:"deviance"`
	Path            []survival.Iteration `json:"path"`
}

// CodeVersion identifies the build: the VCS revision stamped by go build
// (with "+dirty" for a modified tree), or the module version.
func CodeVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return bi.Main.Version
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}
