package model

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/model/mlflow"
	"github.com/caresignal/caresignal/model/sklearn"
	"github.com/caresignal/caresignal/survival"
)

// KindSklearn is the kind of a model imported from scikit-learn: a
// classifier of person-period rows whose period column the scoring layer
// sets to each future month in turn.
const KindSklearn = "sklearn-classifier"

// Import formats.
const (
	FromPickle = "sklearn-pickle"
	FromJoblib = "joblib"
	FromMLflow = "mlflow"
)

// Imported is what an imported model carries: the model file itself,
// decoded by the restricted loader whenever the artifact is loaded, and
// what the import learned about it.
type Imported struct {
	Format   string `json:"format"`
	FileName string `json:"file_name"`
	// File is the pickle or joblib file as saved (base64 in the JSON).
	File []byte `json:"file"`
	// MLmodel is the MLflow MLmodel file, for the record (mlflow only).
	MLmodel string `json:"mlmodel,omitempty"`
	// PeriodColumn is the input holding the month of enrolment (1, 2, …),
	// numeric or one-hot or ordinal encoded by the pipeline.
	PeriodColumn   string             `json:"period_column"`
	SklearnVersion string             `json:"sklearn_version"`
	Describe       string             `json:"describe"`
	Signature      []mlflow.Column    `json:"signature,omitempty"`
	Inputs         []caresignal.Input `json:"inputs"`

	clf *sklearn.Model
	// period is set when an encoder reads the period column.
	period *periodEncoding
}

// ImportSource is a model file to import.
type ImportSource struct {
	Name         string // the model's name
	Format       string // FromPickle, FromJoblib or FromMLflow
	FileName     string
	File         []byte
	MLmodel      string          // FromMLflow: the MLmodel file
	Signature    []mlflow.Column // FromMLflow: its input signature
	PeriodColumn string
	Options      sklearn.Options
	Now          func() time.Time
}

// Import builds a model from a scikit-learn file. The period column must
// be one of the classifier's inputs: numeric, or read by a one-hot or
// ordinal encoder whose levels are month numbers (see periodEncoding).
func Import(src ImportSource) (*Model, error) {
	switch src.Format {
	case FromPickle, FromJoblib, FromMLflow:
	default:
		return nil, caresignal.Invalidf("from", "unknown import format %q (want %s, %s or %s)", src.Format, FromPickle, FromJoblib, FromMLflow)
	}
	if src.Name == "" {
		return nil, caresignal.Invalidf("name", "the imported model needs a name")
	}
	im := &Imported{Format: src.Format, FileName: src.FileName, File: src.File, MLmodel: src.MLmodel,
		PeriodColumn: src.PeriodColumn, Signature: src.Signature}
	if err := im.decode(src.Options); err != nil {
		return nil, err
	}
	now := time.Now
	if src.Now != nil {
		now = src.Now
	}
	sum := sha256.Sum256(src.File)
	m := &Model{Name: src.Name, Kind: KindSklearn, Imported: im, Training: TrainInfo{
		TrainedAt: now().UTC().Truncate(time.Second), CodeVersion: CodeVersion(), Source: src.Format,
		DataHash: hex.EncodeToString(sum[:]),
	}}
	return m, nil
}

// Linear reports whether the imported classifier is a logistic regression
// whose predictions are explained input by input.
func (im *Imported) Linear() bool { return im.clf != nil && im.clf.Linear() }

// Trees reports whether the imported classifier is a tree ensemble whose
// predictions are explained input by input by TreeSHAP.
func (im *Imported) Trees() bool { return im.clf != nil && im.clf.Trees() && im.clf.Explainable() }

// Explains reports whether the imported model's predictions carry an
// explanation: a linear pipeline's or a tree ensemble's.
func (im *Imported) Explains() bool { return im.clf != nil && im.clf.Explainable() }

// Warnings are the loader's warnings about the imported file, and what it
// means for predictions that an encoder reads the period column.
func (im *Imported) Warnings() []string {
	w := slices.Clone(im.clf.Warnings)
	if im.period != nil {
		w = append(w, im.period.note())
	}
	return w
}

