package eval

// This file holds drift statistics: how far the inputs a model now receives,
// and the hazards it now predicts, have moved from those of its training
// rows. The training side is a ReferenceProfile — percentiles of each
// numeric input, level counts of each categorical one, percentiles of the
// fitted next-month hazard — stored in the model artifact; the live side is
// one feature map per patient scored and, optionally, the next-month hazard
// predicted for each.
//
// Three statistics are reported per input:
//
//   - The population stability index over reference bins (every input):
//     PSI = Σ (a_i − e_i)·ln(a_i/e_i) over bins, a_i the live share and e_i
//     the reference share, each floored at PSIFloor so that an empty bin
//     contributes a finite amount. Numeric inputs use ten bins cut at the
//     reference deciles (outer bins open-ended; equal deciles, as a discrete
//     input has, are merged); categorical inputs use one bin per reference
//     level plus one "other" bin for live levels the reference never saw.
//     Missing values form one more bin when either side has any.
//   - The one-sample Kolmogorov–Smirnov test of the live values of a numeric
//     input (or of the live hazards) against the reference distribution
//     function, see ReferenceCDF.
//   - The chi-square goodness-of-fit test of the live level counts of a
//     categorical input against the reference level frequencies, see
//     ChiSquareGOF and CompareCategorical.
//
// The reference is treated as known: the tests ask whether the live rows
// could be a sample from the reference distribution, not whether two samples
// share a distribution, so they ignore the sampling error of the training
// rows. With a training set many times larger than the live set, as is usual,
// the difference is small; with sets of similar size the p-values are too
// small. With large live sets the tests detect differences too small to
// matter, which is why a small p-value only ever raises a warning: a breach
// takes a PSI at or above DriftThresholds.PSIBreach. The reference
// distribution function is also only known to the resolution of its 101
// percentiles: within each 1% between them it is interpolated, so a
// Kolmogorov–Smirnov D of about 0.01 or less may be an artefact of the
// interpolation rather than drift (a discrete input's values fall on the
// percentiles themselves, where there is no such error, but the mass
// between two distinct percentiles is spread linearly). Above about 20,000
// live values, where the test detects a D of 0.012 at p = 0.01, a warning
// from the test alone may therefore come from the interpolation.

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/caresignal/caresignal"
)

// ReferencePoints is the number of stored percentiles of a numeric input:
// the 0th, 1st, …, 100th.
const ReferencePoints = 101

// PSIFloor is the smallest share a PSI term uses: a live or reference share
// below it (an empty bin) is raised to it, so each term is finite. An input
// whose every live row falls in a bin the reference never had then scores
// about (1 − 1e-4)·ln(1e4) ≈ 9.2.
const PSIFloor = 1e-4

// KSExactMaxN is the largest number of live values whose Kolmogorov–Smirnov
// p-value is computed exactly (Marsaglia, Tsang and Wang); above it the
// asymptotic Kolmogorov distribution is used.
const KSExactMaxN = 1000

// Input types of a FeatureReference and a FeatureDrift. The first two equal
// the feature package's Numeric and Categorical.
const (
	TypeNumeric     = "numeric"
	TypeCategorical = "categorical"
	TypePrediction  = "prediction" // the model's next-month hazard
)

// PredictionName names the prediction in a DriftReport.
const PredictionName = "next_month_hazard"

// Drift statuses, from best to worst: ok, too_few, warn, breach.
const (
	DriftOK     = "ok"      // no threshold crossed
	DriftTooFew = "too_few" // fewer live rows than DriftThresholds.MinCount: not judged
	DriftWarn   = "warn"    // PSI at or above PSIWarn, or a test's p-value below PValue
	DriftBreach = "breach"  // PSI at or above PSIBreach
)

// Kinds of DriftBin.
const (
	BinRange   = "range"   // a numeric interval (Lower, Upper]
	BinLevel   = "level"   // a reference level
	BinOther   = "other"   // live levels not in the reference
	BinMissing = "missing" // missing values
)

// Methods of a KSTest p-value.
const (
	KSExact      = "exact"      // Marsaglia–Tsang–Wang
	KSAsymptotic = "asymptotic" // Kolmogorov's limit distribution of √n·D
)

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

