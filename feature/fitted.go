package feature

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/caresignal/caresignal"
)

// Fitted is a Spec fitted to training rows: everything needed to encode a
// row exactly as training did. Its fields are plain data so it serialises
// into the model artifact; call Prepare after decoding one.
type Fitted struct {
	Spec Spec `json:"spec"`
	// Baseline holds the fitted baseline-hazard terms, which fill the first
	// design columns.
	Baseline FittedBaseline `json:"baseline"`
	// Features are fitted in spec order.
	Features []FittedFeature `json:"features"`
	// reference is the mean encoded feature row of the training data.
	reference []float64
	// Columns names every design column: the baseline terms first
	// ("month_1", …, "month_12+" for a pooled tail; see
	// FittedBaseline.Names), then each feature's.
	Columns []string `json:"columns"`
}

// FittedFeature is one feature's fitted transform. A numeric feature fills
// one column with (x − Center)/Scale; a categorical one fills one 0/1
// indicator per non-reference level.
type FittedFeature struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	TimeVarying bool     `json:"time_varying,omitempty"`
	Column      int      `json:"column"` // first design column
	Width       int      `json:"width"`  // number of design columns
	Center      float64  `json:"center,omitempty"`
	Scale       float64  `json:"scale,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	// TrainMean is the training mean of the encoded numeric column (0 when
	// standardised); explanations measure contributions from it.
	TrainMean float64 `json:"train_mean,omitempty"`
	// Levels are the non-reference levels in column order.
	Levels    []string `json:"levels,omitempty"`
	Reference string   `json:"reference,omitempty"`
	// Unseen is the policy for a level not seen in training on the API
	// (and everywhere, for artifacts of earlier versions); UnseenBatch,
	// when set, the policy of batch scoring.
	Unseen      string `json:"unseen,omitempty"`
	UnseenBatch string `json:"unseen_batch,omitempty"`
	// LevelCounts are the training rows per level, reference included.
	LevelCounts map[string]int `json:"level_counts,omitempty"`
	// Impute is the strategy for missing values ("" rejects them);
	// ImputeNum or ImputeLevel is the value it resolved to in training.
	Impute      string  `json:"impute,omitempty"`
	ImputeNum   float64 `json:"impute_num,omitempty"`
	ImputeLevel string  `json:"impute_level,omitempty"`
	// Missing counts the training rows that were missing this feature.
	Missing int `json:"missing,omitempty"`

	index map[string]int // level → offset within the feature's columns
}

// Fit fits spec to the training rows of x, which must have a column for
// every feature. It fails, naming the feature, on a constant feature, a
// missing value without an imputation strategy, or a declared reference
// level that never occurs.
func Fit(spec *Spec, x *caresignal.Extract) (*Fitted, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if len(x.Rows) == 0 {
		return nil, caresignal.Errorf(caresignal.EINVALID, "feature fit: the training extract has no rows")
	}
	cols, err := bind(spec, x.Columns)
	if err != nil {
		return nil, err
	}
	ft := &Fitted{Spec: *spec}
	if err := ft.fitBaseline(x); err != nil {
		return nil, err
	}
	col := ft.Baseline.Width()
	for i, f := range spec.Features {
		var ff FittedFeature
		var err error
		if f.Type == Numeric {
			ff, err = fitNumeric(f, x, cols[i])
		} else {
			ff, err = fitCategorical(f, x, cols[i])
		}
		if err != nil {
			return nil, err
		}
		ff.Column = col
		col += ff.Width
		ft.Features = append(ft.Features, ff)
	}
	// A term per month that cannot be estimated is refused after the
	// features are fitted, so that an error in the data (a missing value
	// without imputation) is reported first.
	if ft.Baseline.Type == BaselinePeriods {
		if err := ft.Baseline.checkPeriods(); err != nil {
			return nil, err
		}
	}
	ft.Columns = ft.columnNames()
	ft.Prepare()
	return ft, nil
}

// Bind returns, for each feature in spec order, the index of its column in
// columns, or an EINVALID error naming the first feature that has none.
func (ft *Fitted) Bind(columns []string) ([]int, error) { return bind(&ft.Spec, columns) }

// bind returns, for each spec feature, its column index in columns.
func bind(spec *Spec, columns []string) ([]int, error) {
	idx := make([]int, len(spec.Features))
	for i, f := range spec.Features {
		idx[i] = slices.Index(columns, f.Name)
		if idx[i] < 0 {
			return nil, caresignal.Invalidf(f.Name, "feature %q is in the spec but not in the data (columns: %v)", f.Name, columns)
		}
	}
	return idx, nil
}

func fitNumeric(f Feature, x *caresignal.Extract, col int) (FittedFeature, error) {
	ff := FittedFeature{Name: f.Name, Type: Numeric, TimeVarying: f.TimeVarying, Width: 1,
		Min: f.Min, Max: f.Max, Impute: f.Impute, Scale: 1}
	vals := make([]float64, 0, len(x.Rows))
	for i, r := range x.Rows {
		v := r.Values[col]
		switch {
		case v.Missing():
			ff.Missing++
		case v.Kind != caresignal.Number:
			return ff, caresignal.Invalidf(f.Name, "feature %q: training row %d holds %q, not a number", f.Name, i+1, v.Str)
		case !v.Finite():
			return ff, caresignal.Invalidf(f.Name, "feature %q: training row %d is not a finite number", f.Name, i+1)
		default:
			vals = append(vals, v.Num)
		}
	}
	if len(vals) == 0 {
		return ff, caresignal.Invalidf(f.Name, "feature %q has no values in the training data", f.Name)
	}
	if ff.Missing > 0 && f.Impute == "" {
		return ff, caresignal.Invalidf(f.Name, "feature %q is missing in %d training rows and the spec gives no impute strategy", f.Name, ff.Missing)
	}
	mean, sd := meanSD(vals)
	switch f.Impute {
	case ImputeMean:
		ff.ImputeNum = mean
	case ImputeMedian:
		slices.Sort(vals)
		ff.ImputeNum = median(vals)
	case ImputeConstant:
		_ = json.Unmarshal(f.ImputeValue, &ff.ImputeNum) // validated by Spec.Validate
	}
	// Center and scale come from the observed values only, so that the
	// share of missing values does not change the scale of the column.
	if sd == 0 {
		return ff, caresignal.Invalidf(f.Name, "feature %q is constant (%g) in the training data: it cannot inform the model; remove it from the spec", f.Name, mean)
	}
	if f.Transform == "" || f.Transform == Standardize {
		ff.Center, ff.Scale = mean, sd
	} else {
		ff.TrainMean = mean
	}
	return ff, nil
}

func fitCategorical(f Feature, x *caresignal.Extract, col int) (FittedFeature, error) {
	ff := FittedFeature{Name: f.Name, Type: Categorical, TimeVarying: f.TimeVarying,
		Unseen: f.Unseen.API, Impute: f.Impute, LevelCounts: map[string]int{}}
	if ff.Unseen == "" {
		ff.Unseen = UnseenError
	}
	if batch := cmp.Or(f.Unseen.Batch, UnseenError); batch != ff.Unseen {
		ff.UnseenBatch = batch // only when it differs: earlier artifacts keep their bytes
	}
	for _, r := range x.Rows {
		v := r.Values[col]
		if v.Missing() {
			ff.Missing++
			continue
		}
		ff.LevelCounts[levelOf(v)]++
	}
	if len(ff.LevelCounts) == 0 {
		return ff, caresignal.Invalidf(f.Name, "feature %q has no values in the training data", f.Name)
	}
	if len(ff.LevelCounts) == 1 {
		return ff, caresignal.Invalidf(f.Name, "feature %q has a single level in the training data: it cannot inform the model; remove it from the spec", f.Name)
	}
	if ff.Missing > 0 && f.Impute == "" {
		return ff, caresignal.Invalidf(f.Name, "feature %q is missing in %d training rows and the spec gives no impute strategy", f.Name, ff.Missing)
	}
	levels := make([]string, 0, len(ff.LevelCounts))
	for l := range ff.LevelCounts {
		levels = append(levels, l)
	}
	slices.Sort(levels)
	common := levels[0]
	for _, l := range levels {
		if ff.LevelCounts[l] > ff.LevelCounts[common] {
			common = l
		}
	}
	ff.Reference = f.Reference
	if ff.Reference == "" {
		ff.Reference = common
	} else if ff.LevelCounts[ff.Reference] == 0 {
		return ff, caresignal.Invalidf(f.Name, "feature %q: reference level %q does not occur in the training data (levels: %v)", f.Name, f.Reference, levels)
	}
	switch f.Impute {
	case ImputeMostFrequent:
		ff.ImputeLevel = common
	case ImputeConstant:
		_ = json.Unmarshal(f.ImputeValue, &ff.ImputeLevel)
		if ff.LevelCounts[ff.ImputeLevel] == 0 {
			return ff, caresignal.Invalidf(f.Name, "feature %q: impute_value %q does not occur in the training data", f.Name, ff.ImputeLevel)
		}
	}
	for _, l := range levels {
		if l != ff.Reference {
			ff.Levels = append(ff.Levels, l)
		}
	}
	ff.Width = len(ff.Levels)
	return ff, nil
}

// levelOf returns the category label of a non-missing value; numbers (a
// category stored as an integer code) are formatted.
func levelOf(v caresignal.Value) string {
	if v.Kind == caresignal.String {
		return v.Str
	}
	return strconv.FormatFloat(v.Num, 'g', -1, 64)
}

func (ft *Fitted) columnNames() []string {
	names := ft.Baseline.Names()
	for _, f := range ft.Features {
		if f.Type == Numeric {
			names = append(names, f.Name)
			continue
		}
		for _, l := range f.Levels {
			names = append(names, f.Name+"="+l)
		}
	}
	return names
}

// Reference returns the reference row explanations are measured from: each
// feature column at its training mean — a numeric feature at the mean of
// its observed values, a level's indicator at the level's share of the
// training rows (imputed rows counted as imputed). The baseline columns are
// zero. The slice is shared: do not modify it.
func (ft *Fitted) Reference() []float64 { return ft.reference }

func (ft *Fitted) referenceRow() []float64 {
	ref := make([]float64, len(ft.Columns))
	for _, f := range ft.Features {
		if f.Type == Numeric {
			ref[f.Column] = f.TrainMean
			continue
		}
		total := f.Missing
		for _, n := range f.LevelCounts {
			total += n
		}
		for k, l := range f.Levels {
			n := f.LevelCounts[l]
			if l == f.ImputeLevel {
				n += f.Missing
			}
			if total > 0 {
				ref[f.Column+k] = float64(n) / float64(total)
			}
		}
	}
	return ref
}

// AllCategorical reports whether every feature is categorical, so that the
// design has few distinct rows.
func (ft *Fitted) AllCategorical() bool {
	for _, f := range ft.Features {
		if f.Type != Categorical {
			return false
		}
	}
	return true
}

// Prepare builds the lookup tables Encode uses. Fit calls it; call it after
// decoding a Fitted from JSON, before sharing it between goroutines.
func (ft *Fitted) Prepare() {
	ft.reference = ft.referenceRow()
	for i := range ft.Features {
		f := &ft.Features[i]
		if f.Type != Categorical {
			continue
		}
		f.index = make(map[string]int, len(f.Levels))
		for k, l := range f.Levels {
			f.index[l] = k
		}
	}
}

// Check verifies that a decoded Fitted is internally consistent, so that a
// damaged or hand-edited artifact fails at load time rather than at scoring.
func (ft *Fitted) Check() error {
	if err := ft.Spec.Validate(); err != nil {
		return err
	}
	if err := ft.Baseline.check(); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if len(ft.Features) != len(ft.Spec.Features) {
		return fmt.Errorf("%d fitted features for %d in the spec", len(ft.Features), len(ft.Spec.Features))
	}
	col := ft.Baseline.Width()
	for i, f := range ft.Features {
		s := ft.Spec.Features[i]
		if f.Name != s.Name || f.Type != s.Type {
			return fmt.Errorf("fitted feature %d is %s %q, the spec says %s %q", i, f.Type, f.Name, s.Type, s.Name)
		}
		if f.Column != col {
			return fmt.Errorf("feature %q starts at column %d, want %d", f.Name, f.Column, col)
		}
		switch f.Type {
		case Numeric:
			if f.Width != 1 || !(f.Scale > 0) || math.IsInf(f.Scale, 0) || math.IsNaN(f.Center) || math.IsInf(f.Center, 0) {
				return fmt.Errorf("feature %q: bad numeric transform (width %d, center %g, scale %g)", f.Name, f.Width, f.Center, f.Scale)
			}
		case Categorical:
			if f.Width != len(f.Levels) || f.Reference == "" || slices.Contains(f.Levels, f.Reference) {
				return fmt.Errorf("feature %q: bad levels (width %d, %d levels, reference %q)", f.Name, f.Width, len(f.Levels), f.Reference)
			}
		}
		col += f.Width
	}
	if len(ft.Columns) != col {
		return fmt.Errorf("%d column names for %d design columns", len(ft.Columns), col)
	}
	return nil
}

func meanSD(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)))
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
