package feature

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/survival"
)

// Width returns the number of design columns.
func (ft *Fitted) Width() int { return len(ft.Columns) }

// Encode writes the feature columns of one row into dst, which must have
// Width elements; the baseline columns are left alone. vals holds the
// features in spec order. A value that was changed to be usable (imputed,
// or an unseen level mapped to the reference) appends a sentence to *warn
// when warn is not nil.
//
// An unusable value returns a *caresignal.Error whose Field is the feature
// name and whose Message starts with it, so a caller can prefix both with
// where the features came from ("instances[3].features.").
//
// Unseen levels follow the API's policy; EncodeFor chooses the surface.
func (ft *Fitted) Encode(vals []caresignal.Value, dst []float64, warn *[]string) error {
	return ft.EncodeFor(SurfaceAPI, vals, dst, warn)
}

// Surface is where a row is scored, for the policy on unseen levels.
type Surface uint8

// The surfaces.
const (
	SurfaceAPI   Surface = iota // requests to the server
	SurfaceBatch                // batch scoring of the enrolled patients, offline rescoring
)

// EncodeFor is Encode with the unseen-level policy of surface s.
func (ft *Fitted) EncodeFor(s Surface, vals []caresignal.Value, dst []float64, warn *[]string) error {
	if len(vals) != len(ft.Features) {
		return fmt.Errorf("feature: %d values for %d features", len(vals), len(ft.Features))
	}
	for i := range ft.Features {
		f := &ft.Features[i]
		v := vals[i]
		if f.Type == Numeric {
			x, err := f.numeric(v, warn)
			if err != nil {
				return err
			}
			z := (x - f.Center) / f.Scale
			if math.IsInf(z, 0) {
				return f.errorf("is too large to use")
			}
			dst[f.Column] = z
			continue
		}
		cols := dst[f.Column : f.Column+f.Width]
		clear(cols)
		k, err := f.level(v, s, warn)
		if err != nil {
			return err
		}
		if k >= 0 {
			cols[k] = 1
		}
	}
	return nil
}

func (f *FittedFeature) numeric(v caresignal.Value, warn *[]string) (float64, error) {
	switch {
	case v.Missing():
		if f.Impute == "" {
			return 0, f.missing(v)
		}
		addWarning(warn, f.Name+" was missing; imputed as "+strconv.FormatFloat(f.ImputeNum, 'g', 6, 64)+" ("+f.Impute+")")
		return f.ImputeNum, nil
	case v.Kind != caresignal.Number:
		return 0, f.errorf("must be a number")
	case !v.Finite():
		return 0, f.errorf("must be a finite number")
	case f.Min != nil && v.Num < *f.Min:
		return 0, f.errorf("must be at least %g", *f.Min)
	case f.Max != nil && v.Num > *f.Max:
		return 0, f.errorf("must be at most %g", *f.Max)
	}
	return v.Num, nil
}

// level returns the offset of v's indicator, or −1 for the reference level.
func (f *FittedFeature) level(v caresignal.Value, s Surface, warn *[]string) (int, error) {
	var l string
	switch v.Kind {
	case caresignal.String:
		l = v.Str
	case caresignal.Number:
		if !v.Finite() {
			return 0, f.errorf("must be a category label")
		}
		l = levelOf(v)
	default:
		if f.Impute == "" {
			return 0, f.missing(v)
		}
		addWarning(warn, f.Name+" was missing; imputed as "+strconv.Quote(f.ImputeLevel)+" ("+f.Impute+")")
		l = f.ImputeLevel
	}
	if l == f.Reference {
		return -1, nil
	}
	if k, ok := f.index[l]; ok {
		return k, nil
	}
	if f.unseen(s) == UnseenReference {
		addWarning(warn, f.Name+": unseen level "+strconv.Quote(l)+" treated as the reference level "+strconv.Quote(f.Reference))
		return -1, nil
	}
	// The level itself is not repeated: errors reach logs, and a value
	// is data.
	return 0, f.errorf("is not a level the model knows (known levels: %s)", f.knownLevels())
}