// DriftThresholds decide a FeatureDrift's status. Zero fields take the
// defaults of DefaultDriftThresholds.
type DriftThresholds struct {
	// PSIWarn and PSIBreach: a PSI at or above them warns or breaches.
	PSIWarn   float64 `json:"psi_warn"`
	PSIBreach float64 `json:"psi_breach"`
	// PValue: a test p-value below it warns (only for a test of at least
	// MinCount live values).
	PValue float64 `json:"p_value"`
	// TestMinPSI: a small p-value warns only when the PSI is at least
	// this, so that differences a large sample makes significant but that
	// move no bin's share materially raise no alarm (negative: no
	// minimum).
	TestMinPSI float64 `json:"test_min_psi"`
	// MinCount: an input with fewer live rows is too_few, not judged.
	MinCount int `json:"min_count"`
}

// DefaultDriftThresholds returns the usual PSI rule of thumb — below 0.1
// stable, 0.1 to 0.25 a moderate shift, 0.25 and above a major one — a
// p-value of 0.01 that counts when the PSI is at least 0.05, and at least
// 50 live rows.
func DefaultDriftThresholds() DriftThresholds {
	return DriftThresholds{PSIWarn: 0.1, PSIBreach: 0.25, PValue: 0.01, TestMinPSI: 0.05, MinCount: 50}
}

func (t DriftThresholds) withDefaults() DriftThresholds {
	d := DefaultDriftThresholds()
	if t.PSIWarn == 0 {
		t.PSIWarn = d.PSIWarn
	}
	if t.PSIBreach == 0 {
		t.PSIBreach = d.PSIBreach
	}
	if t.PValue == 0 {
		t.PValue = d.PValue
	}
	if t.TestMinPSI == 0 {
		t.TestMinPSI = d.TestMinPSI
	}
	if t.MinCount == 0 {
		t.MinCount = d.MinCount
	}
	return t
}

// DriftReport compares live rows with a ReferenceProfile.
type DriftReport struct {
	// Status is the worst of the inputs' and the prediction's statuses
	// (breach, then warn, then too_few, then ok).
	Status        string          `json:"status"`
	Rows          int             `json:"rows"`           // live rows (patients)
	ReferenceRows int             `json:"reference_rows"` // rows profiled in training
	Thresholds    DriftThresholds `json:"thresholds"`
	// Features are in the reference's order.
	Features []FeatureDrift `json:"features"`
	// Prediction compares the live next-month hazards with the fitted
	// ones; nil when no hazards were given or the reference has none.
	Prediction *FeatureDrift `json:"prediction,omitempty"`
}

// FeatureDrift is the drift of one input (or of the prediction).
type FeatureDrift struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"` // TypeNumeric, TypeCategorical or TypePrediction
	Status  string   `json:"status"`
	Reasons []string `json:"reasons,omitempty"` // the thresholds crossed, or why too_few
	Rows    int      `json:"rows"`              // live rows
	// Missing counts the live rows without a usable value: absent, null,
	// or (Invalid of them) a value of the wrong kind or not finite.
	Missing int `json:"missing"`
	Invalid int `json:"invalid,omitempty"`
	// PSI is the population stability index over Bins; nil without live
	// rows.
	PSI  *float64   `json:"psi"`
	Bins []DriftBin `json:"bins"`
	// KS is set for numeric inputs and the prediction with at least one
	// live value, ChiSquare for categorical inputs with a test to make.
	KS        *KSTest        `json:"ks,omitempty"`
	ChiSquare *ChiSquareTest `json:"chi_square,omitempty"`
	// Unseen lists the live levels not in the reference, commonest first
	// (at most 20 of them; OtherLevels counts them all).
	Unseen      []LevelCount `json:"unseen,omitempty"`
	OtherLevels int          `json:"other_levels,omitempty"`
}

// LevelCount is a category level and its live rows.
type LevelCount struct {
	Level string `json:"level"`
	Count int    `json:"count"`
}

// DriftBin is one PSI bin with both shares, ready to plot.
type DriftBin struct {
	Kind  string `json:"kind"` // BinRange, BinLevel, BinOther or BinMissing
	Label string `json:"label"`
	// Lower and Upper bound a BinRange: (Lower, Upper], nil for −∞ or +∞.
	Lower *float64 `json:"lower,omitempty"`
	Upper *float64 `json:"upper,omitempty"`
	// ReferenceShare and LiveShare are the shares of all rows (missing
	// included) that fall in the bin, before the PSIFloor.
	ReferenceShare float64 `json:"reference_share"`
	LiveShare      float64 `json:"live_share"`
	LiveCount      int     `json:"live_count"`
	// PSI is this bin's term of the index.
	PSI float64 `json:"psi"`
}

