package model

import (
	"fmt"
	"math"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/feature"
)

// Reference is a model's training reference: the distribution of each of
// its inputs and of its prediction over the rows it was fitted on, kept in
// the artifact (as "reference") so that live inputs and predictions can be
// compared with it for drift (see eval.CompareToReference and Model.Drift).
//
// The rows profiled are the person-period rows of the final fit — the
// training extract less the held-out patients — so the reference describes
// exactly the data the coefficients were estimated from, weighted as the
// fit weighs them: a patient counts once per month at risk. That is also
// how the live population is made up: the patients enrolled on any date,
// each at the start of their current month, are a cross-section of
// person-months, and in a program whose intake and retention are steady
// that cross-section has the distribution of all person-months. Each
// numeric input keeps its 101 percentiles (0%, 1%, …, 100%, R's type 7) of
// non-missing values and its missing count; each categorical input its
// rows per level and missing count (levels as the fitted features label
// them); the prediction, the percentiles of the fitted hazard of each row's
// own month — what the model predicts as the next-month hazard of a patient
// at the start of that month.
type Reference struct {
	eval.ReferenceProfile
}

// Reference returns the model's training reference, or nil for an
// imported model and for an artifact saved before references were kept.
// The value is shared: do not modify it.
func (m *Model) Reference() *Reference { return m.reference }

// Compare compares live rows with the reference; see
// eval.CompareToReference.
func (r *Reference) Compare(live []map[string]caresignal.Value, hazards []float64, th eval.DriftThresholds) eval.DriftReport {
	return eval.CompareToReference(&r.ReferenceProfile, live, hazards, th)
}

// Drift compares patients about to be scored with the model's training
// reference: their features, and the hazard the model predicts for each
// one's next month (month MonthsEnrolled+1). A patient the model refuses
// to score (bad input) has a missing hazard, counted as invalid in the
// prediction's drift. It fails with ENOTFOUND when the model has no
// reference.
func (m *Model) Drift(insts []caresignal.Instance, th eval.DriftThresholds) (eval.DriftReport, error) {
	if m.reference == nil {
		return eval.DriftReport{}, caresignal.Errorf(caresignal.ENOTFOUND,
			"model %s %s has no training reference to compare with (imported, or saved by an older build: retrain it)", m.Name, m.Version)
	}
	live := make([]map[string]caresignal.Value, len(insts))
	hazards := make([]float64, len(insts))
	for i := range insts {
		live[i] = insts[i].Features
		h, err := m.Hazard(insts[i].Features, insts[i].MonthsEnrolled+1)
		if err != nil {
			h = math.NaN()
		}
		hazards[i] = h
	}
	return m.reference.Compare(live, hazards, th), nil
}

// newReference profiles the rows x the model was fitted on; hazards[i] is
// the fitted hazard of row i.
func newReference(ft *feature.Fitted, x *caresignal.Extract, hazards []float64) (*Reference, error) {
	cols, err := ft.Bind(x.Columns)
	if err != nil {
		return nil, err
	}
	if len(hazards) != len(x.Rows) {
		return nil, fmt.Errorf("reference: %d hazards for %d rows", len(hazards), len(x.Rows))
	}
	r := &Reference{eval.ReferenceProfile{Rows: len(x.Rows)}}
	vals := make([]caresignal.Value, len(x.Rows))
	nums := make([]float64, 0, len(x.Rows))
	for i, f := range ft.Features {
		for k, row := range x.Rows {
			vals[k] = row.Values[cols[i]]
		}
		fr := eval.FeatureReference{Name: f.Name, Type: f.Type}
		switch f.Type {
		case feature.Numeric:
			nums, missing := nums[:0], 0
			for _, v := range vals {
				switch {
				case v.Missing():
					missing++
				case v.Finite():
					nums = append(nums, v.Num)
				default: // the fit refuses these; never here
					return nil, fmt.Errorf("reference: feature %q: a training value is not a finite number", f.Name)
				}
			}
			nr := eval.NewNumericReference(nums, missing)
			fr.Numeric = &nr
		case feature.Categorical:
			cr := eval.NewCategoricalReference(vals)
			fr.Categorical = &cr
		default:
			return nil, fmt.Errorf("reference: feature %q has type %q", f.Name, f.Type)
		}
		r.Features = append(r.Features, fr)
	}
	h := eval.NewNumericReference(hazards, 0)
	r.Hazard = &h
	if err := r.check(ft); err != nil {
		return nil, err
	}
	return r, nil
}

// check verifies that a reference is consistent in itself and profiles
// exactly the model's features, in order, each with its type.
func (r *Reference) check(ft *feature.Fitted) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if len(r.Features) != len(ft.Features) {
		return fmt.Errorf("reference: %d inputs profiled for %d features", len(r.Features), len(ft.Features))
	}
	for i, f := range ft.Features {
		if g := r.Features[i]; g.Name != f.Name || g.Type != f.Type {
			return fmt.Errorf("reference: input %d is %s %q, the model's feature is %s %q", i, g.Type, g.Name, f.Type, f.Name)
		}
	}
	if r.Hazard == nil {
		return fmt.Errorf("reference: no hazard profile")
	}
	return nil
}

// TrainingRange returns the smallest and largest value of numeric input
// name among the rows the model was fitted on (its reference's 0th and
// 100th percentiles). ok is false for a categorical or unknown input, an
// imported model, and an artifact saved before references were kept,
// which therefore warn of nothing.
func (m *Model) TrainingRange(name string) (lo, hi float64, ok bool) {
	if m.reference == nil {
		return 0, 0, false
	}
	for _, f := range m.reference.Features {
		if f.Name == name && f.Numeric != nil && len(f.Numeric.Percentiles) == eval.ReferencePoints {
			return f.Numeric.Percentiles[0], f.Numeric.Percentiles[eval.ReferencePoints-1], true
		}
	}
	return 0, 0, false
}
