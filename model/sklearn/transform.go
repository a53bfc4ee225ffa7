package sklearn

import (
	"fmt"
	"math"
	"slices"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/pickle"
)

// pipeline applies its transformers in order, then its final classifier.
type pipeline struct {
	steps []transformer
	final classifier
}

func newPipeline(o *pickle.Object) (*pipeline, error) {
	l, ok := attr(o, "steps").(*pickle.List)
	if !ok || len(l.Items) == 0 {
		return nil, fmt.Errorf("the Pipeline has no steps")
	}
	p := &pipeline{}
	for i, s := range l.Items {
		t, ok := s.(pickle.Tuple)
		if !ok || len(t) != 2 {
			return nil, fmt.Errorf("pipeline step %d is a %s", i, pickle.TypeName(s))
		}
		e, ok := t[1].(*pickle.Object)
		if !ok {
			if t[1] == nil || t[1] == "passthrough" {
				continue
			}
			return nil, fmt.Errorf("pipeline step %v is a %s", t[0], pickle.TypeName(t[1]))
		}
		est, err := build(e)
		if err != nil {
			return nil, fmt.Errorf("pipeline step %v: %w", t[0], err)
		}
		if c, ok := est.(classifier); ok && i == len(l.Items)-1 {
			p.final = c
			continue
		}
		tr, ok := est.(transformer)
		if !ok {
			return nil, fmt.Errorf("pipeline step %v (%s) is not a transformer", t[0], e.Class.Name)
		}
		p.steps = append(p.steps, tr)
	}
	return p, nil
}