// KSTest is a one-sample Kolmogorov–Smirnov test against the reference
// distribution function.
type KSTest struct {
	N      int     `json:"n"`       // live values tested
	D      float64 `json:"d"`       // sup |F_live − F_reference|
	PValue float64 `json:"p_value"` // P(D_n ≥ D) for n values from the reference
	Method string  `json:"method"`  // KSExact or KSAsymptotic
}

// ChiSquareTest is a chi-square goodness-of-fit test of live level counts
// against the reference frequencies.
type ChiSquareTest struct {
	// N counts the live rows tested; Excluded those outside the
	// reference's support (unseen levels, and missing values when the
	// reference has none), which the PSI counts instead.
	N         int     `json:"n"`
	Excluded  int     `json:"excluded"`
	Statistic float64 `json:"statistic"`
	DF        int     `json:"df"`
	PValue    float64 `json:"p_value"`
	// Pooled names the cells merged into one because their expected count
	// was below 5 ("(missing)" for the missing cell).
	Pooled []string `json:"pooled,omitempty"`
}

// PSI returns the population stability index of live shares a against
// reference shares e (equal lengths), each share floored at PSIFloor.
func PSI(e, a []float64) float64 {
	s := 0.0
	for i := range e {
		s += psiTerm(e[i], a[i])
	}
	return s
}

func psiTerm(e, a float64) float64 {
	e, a = max(e, PSIFloor), max(a, PSIFloor)
	return (a - e) * math.Log(a/e)
}

// CompareToReference compares live rows with a reference profile. live
// holds one feature map per row (a missing key, an absent or a null value
// is a missing value; keys the reference does not know are ignored);
// hazards, when not nil, holds the model's next-month hazard for each row
// (NaN for a row the model could not score), compared with the fitted
// hazards of the reference. Zero thresholds take the defaults.
func CompareToReference(ref *ReferenceProfile, live []map[string]caresignal.Value, hazards []float64, th DriftThresholds) DriftReport {
	th = th.withDefaults()
	rep := DriftReport{Rows: len(live), ReferenceRows: ref.Rows, Thresholds: th, Status: DriftOK,
		Features: []FeatureDrift{}}
	vals := make([]caresignal.Value, len(live))
	for _, f := range ref.Features {
		for i, row := range live {
			vals[i] = row[f.Name]
		}
		var d FeatureDrift
		switch {
		case f.Numeric != nil:
			d = CompareNumeric(f.Name, f.Numeric, vals, th)
		case f.Categorical != nil:
			d = CompareCategorical(f.Name, f.Categorical, vals, th)
		default:
			continue
		}
		rep.Features = append(rep.Features, d)
		rep.Status = worseStatus(rep.Status, d.Status)
	}
	if hazards != nil && ref.Hazard != nil {
		d := CompareHazards(ref.Hazard, hazards, th)
		rep.Prediction = &d
		rep.Status = worseStatus(rep.Status, d.Status)
	}
	return rep
}

// driftStatusRank orders statuses from best to worst.
var driftStatusRank = map[string]int{DriftOK: 0, DriftTooFew: 1, DriftWarn: 2, DriftBreach: 3}

func worseStatus(a, b string) string {
	if driftStatusRank[b] > driftStatusRank[a] {
		return b
	}
	return a
}

// CompareNumeric compares the live values of a numeric input with its
// reference: PSI over the decile bins (see NumericReference.Cuts) and the
// KS test. A value that is not a finite number counts as missing (and as
// invalid).
func CompareNumeric(name string, ref *NumericReference, values []caresignal.Value, th DriftThresholds) FeatureDrift {
	d := FeatureDrift{Name: name, Type: TypeNumeric, Rows: len(values)}
	xs := make([]float64, 0, len(values))
	for _, v := range values {
		switch {
		case v.Missing():
			d.Missing++
		case !v.Finite():
			d.Missing++
			d.Invalid++
		default:
			xs = append(xs, v.Num)
		}
	}
	compareNumbers(&d, ref, xs, th.withDefaults())
	return d
}

