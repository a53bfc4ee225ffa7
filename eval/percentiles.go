package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// ReferencePoints is the number of stored percentiles of a numeric input:
// the 0th, 1st, …, 100th.
const ReferencePoints = 101

// NumericReference is the training distribution of a numeric input (or of
// the fitted hazard).
type NumericReference struct {
	// N counts the non-missing values, Missing the missing ones.
	N       int `json:"n"`
	Missing int `json:"missing"`
	// MissingShare is Missing / (N + Missing); 0 without rows.
	MissingShare float64 `json:"missing_share"`
	// Percentiles are the 0th, 1st, …, 100th percentiles of the non-missing
	// values (ReferencePoints of them; none when N is 0), by the linear
	// interpolation of R's quantile type 7 and NumPy's default: the p-th
	// percentile of sorted x₀ ≤ … ≤ x_{n−1} is x_j + f·(x_{j+1} − x_j) with
	// j + f = (n − 1)·p/100.
	Percentiles []float64 `json:"percentiles,omitempty"`
	// Whole is true when every non-missing value is a whole number (a
	// count, an age in years), so that a typical value shown for it is
	// rounded. References saved before it was kept read false.
	Whole bool `json:"whole,omitempty"`
}

// NewNumericReference profiles the non-missing values of an input (all
// finite; they are copied, not modified) and its count of missing ones.
func NewNumericReference(values []float64, missing int) NumericReference {
	r := NumericReference{N: len(values), Missing: missing}
	if total := r.N + r.Missing; total > 0 {
		r.MissingShare = float64(r.Missing) / float64(total)
	}
	if len(values) > 0 {
		sorted := slices.Clone(values)
		slices.Sort(sorted)
		r.Percentiles = Percentiles(sorted)
		r.Whole = !slices.ContainsFunc(sorted, func(x float64) bool { return x != math.Trunc(x) })
	}
	return r
}

// Percentiles returns the 0th, 1st, …, 100th percentiles of sorted (which
// must be sorted ascending and not empty) by R's type 7 definition; see
// NumericReference.Percentiles. The position (n−1)·k/100 is split into its
// whole and fractional parts in integer arithmetic, so the percentiles that
// fall on a data point are that data point exactly.
func Percentiles(sorted []float64) []float64 {
	n := len(sorted)
	q := make([]float64, ReferencePoints)
	for k := range q {
		num := (n - 1) * k
		j, f := num/100, float64(num%100)/100
		q[k] = sorted[j]
		if f > 0 {
			q[k] += f * (sorted[j+1] - sorted[j])
		}
	}
	return q
}

// validate checks the counts and the percentiles: ReferencePoints finite,
// non-decreasing values when N > 0, none otherwise.
func (r *NumericReference) validate() error {
	if r.N < 0 || r.Missing < 0 {
		return fmt.Errorf("negative counts (n %d, missing %d)", r.N, r.Missing)
	}
	want := 0.0
	if r.N+r.Missing > 0 {
		want = float64(r.Missing) / float64(r.N+r.Missing)
	}
	if math.Abs(r.MissingShare-want) > 1e-12 {
		return fmt.Errorf("missing share %g, counts give %g", r.MissingShare, want)
	}
	if r.N == 0 {
		if len(r.Percentiles) > 0 {
			return errors.New("percentiles without values")
		}
		return nil
	}
	if len(r.Percentiles) != ReferencePoints {
		return fmt.Errorf("%d percentiles, want %d", len(r.Percentiles), ReferencePoints)
	}
	for k, q := range r.Percentiles {
		if math.IsNaN(q) || math.IsInf(q, 0) {
			return fmt.Errorf("percentile %d is not finite", k)
		}
		if k > 0 && q < r.Percentiles[k-1] {
			return fmt.Errorf("percentile %d (%g) is below percentile %d (%g)", k, q, k-1, r.Percentiles[k-1])
		}
	}
	return nil
}

// ReferenceCDF returns the reference distribution function at x: the share
// of reference values at or below x, read off the stored percentiles by
// linear interpolation. Between consecutive distinct percentiles q_k < q_{k+1}
// it rises linearly from k/100 to (k+1)/100; it is 0 below the minimum q₀
// and 1 from the maximum q₁₀₀ on. Where several percentiles are equal (a
// value held by more than 1% of the rows, as with counts) it jumps there,
// and is right-continuous: ReferenceCDF(q) counts the whole jump.
//
// This is the empirical distribution of the training values smoothed
// within each percentile interval: it agrees with it at the 101
// percentiles, and in between it may differ by at most the 1% the interval
// holds — less where the density is smooth. Tail shape beyond the extreme
// training values is not represented: no reference mass lies below q₀ or
// above q₁₀₀. It is NaN when the reference has no values.
func (r *NumericReference) ReferenceCDF(x float64) float64 {
	q := r.Percentiles
	if len(q) == 0 {
		return math.NaN()
	}
	// j: the number of percentiles at or below x.
	j := sort.Search(len(q), func(i int) bool { return q[i] > x })
	switch {
	case j == 0:
		return 0
	case j == len(q):
		return 1
	}
	k := j - 1 // q[k] ≤ x < q[j]
	return (float64(k) + (x-q[k])/(q[j]-q[k])) / float64(len(q)-1)
}

// ReferenceCDFLeft is the left limit of ReferenceCDF at x: the share of
// reference values strictly below x. It differs from ReferenceCDF only at
// the jumps.
func (r *NumericReference) ReferenceCDFLeft(x float64) float64 {
	q := r.Percentiles
	if len(q) == 0 {
		return math.NaN()
	}
	// j: the first percentile at or above x.
	j := sort.SearchFloat64s(q, x)
	switch {
	case j == 0:
		return 0
	case j == len(q):
		return 1
	}
	k := j - 1 // q[k] < x ≤ q[j]
	return (float64(k) + (x-q[k])/(q[j]-q[k])) / float64(len(q)-1)
}

// Cuts returns the inner bin edges of the PSI bins: the reference deciles
// (10th, 20th, …, 90th percentiles) with repeats removed. Bin i is
// (Cuts[i−1], Cuts[i]], the first and last open-ended.
func (r *NumericReference) Cuts() []float64 {
	if len(r.Percentiles) != ReferencePoints {
		return nil
	}
	var cuts []float64
	for k := 10; k < ReferencePoints-1; k += 10 {
		if c := r.Percentiles[k]; len(cuts) == 0 || c > cuts[len(cuts)-1] {
			cuts = append(cuts, c)
		}
	}
	return cuts
}
