package eval

import (
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

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