// CompareHazards compares live next-month hazards with the fitted ones, as
// CompareNumeric does an input; a hazard that is NaN or outside [0, 1]
// counts as missing and invalid.
func CompareHazards(ref *NumericReference, hazards []float64, th DriftThresholds) FeatureDrift {
	d := FeatureDrift{Name: PredictionName, Type: TypePrediction, Rows: len(hazards)}
	xs := make([]float64, 0, len(hazards))
	for _, h := range hazards {
		if h >= 0 && h <= 1 {
			xs = append(xs, h)
		} else {
			d.Missing++
			d.Invalid++
		}
	}
	compareNumbers(&d, ref, xs, th.withDefaults())
	return d
}

// compareNumbers fills the bins, PSI, KS test and status of d from the
// non-missing live values xs (d.Rows and d.Missing already set).
func compareNumbers(d *FeatureDrift, ref *NumericReference, xs []float64, th DriftThresholds) {
	if ref.N == 0 || len(ref.Percentiles) != ReferencePoints {
		d.Status = DriftTooFew
		d.Reasons = []string{"the reference has no values of this input"}
		d.Bins = []DriftBin{}
		return
	}
	slices.Sort(xs)
	cuts := ref.Cuts()
	refTotal := float64(ref.N + ref.Missing)
	present := float64(ref.N) / refTotal // the reference's non-missing share
	counts := make([]int, len(cuts)+1)
	for _, x := range xs {
		counts[sort.SearchFloat64s(cuts, x)]++ // the first cut ≥ x closes x's bin
	}
	for i := range counts {
		b := DriftBin{Kind: BinRange, LiveCount: counts[i]}
		lo, hi := 0.0, 1.0
		if i > 0 {
			b.Lower = &cuts[i-1]
			lo = ref.ReferenceCDF(cuts[i-1])
		}
		if i < len(cuts) {
			b.Upper = &cuts[i]
			hi = ref.ReferenceCDF(cuts[i])
		}
		b.ReferenceShare = (hi - lo) * present
		b.Label = rangeLabel(b.Lower, b.Upper)
		d.Bins = append(d.Bins, b)
	}
	if d.Missing > 0 || ref.Missing > 0 {
		d.Bins = append(d.Bins, DriftBin{Kind: BinMissing, Label: "missing", LiveCount: d.Missing,
			ReferenceShare: float64(ref.Missing) / refTotal})
	}
	finishPSI(d)
	if len(xs) > 0 {
		ks := KSOneSample(xs, ref)
		d.KS = &ks
	}
	d.Status, d.Reasons = judgeDrift(d, th)
}

// rangeLabel writes (lo, hi] with four significant digits: "≤ 3", "(3, 7.5]",
// "> 7.5".
func rangeLabel(lo, hi *float64) string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }
	switch {
	case lo == nil && hi == nil:
		return "all values"
	case lo == nil:
		return "≤ " + f(*hi)
	case hi == nil:
		return "> " + f(*lo)
	}
	return "(" + f(*lo) + ", " + f(*hi) + "]"
}

// finishPSI sets the live shares of d's bins (over d.Rows) and the PSI.
func finishPSI(d *FeatureDrift) {
	if d.Rows == 0 {
		return
	}
	psi := 0.0
	for i := range d.Bins {
		b := &d.Bins[i]
		b.LiveShare = float64(b.LiveCount) / float64(d.Rows)
		b.PSI = psiTerm(b.ReferenceShare, b.LiveShare)
		psi += b.PSI
	}
	d.PSI = &psi
}

// judgeDrift returns a status and its reasons from the PSI and the tests.
func judgeDrift(d *FeatureDrift, th DriftThresholds) (string, []string) {
	if d.Rows < th.MinCount {
		return DriftTooFew, []string{fmt.Sprintf("%d live rows, fewer than the %d needed", d.Rows, th.MinCount)}
	}
	status, reasons := DriftOK, []string(nil)
	if d.PSI != nil {
		switch psi := *d.PSI; {
		case psi >= th.PSIBreach:
			status = DriftBreach
			reasons = append(reasons, fmt.Sprintf("PSI %.3f is at or above the breach threshold %g", psi, th.PSIBreach))
		case psi >= th.PSIWarn:
			status = DriftWarn
			reasons = append(reasons, fmt.Sprintf("PSI %.3f is at or above the warning threshold %g", psi, th.PSIWarn))
		}
	}
	material := d.PSI != nil && *d.PSI >= th.TestMinPSI
	if ks := d.KS; ks != nil && ks.N >= th.MinCount && ks.PValue < th.PValue && material {
		status = worseStatus(status, DriftWarn)
		reasons = append(reasons, fmt.Sprintf("Kolmogorov–Smirnov D = %.3f on %d values, p = %.2g below %g", ks.D, ks.N, ks.PValue, th.PValue))
	}
	if c := d.ChiSquare; c != nil && c.N >= th.MinCount && c.PValue < th.PValue && material {
		status = worseStatus(status, DriftWarn)
		reasons = append(reasons, fmt.Sprintf("chi-square %.1f on %d df over %d rows, p = %.2g below %g", c.Statistic, c.DF, c.N, c.PValue, th.PValue))
	}
	return status, reasons
}

