package eval

import "math"

// PSIFloor is the smallest share a PSI term uses: a live or reference share
// below it (an empty bin) is raised to it, so each term is finite. An input
// whose every live row falls in a bin the reference never had then scores
// about (1 − 1e-4)·ln(1e4) ≈ 9.2.
const PSIFloor = 1e-4

// Kinds of DriftBin.
const (
	BinRange   = "range"   // a numeric interval (Lower, Upper]
	BinLevel   = "level"   // a reference level
	BinOther   = "other"   // live levels not in the reference
	BinMissing = "missing" // missing values
)

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