func (p *pipeline) transform(in []caresignal.Value) ([]caresignal.Value, error) {
	var err error
	for _, s := range p.steps {
		if in, err = s.transform(in); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func (p *pipeline) proba(in []caresignal.Value) (float64, error) {
	if p.final == nil {
		return 0, fmt.Errorf("the pipeline does not end in a classifier")
	}
	x, err := p.transform(in)
	if err != nil {
		return 0, err
	}
	return p.final.proba(x)
}

// columnTransformer applies transformers to column subsets and joins their
// outputs side by side.
type columnTransformer struct {
	width int
	parts []ctPart
}

type ctPart struct {
	name string
	cols []int
	t    transformer // nil: passthrough
}

func newColumnTransformer(o *pickle.Object) (*columnTransformer, error) {
	var names []string
	if a, ok := attr(o, "feature_names_in_").(*pickle.Array); ok {
		var err error
		if names, err = a.Strings(); err != nil {
			return nil, err
		}
	}
	n, _ := attr(o, "n_features_in_").(int64)
	ct := &columnTransformer{width: int(n)}
	l, ok := attr(o, "transformers_").(*pickle.List)
	if !ok {
		return nil, fmt.Errorf("ColumnTransformer is not fitted (no transformers_)")
	}
	for _, item := range l.Items {
		t, ok := item.(pickle.Tuple)
		if !ok || len(t) != 3 {
			return nil, fmt.Errorf("ColumnTransformer entry is a %s", pickle.TypeName(item))
		}
		name, _ := t[0].(string)
		cols, err := columnIndices(t[2], names, ct.width)
		if err != nil {
			return nil, fmt.Errorf("ColumnTransformer %q: %w", name, err)
		}
		if len(cols) == 0 {
			continue
		}
		part := ctPart{name: name, cols: cols}
		switch e := t[1].(type) {
		case string:
			switch e {
			case "drop":
				continue
			case "passthrough":
			default:
				return nil, fmt.Errorf("ColumnTransformer %q: unknown transformer %q", name, e)
			}
		case *pickle.Object:
			est, err := build(e)
			if err != nil {
				return nil, fmt.Errorf("ColumnTransformer %q: %w", name, err)
			}
			tr, ok := est.(transformer)
			if !ok {
				return nil, fmt.Errorf("ColumnTransformer %q: %s is not a transformer", name, e.Class.Name)
			}
			part.t = tr
		default:
			return nil, fmt.Errorf("ColumnTransformer %q: transformer is a %s", name, pickle.TypeName(t[1]))
		}
		ct.parts = append(ct.parts, part)
	}
	return ct, nil
}

// columnIndices resolves a column selection: names, integer positions or
// a boolean mask, as a list or an array.
func columnIndices(v any, names []string, width int) ([]int, error) {
	var items []any
	switch c := v.(type) {
	case *pickle.List:
		items = c.Items
	case pickle.Tuple:
		items = c
	case *pickle.Array:
		vals, err := arrayValues(c)
		if err != nil {
			return nil, err
		}
		if c.DType.Kind == 'b' {
			var out []int
			for i, x := range vals {
				if x.Num != 0 {
					out = append(out, i)
				}
			}
			return out, nil
		}
		for _, x := range vals {
			if x.Kind == caresignal.String {
				items = append(items, x.Str)
			} else {
				items = append(items, int64(x.Num))
			}
		}
	case string:
		return nil, fmt.Errorf("a single column name (%q) rather than a list is not supported", c)
	default:
		return nil, fmt.Errorf("column selection is a %s", pickle.TypeName(v))
	}
	out := make([]int, 0, len(items))
	for _, it := range items {
		switch x := it.(type) {
		case string:
			i := slices.Index(names, x)
			if i < 0 {
				return nil, fmt.Errorf("column %q is not among the inputs %v", x, names)
			}
			out = append(out, i)
		case int64:
			if x < 0 || int(x) >= width {
				return nil, fmt.Errorf("column index %d is out of range", x)
			}
			out = append(out, int(x))
		case bool:
			return nil, fmt.Errorf("boolean column masks in lists are not supported")
		default:
			return nil, fmt.Errorf("column %s", pickle.TypeName(it))
		}
	}
	return out, nil
}

func (ct *columnTransformer) transform(in []caresignal.Value) ([]caresignal.Value, error) {
	if ct.width > 0 && len(in) != ct.width {
		return nil, fmt.Errorf("ColumnTransformer got %d columns, was fitted on %d", len(in), ct.width)
	}
	var out []caresignal.Value
	for _, p := range ct.parts {
		sel := make([]caresignal.Value, len(p.cols))
		for i, c := range p.cols {
			sel[i] = in[c]
		}
		if p.t == nil {
			out = append(out, sel...)
			continue
		}
		y, err := p.t.transform(sel)
		if err != nil {
			return nil, err
		}
		out = append(out, y...)
	}
	return out, nil
}

// standardScaler computes (x − mean)/scale.
type standardScaler struct{ mean, scale []float64 }

func newStandardScaler(o *pickle.Object) (*standardScaler, error) {
	s := &standardScaler{}
	var err error
	if attr(o, "mean_") != nil {
		if s.mean, err = floatsAttr(o, "mean_"); err != nil {
			return nil, err
		}
	}
	if attr(o, "scale_") != nil {
		if s.scale, err = floatsAttr(o, "scale_"); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *standardScaler) transform(in []caresignal.Value) ([]caresignal.Value, error) {
	out := make([]caresignal.Value, len(in))
	for j, v := range in {
		x, err := num(v)
		if err != nil {
			return nil, fmt.Errorf("StandardScaler: %w", err)
		}
		if s.mean != nil {
			x -= s.mean[j]
		}
		if s.scale != nil {
			x /= s.scale[j]
		}
		out[j] = caresignal.Num(x)
	}
	return out, checkWidth("StandardScaler", len(in), len(s.mean), len(s.scale))
}

// checkWidth verifies that the fitted arrays (when present) match the input.
func checkWidth(name string, n int, widths ...int) error {
	for _, w := range widths {
		if w != 0 && w != n {
			return fmt.Errorf("%s was fitted on %d columns, got %d", name, w, n)
		}
	}
	return nil
}

// minMaxScaler computes x·scale + min, clipped to the feature range when
// fitted with clip=True.
type minMaxScaler struct {
	min, scale []float64
	clip       bool
	lo, hi     float64
}

func newMinMaxScaler(o *pickle.Object) (*minMaxScaler, error) {
	s := &minMaxScaler{}
	var err error
	if s.min, err = floatsAttr(o, "min_"); err != nil {
		return nil, err
	}
	if s.scale, err = floatsAttr(o, "scale_"); err != nil {
		return nil, err
	}
	s.clip, _ = attr(o, "clip").(bool)
	if s.clip {
		r, ok := attr(o, "feature_range").(pickle.Tuple)
		if !ok || len(r) != 2 {
			return nil, fmt.Errorf("MinMaxScaler.feature_range is a %s", pickle.TypeName(attr(o, "feature_range")))
		}
		s.lo, _ = numberOf(r[0])
		s.hi, _ = numberOf(r[1])
	}
	return s, nil
}

func (s *minMaxScaler) transform(in []caresignal.Value) ([]caresignal.Value, error) {
	if err := checkWidth("MinMaxScaler", len(in), len(s.min)); err != nil {
		return nil, err
	}
	out := make([]caresignal.Value, len(in))
	for j, v := range in {
		x, err := num(v)
		if err != nil {
			return nil, fmt.Errorf("MinMaxScaler: %w", err)
		}
		x *= s.scale[j]
		x += s.min[j]
		if s.clip {
			x = math.Min(math.Max(x, s.lo), s.hi)
		}
		out[j] = caresignal.Num(x)
	}
	return out, nil
}

// simpleImputer replaces missing values with the fitted statistics, and
// drops the columns whose statistic is missing (all missing in training).
type simpleImputer struct {
	stats     []caresignal.Value
	keep      []bool
	isMissing func(caresignal.Value) bool
}

func newSimpleImputer(o *pickle.Object) (*simpleImputer, error) {
	if ind, _ := attr(o, "add_indicator").(bool); ind {
		return nil, fmt.Errorf("SimpleImputer with add_indicator=True is not supported")
	}
	a, ok := attr(o, "statistics_").(*pickle.Array)
	if !ok {
		return nil, fmt.Errorf("SimpleImputer is not fitted (no statistics_)")
	}
	stats, err := arrayValues(a)
	if err != nil {
		return nil, fmt.Errorf("SimpleImputer.statistics_: %w", err)
	}
	strategy, _ := attr(o, "strategy").(string)
	keepEmpty, _ := attr(o, "keep_empty_features").(bool)
	s := &simpleImputer{stats: stats, keep: make([]bool, len(stats))}
	for j, st := range stats {
		s.keep[j] = strategy == "constant" || keepEmpty || !missing(st)
	}
	switch mv := attr(o, "missing_values").(type) {
	case float64:
		if !math.IsNaN(mv) {
			s.isMissing = func(v caresignal.Value) bool { return v.Kind == caresignal.Number && v.Num == mv }
		} else {
			s.isMissing = missing
		}
	case int64:
		s.isMissing = func(v caresignal.Value) bool { return v.Kind == caresignal.Number && v.Num == float64(mv) }
	case nil:
		s.isMissing = func(v caresignal.Value) bool { return v.Kind == caresignal.Null }
	case string:
		s.isMissing = func(v caresignal.Value) bool { return v.Kind == caresignal.String && v.Str == mv }
	default:
		return nil, fmt.Errorf("SimpleImputer.missing_values is a %s", pickle.TypeName(mv))
	}
	return s, nil
}

func (s *simpleImputer) transform(in []caresignal.Value) ([]caresignal.Value, error) {
	if err := checkWidth("SimpleImputer", len(in), len(s.stats)); err != nil {
		return nil, err
	}
	out := make([]caresignal.Value, 0, len(in))
	for j, v := range in {
		if !s.keep[j] {
			continue
		}
		if s.isMissing(v) {
			v = s.stats[j]
		}
		out = append(out, v)
	}
	return out, nil
}

// categories reads an encoder's categories_: one list of levels per input.
func categories(o *pickle.Object) ([][]caresignal.Value, error) {
	l, ok := attr(o, "categories_").(*pickle.List)
	if !ok {
		return nil, fmt.Errorf("%s is not fitted (no categories_)", o.Class.Name)
	}
	if inf, _ := attr(o, "_infrequent_enabled").(bool); inf {
		return nil, fmt.Errorf("%s with infrequent categories (min_frequency, max_categories) is not supported", o.Class.Name)
	}
	out := make([][]caresignal.Value, len(l.Items))
	for j, it := range l.Items {
		a, ok := it.(*pickle.Array)
		if !ok {
			return nil, fmt.Errorf("%s.categories_[%d] is a %s", o.Class.Name, j, pickle.TypeName(it))
		}
		vals, err := arrayValues(a)
		if err != nil {
			return nil, fmt.Errorf("%s.categories_[%d]: %w", o.Class.Name, j, err)
		}
		out[j] = vals
	}
	return out, nil
}

// level finds v among the categories: strings by text, numbers by value,
// a missing value as a missing category.
func level(cats []caresignal.Value, v caresignal.Value) int {
	for k, c := range cats {
		switch {
		case missing(v) && missing(c):
			return k
		case v.Kind == caresignal.String && c.Kind == caresignal.String && v.Str == c.Str:
			return k
		case v.Kind == caresignal.Number && c.Kind == caresignal.Number && v.Num == c.Num:
			return k
		}
	}
	return -1
}

// oneHotEncoder writes one indicator per category, less the dropped ones.
type oneHotEncoder struct {
	cats   [][]caresignal.Value
	drop   []int // per input, the dropped category or −1
	ignore bool  // handle_unknown="ignore": unknown levels encode as zeros
}

func newOneHotEncoder(o *pickle.Object) (*oneHotEncoder, error) {
	cats, err := categories(o)
	if err != nil {
		return nil, err
	}
	e := &oneHotEncoder{cats: cats, drop: make([]int, len(cats))}
	switch h, _ := attr(o, "handle_unknown").(string); h {
	case "error":
	case "ignore", "infrequent_if_exist":
		e.ignore = true
	default:
		return nil, fmt.Errorf("OneHotEncoder.handle_unknown %q is not supported", h)
	}
	for j := range e.drop {
		e.drop[j] = -1
	}
	if d, ok := attr(o, "drop_idx_").(*pickle.Array); ok {
		vals, err := arrayValues(d)
		if err != nil || len(vals) != len(cats) {
			return nil, fmt.Errorf("OneHotEncoder.drop_idx_ is malformed")
		}
		for j, v := range vals {
			if v.Kind == caresignal.Number {
				if v.Num < 0 || int(v.Num) >= len(cats[j]) {
					return nil, fmt.Errorf("OneHotEncoder.drop_idx_[%d] is out of range", j)
				}
				e.drop[j] = int(v.Num)
			}
		}
	}
	return e, nil
}

func (e *oneHotEncoder) transform(in []caresignal.Value) ([]caresignal.Value, error) {
	if len(in) != len(e.cats) {
		return nil, fmt.Errorf("OneHotEncoder was fitted on %d columns, got %d", len(e.cats), len(in))
	}
	var out []caresignal.Value
	for j, v := range in {
		k := level(e.cats[j], v)
		if k < 0 && !e.ignore {
			return nil, fmt.Errorf("OneHotEncoder: input %d has the level %s, unseen in training", j, v)
		}
		for c := range e.cats[j] {
			if c == e.drop[j] {
				continue
			}
			out = append(out, caresignal.Num(b2f(c == k)))
		}
	}
	return out, nil
}

// ordinalEncoder writes each input's category index.
type ordinalEncoder struct {
	cats             [][]caresignal.Value
	unknown          float64 // for handle_unknown="use_encoded_value"
	useUnknown       bool
	missingEncodedAs float64
}

func newOrdinalEncoder(o *pickle.Object) (*ordinalEncoder, error) {
	cats, err := categories(o)
	if err != nil {
		return nil, err
	}
	e := &ordinalEncoder{cats: cats, missingEncodedAs: math.NaN()}
	if h, _ := attr(o, "handle_unknown").(string); h == "use_encoded_value" {
		e.useUnknown = true
		e.unknown, _ = numberOf(attr(o, "unknown_value"))
		if u := attr(o, "unknown_value"); u == nil {
			e.unknown = math.NaN()
		}
	}
	if m, ok := numberOf(attr(o, "encoded_missing_value")); ok {
		e.missingEncodedAs = m
	}
	return e, nil
}

func (e *ordinalEncoder) transform(in []caresignal.Value) ([]caresignal.Value, error) {
	if len(in) != len(e.cats) {
		return nil, fmt.Errorf("OrdinalEncoder was fitted on %d columns, got %d", len(e.cats), len(in))
	}
	out := make([]caresignal.Value, len(in))
	for j, v := range in {
		k := level(e.cats[j], v)
		switch {
		case k >= 0 && missing(v):
			out[j] = caresignal.Num(e.missingEncodedAs)
		case k >= 0:
			out[j] = caresignal.Num(float64(k))
		case e.useUnknown:
			out[j] = caresignal.Num(e.unknown)
		default:
			return nil, fmt.Errorf("OrdinalEncoder: input %d has the level %s, unseen in training", j, v)
		}
	}
	return out, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