// CompareCategorical compares the live values of a categorical input with
// its reference: PSI over one bin per reference level, an "other" bin for
// unseen levels and a missing bin, and the chi-square goodness-of-fit test.
//
// The chi-square test is of the live rows inside the reference's support —
// its levels, and missing values when the reference has any — against the
// reference frequencies renormalised to that support; the rows outside it
// have probability zero under the reference, would make the statistic
// infinite, and are counted as Excluded and left to the PSI, whose other
// and missing bins measure them. Cells whose expected count is below 5 are
// pooled into one; if that cell still expects fewer than 5 it is merged
// with the remaining cell of smallest expected count (the last such in bin
// order). The test has (cells − 1) degrees of freedom; with one cell there
// is no test.
func CompareCategorical(name string, ref *CategoricalReference, values []caresignal.Value, th DriftThresholds) FeatureDrift {
	th = th.withDefaults()
	d := FeatureDrift{Name: name, Type: TypeCategorical, Rows: len(values)}
	levels := ref.levels()
	live := map[string]int{}
	unseen := map[string]int{}
	for _, v := range values {
		if v.Missing() {
			d.Missing++
			continue
		}
		l := v.String()
		if _, ok := ref.Counts[l]; ok {
			live[l]++
		} else {
			unseen[l]++
			d.OtherLevels++
		}
	}
	refTotal := float64(ref.N() + ref.Missing)
	if refTotal == 0 {
		d.Status = DriftTooFew
		d.Reasons = []string{"the reference has no rows of this input"}
		d.Bins = []DriftBin{}
		return d
	}
	for _, l := range levels {
		d.Bins = append(d.Bins, DriftBin{Kind: BinLevel, Label: l, LiveCount: live[l],
			ReferenceShare: float64(ref.Counts[l]) / refTotal})
	}
	if d.OtherLevels > 0 {
		d.Bins = append(d.Bins, DriftBin{Kind: BinOther, Label: "other", LiveCount: d.OtherLevels})
		for l, c := range unseen {
			d.Unseen = append(d.Unseen, LevelCount{Level: l, Count: c})
		}
		slices.SortFunc(d.Unseen, func(a, b LevelCount) int {
			if c := cmp.Compare(b.Count, a.Count); c != 0 {
				return c
			}
			return cmp.Compare(a.Level, b.Level)
		})
		d.Unseen = d.Unseen[:min(len(d.Unseen), 20)]
	}
	if d.Missing > 0 || ref.Missing > 0 {
		d.Bins = append(d.Bins, DriftBin{Kind: BinMissing, Label: "missing", LiveCount: d.Missing,
			ReferenceShare: float64(ref.Missing) / refTotal})
	}
	finishPSI(&d)

	// The chi-square cells: the reference's support, in bin order.
	var cells []chiCell
	for _, b := range d.Bins {
		switch {
		case b.Kind == BinLevel:
			cells = append(cells, chiCell{names: []string{b.Label}, obs: float64(b.LiveCount), p: b.ReferenceShare})
		case b.Kind == BinMissing && ref.Missing > 0:
			cells = append(cells, chiCell{names: []string{"(missing)"}, obs: float64(b.LiveCount), p: b.ReferenceShare})
		}
	}
	d.ChiSquare = chiSquareCells(cells, d.Rows)
	d.Status, d.Reasons = judgeDrift(&d, th)
	return d
}

type chiCell struct {
	names []string
	obs   float64
	p     float64 // reference share of all rows
}

