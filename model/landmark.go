package model

import (
	"fmt"
	"strconv"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/survival"
)

// Horizon models: how a model predicts the months after the next.
const (
	// HorizonCarryForward predicts every future month with the one set of
	// coefficients fitted on person-period rows, the time-varying features
	// carried forward at their current values (the model without a
	// horizon_model member in its artifact).
	HorizonCarryForward = "carry-forward"
	// HorizonLandmark fits the hazard of month t+k on the features known
	// at the start of month t directly, with terms of its own per lag k
	// (grouped), so that a prediction k months ahead uses what today's
	// features say about that month.
	HorizonLandmark = "landmark"
)

// Landmark describes the lags of a landmark (direct multi-horizon) model.
//
// Its linear predictor for month t+k of a patient whose features at the
// start of month t are x is
//
//	η(t, k) = α(t+k) + γ_g + β_gᵀx,   g = the lag group of k,
//
// with α the spec's months-enrolled baseline (fitted, pooled and named as
// a carry-forward model's), γ_0 = 0 and β_0 the coefficients of the month
// in progress. The lag groups are runs of lags, in order, each closed once
// it has MinEvents drop-offs and a row without one; a sparse run at the
// end joins the group before it, and lags past the last fitted one are
// scored as it.
type Landmark struct {
	Type string `json:"type"` // HorizonLandmark
	// Lags is the number of lags stacked in training, 0..Lags−1.
	Lags int `json:"lags"`
	// Starts are the first lags of the groups: group g covers lags
	// Starts[g]..Starts[g+1]−1, the last one every later lag.
	Starts []int `json:"lag_starts"`
	// MinEvents is the fewest drop-offs a lag group needed.
	MinEvents int `json:"min_events"`
	// LagRows and LagEvents count the stacked training rows and their
	// drop-offs per lag 0..len−1 (lags no patient reached are absent).
	LagRows   []int `json:"lag_rows"`
	LagEvents []int `json:"lag_events"`
	// Variance says where the standard errors come from.
	Variance string `json:"variance"`

	// The full coefficient vector of the stacked design, its standard
	// errors and covariance (the model's Coef, StdErr and Cov are the
	// first Width() of them: the month in progress).
	coef, stdErr, cov []float64
	// lagEta[g] are group g's feature columns' coefficients in the
	// positions of the spec's design (baseline positions zero), and
	// gamma[g] its lag term.
	lagCoef [][]float64
	gamma   []float64
	columns []string
}

// VarianceClusterRobust names the landmark models' standard errors.
const VarianceClusterRobust = "cluster-robust by patient (sandwich)"

// Groups returns the number of lag groups.
func (l *Landmark) Groups() int { return len(l.Starts) }

// group returns the lag group of lag k (k ≥ 0).
func (l *Landmark) group(k int) int {
	g := 0
	for g+1 < len(l.Starts) && l.Starts[g+1] <= k {
		g++
	}
	return g
}

// groupName names lag group g as the baseline names its months: "lag_1",
// "lags_3-5", "lag_11+" or "lags_6+" for the last.
func (l *Landmark) groupName(g int) string {
	s := l.Starts[g]
	last := len(l.LagRows) - 1
	switch {
	case g == len(l.Starts)-1 && s < last:
		return "lags_" + strconv.Itoa(s) + "+"
	case g == len(l.Starts)-1:
		return "lag_" + strconv.Itoa(s) + "+"
	case l.Starts[g+1] == s+1:
		return "lag_" + strconv.Itoa(s)
	}
	return fmt.Sprintf("lags_%d-%d", s, l.Starts[g+1]-1)
}

// Describe says in words what the lags are.
func (l *Landmark) Describe() string {
	var groups string
	for g := range l.Starts {
		if g > 0 {
			groups += ", "
		}
		lo, hi := l.Starts[g], len(l.LagRows)-1
		if g+1 < len(l.Starts) {
			hi = l.Starts[g+1] - 1
		}
		if lo == hi {
			groups += strconv.Itoa(lo)
		} else {
			groups += fmt.Sprintf("%d–%d", lo, hi)
		}
	}
	return fmt.Sprintf("landmark: the hazard of month t+k from the features at the start of month t, lags 0–%d fitted in %d groups (%s) with a term and coefficients each; later lags scored as lag %d", len(l.LagRows)-1, len(l.Starts), groups, len(l.LagRows)-1)
}