// decode loads the embedded file and derives the inputs.
func (im *Imported) decode(opt sklearn.Options) error {
	clf, err := sklearn.Load(bytes.NewReader(im.File), opt)
	if err != nil {
		return err
	}
	if !slices.Contains(clf.Inputs, im.PeriodColumn) {
		return caresignal.Invalidf("period-column", "period column %q is not an input of the model (inputs: %v)", im.PeriodColumn, clf.Inputs)
	}
	im.period = nil
	if enc, encoded := clf.Encodings[im.PeriodColumn]; encoded {
		if im.period, err = newPeriodEncoding(im.PeriodColumn, enc); err != nil {
			return err
		}
	}
	im.clf = clf
	im.SklearnVersion = clf.SklearnVersion
	im.Describe = clf.Describe
	im.Inputs = im.Inputs[:0]
	for _, name := range clf.Inputs {
		if name == im.PeriodColumn {
			continue
		}
		levels, categorical := clf.Levels[name]
		in := caresignal.Input{Name: name, Categorical: categorical, Levels: levels, Optional: true}
		for _, c := range im.Signature {
			if c.Name == name {
				in.Optional = !c.Required
				in.Categorical = in.Categorical || c.Type == "string"
			}
		}
		if categorical && len(levels) > 0 {
			in.Default = levels[0]
		}
		im.Inputs = append(im.Inputs, in)
	}
	return nil
}

// Inputs lists what the model takes, for forms and clients: the spec's
// features of a native model, the classifier's inputs less the period
// column of an imported one. A native model's defaults are values a
// patient can have (see typicalValue and commonestLevel).
func (m *Model) Inputs() []caresignal.Input {
	if m.Imported != nil {
		return m.Imported.Inputs
	}
	out := make([]caresignal.Input, len(m.Features.Features))
	for i, f := range m.Features.Features {
		spec := m.Features.Spec.Features[i]
		in := caresignal.Input{Name: f.Name, Description: spec.Description, Optional: f.Impute != ""}
		if f.Type == feature.Numeric {
			in.Default = m.typicalValue(i)
		} else {
			in.Categorical = true
			in.Levels = append([]string{f.Reference}, f.Levels...)
			in.Default = commonestLevel(&f)
		}
		out[i] = in
	}
	return out
}

// typicalValue is the default of numeric feature i: the median of its
// training rows (the reference's 50th percentile), rounded to a whole
// number when every training value was one (counts, ages), so that a form
// never offers 1.13 missed appointments. The median rather than the
// commonest value, because a continuous input has no commonest value.
// An artifact saved before references were kept falls back to the
// training mean, to two decimals.
func (m *Model) typicalValue(i int) string {
	if ref := m.reference; ref != nil && i < len(ref.Features) {
		if nr := ref.Features[i].Numeric; nr != nil && len(nr.Percentiles) == eval.ReferencePoints {
			med := nr.Percentiles[50]
			if nr.Whole {
				// Type-7 medians of whole numbers are whole or halves;
				// a half rounds away from zero, as math.Round does.
				return strconv.FormatFloat(math.Round(med), 'f', -1, 64)
			}
			return strconv.FormatFloat(med, 'g', 3, 64)
		}
	}
	f := &m.Features.Features[i]
	mean := f.Center
	if m.Features.Spec.Features[i].Transform == feature.Identity {
		mean = f.TrainMean
	}
	return fmt.Sprint(math.Round(mean*100) / 100)
}

// commonestLevel is the level of a categorical feature with the most
// training rows, ties to the earlier in column order (the reference
// first); the reference level when the counts were not kept.
func commonestLevel(f *feature.FittedFeature) string {
	best := f.Reference
	for _, l := range f.Levels {
		if f.LevelCounts[l] > f.LevelCounts[best] {
			best = l
		}
	}
	return best
}