// chiSquareCells pools and tests the cells (see CompareCategorical); nil
// when there are no rows in the support or only one cell is left.
func chiSquareCells(cells []chiCell, rows int) *ChiSquareTest {
	in, support := 0.0, 0.0
	for _, c := range cells {
		in += c.obs
		support += c.p
	}
	t := &ChiSquareTest{N: int(in), Excluded: rows - int(in)}
	if in == 0 || len(cells) < 2 {
		return nil
	}
	exp := func(c chiCell) float64 { return in * c.p / support }
	var kept []chiCell
	var pooled *chiCell
	for _, c := range cells {
		if exp(c) >= 5 {
			kept = append(kept, c)
			continue
		}
		if pooled == nil {
			pooled = &chiCell{}
		}
		pooled.names = append(pooled.names, c.names...)
		pooled.obs += c.obs
		pooled.p += c.p
	}
	if pooled != nil {
		if exp(*pooled) < 5 && len(kept) > 0 {
			s := 0
			for i := range kept {
				if exp(kept[i]) <= exp(kept[s]) {
					s = i
				}
			}
			pooled.names = append(pooled.names, kept[s].names...)
			pooled.obs += kept[s].obs
			pooled.p += kept[s].p
			kept = slices.Delete(kept, s, s+1)
		}
		kept = append(kept, *pooled)
		t.Pooled = pooled.names
	}
	if len(kept) < 2 {
		return nil
	}
	obs, want := make([]float64, len(kept)), make([]float64, len(kept))
	for i, c := range kept {
		obs[i], want[i] = c.obs, exp(c)
	}
	t.Statistic, t.DF, t.PValue = ChiSquareGOF(obs, want)
	return t
}

// ChiSquareGOF returns Pearson's statistic Σ (o − e)²/e of observed counts
// against expected counts (all expected above zero, with equal totals), its
// degrees of freedom (cells − 1) and its upper-tail p-value under the
// chi-square distribution (gonum's distuv.ChiSquared).
func ChiSquareGOF(observed, expected []float64) (stat float64, df int, p float64) {
	for i, o := range observed {
		stat += (o - expected[i]) * (o - expected[i]) / expected[i]
	}
	df = len(observed) - 1
	if df < 1 {
		return stat, df, 1
	}
	return stat, df, distuv.ChiSquared{K: float64(df)}.Survival(stat)
}

// KSOneSample tests whether sorted (ascending, finite, not empty) could be
// a sample from the reference distribution. D is the largest distance
// between the live empirical distribution function and the reference one:
// max over the sorted values x_(i) of i/n − F(x_(i)) and F(x_(i)−) − (i−1)/n,
// with the left limit F(x−) so that values sitting on a jump of F (a value
// common in the reference) are not counted against it. The p-value treats
// F as continuous and exactly known: P(D_n ≥ D) under Kolmogorov's
// distribution, exact (Marsaglia–Tsang–Wang) for n up to KSExactMaxN and
// asymptotic beyond. Where F has jumps the test is conservative.
func KSOneSample(sorted []float64, ref *NumericReference) KSTest {
	n := len(sorted)
	fn := float64(n)
	dist := 0.0
	for i, x := range sorted {
		dist = max(dist, float64(i+1)/fn-ref.ReferenceCDF(x), ref.ReferenceCDFLeft(x)-float64(i)/fn)
	}
	p, method := KSPValue(n, dist)
	return KSTest{N: n, D: dist, PValue: p, Method: method}
}

// KSPValue returns P(D_n ≥ d), the p-value of a two-sided one-sample
// Kolmogorov–Smirnov statistic d from n values, and the method used.
//
// For n up to KSExactMaxN it is exact, by the algorithm of Marsaglia, Tsang
// and Wang (2003), accurate to about 1e-13 absolute — except in the far
// tail, where the algorithm's matrix would be larger than 199×199 (n·d ≥
// 100, so d²n ≥ 10 and the p-value is below 1e-8): there it is the tail
// formula published with the algorithm,
// 2·exp(−(2.000071 + 0.331/√n + 1.409/n)·d²n), whose absolute error is
// below 1e-9 and relative error a few percent.
//
// Above KSExactMaxN it is Kolmogorov's limit distribution of √n·d, as
// scipy.stats.kstwobign gives it; its error shrinks like 1/√n (about 1e-3
// near p = 0.05 for n = 1000).
func KSPValue(n int, d float64) (float64, string) {
	if n <= 0 {
		return 1, KSExact
	}
	if n <= KSExactMaxN {
		return kolmogorovSF(n, d), KSExact
	}
	return KolmogorovSurvival(math.Sqrt(float64(n)) * d), KSAsymptotic
}

