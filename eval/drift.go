package eval

// This file and those beside it hold drift statistics: how far the inputs a
// model now receives, and the hazards it now predicts, have moved from those
// of its training rows. This file has the report and its thresholds;
// reference.go and percentiles.go the training profile, psi.go the
// population stability index, compare.go the comparisons, kolmogorov.go and
// chisquare.go the two tests. The training side is a ReferenceProfile —
// percentiles of each numeric input, level counts of each categorical one,
// percentiles of the fitted next-month hazard — stored in the model
// artifact; the live side is one feature map per patient scored and,
// optionally, the next-month hazard predicted for each.
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
