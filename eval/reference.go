package eval

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/caresignal/caresignal"
)

// CategoricalReference is the training distribution of a categorical
// input: the rows per level (levels as the feature package labels them:
// strings as they are, numbers in their shortest form) and the missing
// rows.
type CategoricalReference struct {
	Counts  map[string]int `json:"counts"`
	Missing int            `json:"missing"`
	// MissingShare is Missing over all rows; 0 without rows.
	MissingShare float64 `json:"missing_share"`
}

// NewCategoricalReference profiles the values of a categorical input.
func NewCategoricalReference(values []caresignal.Value) CategoricalReference {
	r := CategoricalReference{Counts: map[string]int{}}
	for _, v := range values {
		if v.Missing() {
			r.Missing++
			continue
		}
		r.Counts[v.String()]++
	}
	if len(values) > 0 {
		r.MissingShare = float64(r.Missing) / float64(len(values))
	}
	return r
}

// N returns the number of non-missing rows.
func (r *CategoricalReference) N() int {
	n := 0
	for _, c := range r.Counts {
		n += c
	}
	return n
}

func (r *CategoricalReference) validate() error {
	if r.Missing < 0 {
		return fmt.Errorf("negative missing count %d", r.Missing)
	}
	for l, c := range r.Counts {
		if c <= 0 {
			return fmt.Errorf("level %q has count %d", l, c)
		}
	}
	want, total := 0.0, r.N()+r.Missing
	if total > 0 {
		want = float64(r.Missing) / float64(total)
	}
	if math.Abs(r.MissingShare-want) > 1e-12 {
		return fmt.Errorf("missing share %g, counts give %g", r.MissingShare, want)
	}
	return nil
}

// levels returns the reference levels by count, largest first, ties by
// name: the order of their bins.
func (r *CategoricalReference) levels() []string {
	ls := make([]string, 0, len(r.Counts))
	for l := range r.Counts {
		ls = append(ls, l)
	}
	slices.SortFunc(ls, func(a, b string) int {
		if c := cmp.Compare(r.Counts[b], r.Counts[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return ls
}

// FeatureReference is the training distribution of one input: Numeric is
// set for a numeric input, Categorical for a categorical one.
type FeatureReference struct {
	Name        string                `json:"name"`
	Type        string                `json:"type"` // TypeNumeric or TypeCategorical
	Numeric     *NumericReference     `json:"numeric,omitempty"`
	Categorical *CategoricalReference `json:"categorical,omitempty"`
}

// ReferenceProfile is the training reference a model carries: the
// distribution of each input over the rows profiled, and that of the
// model's prediction on those rows.
type ReferenceProfile struct {
	// Rows is the number of rows profiled.
	Rows int `json:"rows"`
	// Features are in the model's feature order.
	Features []FeatureReference `json:"features"`
	// Hazard is the distribution of the fitted hazard of each row's own
	// month (never missing).
	Hazard *NumericReference `json:"hazard,omitempty"`
}

// Validate checks that the profile is consistent: each input has the
// reference of its type, and its counts add up to Rows; percentiles are
// complete and ordered; hazards lie in [0, 1].
func (p *ReferenceProfile) Validate() error {
	if p.Rows < 0 {
		return fmt.Errorf("reference: negative row count %d", p.Rows)
	}
	seen := map[string]bool{}
	for _, f := range p.Features {
		if seen[f.Name] {
			return fmt.Errorf("reference: input %q profiled twice", f.Name)
		}
		seen[f.Name] = true
		var err error
		switch {
		case f.Type == TypeNumeric && f.Numeric != nil && f.Categorical == nil:
			err = f.Numeric.validate()
			if err == nil && f.Numeric.N+f.Numeric.Missing != p.Rows {
				err = fmt.Errorf("%d values and %d missing for %d rows", f.Numeric.N, f.Numeric.Missing, p.Rows)
			}
		case f.Type == TypeCategorical && f.Categorical != nil && f.Numeric == nil:
			err = f.Categorical.validate()
			if n := f.Categorical.N(); err == nil && n+f.Categorical.Missing != p.Rows {
				err = fmt.Errorf("%d values and %d missing for %d rows", n, f.Categorical.Missing, p.Rows)
			}
		default:
			err = fmt.Errorf("type %q does not match the profile stored", f.Type)
		}
		if err != nil {
			return fmt.Errorf("reference: input %q: %w", f.Name, err)
		}
	}
	if h := p.Hazard; h != nil {
		if err := h.validate(); err != nil {
			return fmt.Errorf("reference: hazard: %w", err)
		}
		if h.Missing != 0 || h.N != p.Rows || (h.N > 0 && !(h.Percentiles[0] >= 0 && h.Percentiles[ReferencePoints-1] <= 1)) {
			return fmt.Errorf("reference: hazard: %d values (%d missing) for %d rows, or outside [0, 1]", h.N, h.Missing, p.Rows)
		}
	}
	return nil
}