// KolmogorovSurvival returns P(K > λ) for Kolmogorov's distribution K, the
// limit of √n·D_n: 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²λ²), or for small λ the
// complement of √(2π)/λ · Σ_{k≥1} exp(−(2k−1)²π²/(8λ²)), whichever
// converges faster.
func KolmogorovSurvival(lambda float64) float64 {
	if !(lambda > 0) {
		return 1
	}
	if lambda < 1 {
		s := 0.0
		for k := 1; k <= 20; k++ {
			t := float64(2*k - 1)
			s += math.Exp(-t * t * math.Pi * math.Pi / (8 * lambda * lambda))
		}
		return 1 - math.Sqrt(2*math.Pi)/lambda*s
	}
	s := 0.0
	for k := 1; k <= 100; k++ {
		t := math.Exp(-2 * float64(k*k) * lambda * lambda)
		if k%2 == 1 {
			s += t
		} else {
			s -= t
		}
		if t < 1e-300 {
			break
		}
	}
	return min(max(2*s, 0), 1)
}

// ksMaxK bounds the matrix of the exact Kolmogorov distribution: with
// k = ⌊n·d⌋ + 1 above it the tail formula is used (see KSPValue).
const ksMaxK = 100

// kolmogorovSF returns P(D_n ≥ d) = 1 − P(D_n < d), the latter by
// Marsaglia, Tsang and Wang, "Evaluating Kolmogorov's distribution",
// Journal of Statistical Software 8(18), 2003: n!/nⁿ times the (k, k)
// element of Hⁿ, H an m×m matrix, m = 2k − 1, k = ⌊n·d⌋ + 1. The paper
// raises H to the n-th power by squaring; here Hⁿe_k is built by n
// products with a vector, which costs n·m²/2 (H is zero above its first
// superdiagonal) rather than about 2·log₂(n)·m³, with the vector's decimal
// exponent tracked apart to avoid overflow, as the paper does for the
// matrix. For k above ksMaxK it returns the paper's tail formula.
func kolmogorovSF(n int, d float64) float64 {
	if d <= 0 {
		return 1
	}
	if d >= 1 {
		return 0
	}
	fn := float64(n)
	k := int(fn*d) + 1
	if k > ksMaxK {
		return min(2*math.Exp(-(2.000071+0.331/math.Sqrt(fn)+1.409/fn)*d*d*fn), 1)
	}
	m := 2*k - 1
	h := float64(k) - fn*d
	// H[i][j] = 1/(i−j+1)! for j ≤ i+1, 0 above; then the first column
	// and the last row are corrected for the partial interval h.
	H := make([]float64, m*m)
	for i := range m {
		f := 1.0 // 1/(i−j+1)! for j from i+1 down to 0
		for j := i + 1; j >= 0; j-- {
			if j < m {
				H[i*m+j] = f
			}
			f /= float64(i - j + 2)
		}
	}
	fact := 1.0 // (i+1)!
	for i := range m {
		fact *= float64(i + 1)
		H[i*m] -= math.Pow(h, float64(i+1)) / fact
	}
	fact = 1.0 // (m−i)!, i from m−1 down to 0
	for i := m - 1; i >= 0; i-- {
		fact *= float64(m - i)
		H[(m-1)*m+i] -= math.Pow(h, float64(m-i)) / fact
	}
	if 2*h-1 > 0 {
		H[(m-1)*m] += math.Pow(2*h-1, float64(m)) / fact // fact is m! here
	}
	v, w := make([]float64, m), make([]float64, m)
	v[k-1] = 1
	e := 0 // v·10^e is Hᵗe_k
	for range n {
		for i := range m {
			s := 0.0
			for j, x := range H[i*m : i*m+min(i+2, m)] {
				s += x * v[j]
			}
			w[i] = s
		}
		v, w = w, v
		if v[k-1] > 1e140 || slices.Max(v) > 1e140 {
			for i := range v {
				v[i] *= 1e-140
			}
			e += 140
		}
	}
	s := v[k-1]
	for i := 1; i <= n; i++ {
		s = s * float64(i) / fn
		if s < 1e-140 {
			s *= 1e140
			e -= 140
		}
	}
	return min(max(1-s*math.Pow(10, float64(e)), 0), 1)
}