// predictImported scores an instance with an imported classifier: the
// period column runs over the future months, every other input is held at
// the value sent. With explain, a linear pipeline's or a tree ensemble's
// prediction carries each input's share of next month's log-odds
// (explainImported); other imported models answer an empty explanation.
func (m *Model) predictImported(inst *caresignal.Instance, explain bool) (caresignal.Prediction, error) {
	var p caresignal.Prediction
	im := m.Imported
	named := make(map[string]caresignal.Value, len(inst.Features)+1)
	for k, v := range inst.Features {
		if k == im.PeriodColumn {
			return p, caresignal.Invalidf("features."+k, "features.%s is the period column: it is set from months_enrolled for each predicted month", k)
		}
		named[k] = v
	}
	for _, in := range im.Inputs {
		v, ok := named[in.Name]
		if !ok {
			if !in.Optional {
				return p, caresignal.Invalidf("features."+in.Name, "features.%s is missing", in.Name)
			}
			named[in.Name] = caresignal.NullValue()
			continue
		}
		if in.Categorical && v.Kind == caresignal.Number {
			named[in.Name] = caresignal.Str(v.String()) // an integer-coded category
		}
	}
	if len(named) > len(im.Inputs) {
		for k := range inst.Features {
			if !slices.ContainsFunc(im.Inputs, func(in caresignal.Input) bool { return in.Name == k }) {
				return p, caresignal.Invalidf("features."+k, "features.%s is not an input of this model", k)
			}
		}
	}
	row := make([]caresignal.Value, len(im.clf.Inputs))
	curves := make([]float64, 2*inst.Horizon)
	p.PatientID = inst.PatientID
	p.Hazard, p.Survival = curves[:inst.Horizon:inst.Horizon], curves[inst.Horizon:]
	var unseen []int // months the period's encoder was not fitted on
	for i := range p.Hazard {
		month := inst.MonthsEnrolled + i + 1
		period := im.periodValue(month)
		if pe := im.period; pe != nil {
			if !pe.known(month) {
				if pe.enc.Refuses {
					return p, pe.refuse(month, i, inst.MonthsEnrolled)
				}
				unseen = append(unseen, month)
			}
		}
		named[im.PeriodColumn] = period
		if err := mlflow.Enforce(im.Signature, named); err != nil {
			return p, prefixField(err, "features.")
		}
		for j, name := range im.clf.Inputs {
			row[j] = named[name]
		}
		h, err := im.clf.PredictProba(row)
		if err != nil {
			return p, caresignal.Errorf(caresignal.EINVALID, "the imported model refused the input: %v", err)
		}
		if !(h >= 0 && h <= 1) {
			return p, fmt.Errorf("the imported model returned a probability of %v", h)
		}
		p.Hazard[i] = h
	}
	if len(unseen) > 0 {
		p.Warnings = append(p.Warnings, im.period.warning(unseen))
	}
	p.Hazard[0] = caresignal.MonthInProgress(p.Hazard[0], inst.DaysElapsed)
	var median int
	p.ExpectedMonths, median = survival.Curve(p.Hazard, p.Survival)
	if median > 0 {
		p.MedianMonths = &median
	}
	p.Explanation = []caresignal.Contribution{}
	if explain && im.Explains() {
		named[im.PeriodColumn] = im.periodValue(inst.MonthsEnrolled + 1)
		for j, name := range im.clf.Inputs {
			row[j] = named[name]
		}
		var err error
		if p.Explanation, err = explainImported(im, row, inst.Features); err != nil {
			return p, fmt.Errorf("explaining the imported model: %w", err)
		}
	}
	return p, nil
}

// periodValue is the period column's value for a month: the month's
// number, or, when an encoder reads the column, the level it fitted for it.
func (im *Imported) periodValue(month int) caresignal.Value {
	if im.period != nil {
		return im.period.value(month)
	}
	return caresignal.Num(float64(month))
}

// explainImported splits the log-odds of next month's drop-off for row
// (the classifier's inputs, the period set to next month) into each
// input's term, the period column's left out: it is the baseline, as a
// native model's explanation leaves out its baseline. A linear pipeline's
// terms are measured from the encoded row's zero (see
// sklearn.Model.LogOddsByInput); a tree ensemble's are its TreeSHAP
// values, measured from the log-odds expected over the training rows, the
// period's share of its interactions with other inputs included in the
// period's left-out term (see sklearn.Model.ExplainByInput). Largest
// first; sent holds the inputs as the request sent them (a missing one
// reads "missing").
func explainImported(im *Imported, row []caresignal.Value, sent map[string]caresignal.Value) ([]caresignal.Contribution, error) {
	terms, _, err := im.clf.ExplainByInput(row)
	if err != nil {
		return nil, err
	}
	out := make([]caresignal.Contribution, 0, len(terms))
	for j, name := range im.clf.Inputs {
		if name == im.PeriodColumn {
			continue
		}
		v, ok := sent[name]
		value := "missing"
		if ok && !v.Missing() {
			value = v.String()
		}
		text := appendSigned([]byte(name+" = "+value+" → "), terms[j])
		out = append(out, caresignal.Contribution{Feature: name, Value: value, Contribution: terms[j], Text: string(text)})
	}
	slices.SortStableFunc(out, func(a, b caresignal.Contribution) int {
		return cmp.Compare(math.Abs(b.Contribution), math.Abs(a.Contribution))
	})
	return out, nil
}