// UnseenLevels calls fn with the name of each categorical feature whose
// value in features is a level not seen in training (a missing value is
// not one): batch scoring counts them.
func (ft *Fitted) UnseenLevels(features map[string]caresignal.Value, fn func(feature string)) {
	for i := range ft.Features {
		f := &ft.Features[i]
		if f.Type != Categorical {
			continue
		}
		v := features[f.Name]
		var l string
		switch {
		case v.Kind == caresignal.String:
			l = v.Str
		case v.Kind == caresignal.Number && v.Finite():
			l = levelOf(v)
		default:
			continue
		}
		if _, ok := f.index[l]; !ok && l != f.Reference {
			fn(f.Name)
		}
	}
}

// unseen is the policy for unseen levels on surface s.
func (f *FittedFeature) unseen(s Surface) string {
	if s == SurfaceBatch && f.UnseenBatch != "" {
		return f.UnseenBatch
	}
	return f.Unseen
}

// missing explains a missing value the spec gives no imputation for.
func (f *FittedFeature) missing(v caresignal.Value) error {
	if v.Kind == caresignal.Null {
		return f.errorf("is null, and the model has no imputation for it")
	}
	return f.errorf("is required")
}

func (f *FittedFeature) knownLevels() string {
	s := strconv.Quote(f.Reference)
	for _, l := range f.Levels {
		s += ", " + strconv.Quote(l)
	}
	return s
}

func (f *FittedFeature) errorf(format string, args ...any) error {
	return &caresignal.Error{Code: caresignal.EINVALID, Field: f.Name,
		Message: f.Name + " " + fmt.Sprintf(format, args...)}
}

func addWarning(warn *[]string, s string) {
	if warn != nil {
		*warn = append(*warn, s)
	}
}

// Values gathers an instance's features into spec order. Features the
// instance does not mention come back Absent; a name the spec does not
// declare is an error, so that a misspelt feature is not silently ignored.
func (ft *Fitted) Values(features map[string]caresignal.Value, dst []caresignal.Value) ([]caresignal.Value, error) {
	dst = dst[:0]
	known := 0
	for _, f := range ft.Features {
		v, ok := features[f.Name]
		if ok {
			known++
		}
		dst = append(dst, v)
	}
	if known == len(features) {
		return dst, nil
	}
	var unknown []string
	for name := range features {
		if !slices.ContainsFunc(ft.Features, func(f FittedFeature) bool { return f.Name == name }) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	return dst, &caresignal.Error{Code: caresignal.EINVALID, Field: unknown[0],
		Message: unknown[0] + " is not a feature of this model"}
}

// DesignMatrix is an encoded extract: the sparse design and the outcomes.
type DesignMatrix struct {
	X *survival.Matrix
	Y []float64
}

// Design encodes the rows of a person-period extract into a sparse design
// matrix with each row's baseline term set, and returns the matrix and the
// 0/1 outcomes.
func (ft *Fitted) Design(x *caresignal.Extract) (*DesignMatrix, error) {
	cols, err := ft.Bind(x.Columns)
	if err != nil {
		return nil, err
	}
	width := ft.Width()
	d := &DesignMatrix{Y: make([]float64, len(x.Rows))}
	d.X = survival.NewMatrix(width, len(x.Rows), len(ft.Features)+ft.Baseline.nonZeros())
	row := make([]float64, width)
	vals := make([]caresignal.Value, len(ft.Features))
	for i, r := range x.Rows {
		for j, c := range cols {
			vals[j] = r.Values[c]
		}
		clear(row)
		if err := ft.Encode(vals, row, nil); err != nil {
			return nil, fmt.Errorf("row %d (month %d): %w", i+1, r.Month, err)
		}
		ft.Baseline.Set(r.Month, row)
		d.X.AppendRow(row)
		if r.Event {
			d.Y[i] = 1
		}
	}
	return d, nil
}