// columnNames names the stacked design's columns: the spec's columns
// (baseline, then the month in progress's features), then for each later
// lag group its term and its features, "lags_3-5" and "lags_3-5:age".
func (l *Landmark) columnNames(ft *feature.Fitted) []string {
	names := append([]string(nil), ft.Columns...)
	bw := ft.Baseline.Width()
	for g := 1; g < len(l.Starts); g++ {
		name := l.groupName(g)
		names = append(names, name)
		for _, c := range ft.Columns[bw:] {
			names = append(names, name+":"+c)
		}
	}
	return names
}

// offset returns the first column of group g ≥ 1 (its lag term) in the
// stacked design.
func landmarkOffset(ft *feature.Fitted, g int) int {
	w, f := ft.Width(), ft.Width()-ft.Baseline.Width()
	return w + (g-1)*(1+f)
}

// check verifies decoded lags against the fitted features.
func (l *Landmark) check() error {
	if l.Type != HorizonLandmark {
		return fmt.Errorf("unknown horizon model %q", l.Type)
	}
	if l.Lags < 1 || l.Lags > caresignal.MaxHorizon || len(l.LagRows) < 1 || len(l.LagRows) > l.Lags || len(l.LagEvents) != len(l.LagRows) {
		return fmt.Errorf("landmark lags %d with %d row counts and %d event counts", l.Lags, len(l.LagRows), len(l.LagEvents))
	}
	if len(l.Starts) == 0 || l.Starts[0] != 0 {
		return fmt.Errorf("landmark lag groups %v do not start at lag 0", l.Starts)
	}
	for g := 1; g < len(l.Starts); g++ {
		if l.Starts[g] <= l.Starts[g-1] || l.Starts[g] >= len(l.LagRows) {
			return fmt.Errorf("landmark lag groups %v are not increasing within lags 0..%d", l.Starts, len(l.LagRows)-1)
		}
	}
	return nil
}

// setCoefficients keeps the full coefficient vector and derives each lag
// group's coefficients in the spec's design positions; it returns the
// first ft.Width() coefficients, standard errors and their covariance.
func (l *Landmark) setCoefficients(ft *feature.Fitted, coef, se, cov []float64) (c0, se0, cov0 []float64) {
	w, bw := ft.Width(), ft.Baseline.Width()
	k := len(coef)
	l.coef, l.stdErr, l.cov = coef, se, cov
	l.columns = l.columnNames(ft)
	l.lagCoef = make([][]float64, len(l.Starts))
	l.gamma = make([]float64, len(l.Starts))
	for g := range l.Starts {
		c := make([]float64, w)
		copy(c[:bw], coef[:bw])
		if g == 0 {
			copy(c[bw:], coef[bw:w])
		} else {
			off := landmarkOffset(ft, g)
			l.gamma[g] = coef[off]
			copy(c[bw:], coef[off+1:off+1+w-bw])
		}
		l.lagCoef[g] = c
	}
	c0, se0 = coef[:w:w], se[:w:w]
	cov0 = make([]float64, w*w)
	for i := range w {
		copy(cov0[i*w:(i+1)*w], cov[i*k:i*k+w])
	}
	return c0, se0, cov0
}

// landmarkGroups returns the first lags of the lag groups: lags in order,
// a group closed once it has minEvents drop-offs and a row without one, a
// sparse run at the end joining the group before it.
func landmarkGroups(rows, events []int, minEvents int) []int {
	var starts []int
	start, ev, n := 0, 0, 0
	for k := range rows {
		ev, n = ev+events[k], n+rows[k]
		if ev >= minEvents && n > ev {
			starts = append(starts, start)
			start, ev, n = k+1, 0, 0
		}
	}
	if len(starts) == 0 {
		starts = []int{0}
	}
	return starts
}

// LandmarkRow is one row of the stacked landmark design: the features of
// person-period row Landmark (month t of a patient) with the month and
// outcome of row Target (month t+Lag of the same patient).
type LandmarkRow struct {
	Landmark, Target, Lag int
}

