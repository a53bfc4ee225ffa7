package eval

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/caresignal/caresignal"
)

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