// LandmarkRows stacks a person-period extract for a landmark fit: for every
// row (a patient at risk at the start of month t) and every lag k in
// 0..lags−1, a row for month t+k when the patient has a row for it — still
// at risk at its start, with its outcome known — and for every month in
// between. A patient's rows must be adjacent (as extracts hold them); a
// gap in a patient's months ends the lags that would cross it.
func LandmarkRows(x *caresignal.Extract, lags int) []LandmarkRow {
	var out []LandmarkRow
	for lo := 0; lo < len(x.Rows); {
		hi := lo + 1
		for hi < len(x.Rows) && x.Rows[hi].PatientID == x.Rows[lo].PatientID {
			hi++
		}
		byMonth := make(map[int]int, hi-lo)
		for i := lo; i < hi; i++ {
			byMonth[x.Rows[i].Month] = i
		}
		for i := lo; i < hi; i++ {
			t := x.Rows[i].Month
			for k := range lags {
				j, ok := byMonth[t+k]
				if !ok {
					break
				}
				out = append(out, LandmarkRow{Landmark: i, Target: j, Lag: k})
				if x.Rows[j].Event {
					break
				}
			}
		}
		lo = hi
	}
	return out
}

// landmarkDesign is a stacked landmark design with what its fit needs.
type landmarkDesign struct {
	prob    survival.Problem
	cluster []int // patient of each stacked row (an index)
	fold    []int // cross-validation fold of each stacked row
	lm      *Landmark
}

// stackLandmark builds the stacked design from the spec's design of the
// person-period rows x (d, one row each, baseline of its own month).
func stackLandmark(ft *feature.Fitted, x *caresignal.Extract, d *feature.DesignMatrix, lags int, folds []int) (*landmarkDesign, error) {
	rows := LandmarkRows(x, lags)
	lm := &Landmark{Type: HorizonLandmark, Lags: lags, Variance: VarianceClusterRobust}
	for _, r := range rows {
		for len(lm.LagRows) <= r.Lag {
			lm.LagRows, lm.LagEvents = append(lm.LagRows, 0), append(lm.LagEvents, 0)
		}
		lm.LagRows[r.Lag]++
		if x.Rows[r.Target].Event {
			lm.LagEvents[r.Lag]++
		}
	}
	w, bw := ft.Width(), ft.Baseline.Width()
	nf := w - bw
	lm.MinEvents = max(10, 10*nf)
	lm.Starts = landmarkGroups(lm.LagRows, lm.LagEvents, lm.MinEvents)
	ld := &landmarkDesign{lm: lm, cluster: make([]int, len(rows)), fold: make([]int, len(rows))}
	width := w + (len(lm.Starts)-1)*(1+nf)
	names := lm.columnNames(ft)
	if len(names) != width {
		return nil, fmt.Errorf("landmark design: %d names for %d columns", len(names), width)
	}
	patient := make([]int, len(x.Rows))
	for i := 1; i < len(x.Rows); i++ {
		patient[i] = patient[i-1]
		if x.Rows[i].PatientID != x.Rows[i-1].PatientID {
			patient[i]++
		}
	}
	X := survival.NewMatrix(width, len(rows), nf+1+bw)
	y := make([]float64, len(rows))
	base := make([]float64, bw)
	for s, r := range rows {
		clear(base)
		ft.Baseline.Set(x.Rows[r.Target].Month, base)
		for j, v := range base {
			if v != 0 {
				X.Idx, X.Val = append(X.Idx, int32(j)), append(X.Val, v)
			}
		}
		g := lm.group(r.Lag)
		shift := 0
		if g > 0 {
			off := landmarkOffset(ft, g)
			X.Idx, X.Val = append(X.Idx, int32(off)), append(X.Val, 1)
			shift = off + 1 - bw
		}
		for e := d.X.RowPtr[r.Landmark]; e < d.X.RowPtr[r.Landmark+1]; e++ {
			if c := int(d.X.Idx[e]); c >= bw {
				X.Idx, X.Val = append(X.Idx, int32(c+shift)), append(X.Val, d.X.Val[e])
			}
		}
		X.RowPtr = append(X.RowPtr, len(X.Idx))
		y[s] = d.Y[r.Target]
		ld.cluster[s] = patient[r.Landmark]
		if folds != nil {
			ld.fold[s] = folds[r.Landmark]
		}
	}
	penalised := make([]bool, width)
	for j := bw; j < w; j++ {
		penalised[j] = true
	}
	for g := 1; g < len(lm.Starts); g++ {
		off := landmarkOffset(ft, g)
		for j := off + 1; j <= off+nf; j++ {
			penalised[j] = true
		}
	}
	// No reference levels are passed for the separation check before the
	// fit: a block's reference level is not the rows where its siblings are
	// zero (every other lag group's rows are zero there too). A separation
	// by one is still caught after the fit (fitted hazards of 0 or 1).
	ld.prob = survival.Problem{X: X, Y: y, Penalised: penalised, Names: names}
	return ld, nil
}
