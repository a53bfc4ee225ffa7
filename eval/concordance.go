package eval

import (
	"cmp"
	"math"
	"slices"
)

// RiskScores returns the risk score of each patient used by the concordance
// indices: r_i = −Σ_{t=1..H} S_i(t), minus the expected number of months
// 1..H that the patient completes still engaged (the restricted mean over the
// horizon, counted in completed months). A higher score means fewer expected
// months. The sum runs over t = 1..H in that order, starting from 0.
func RiskScores(surv [][]float64) []float64 {
	r := make([]float64, len(surv))
	for i, row := range surv {
		var s float64
		for _, v := range row {
			s += v
		}
		r[i] = -s
	}
	return r
}

// concordance holds the pair counts of a concordance index. For Harrell's
// index every pair counts 1; for Uno's, a pair counts the weight of its
// shorter time.
type concordance struct {
	concordant float64 // comparable pairs whose shorter time has the higher risk
	discordant float64 // comparable pairs whose shorter time has the lower risk
	tiedRisk   float64 // comparable pairs with equal risk scores
}

// value returns (concordant + tiedRisk/2) / (concordant + discordant +
// tiedRisk), or NaN without comparable pairs.
func (c concordance) value() float64 {
	den := c.concordant + c.discordant + c.tiedRisk
	if den == 0 {
		return math.NaN()
	}
	return (c.concordant + c.tiedRisk/2) / den
}

// concordances computes Harrell's and Uno's concordance indices of risk
// scores against outcomes in one pass, in O(n log n).
//
// A pair (i, j) is comparable when patient i had an event and either
// T_i < T_j, or T_i = T_j and j was censored (a censored patient counts as
// lasting longer than an event at the same time). Pairs tied in time with both
// events, and pairs whose shorter time is censored, are not comparable. A
// comparable pair is concordant when r_i > r_j, discordant when r_i < r_j,
// and tied in risk when r_i = r_j, which counts one half:
//
//	C = (concordant + tied/2) / (concordant + discordant + tied).
//
// Harrell's index counts every comparable pair once. This equals R's
// survival::concordance(Surv(time, event) ~ r, reverse = TRUE).
//
// Uno's index weights each comparable pair by w_i = 1/G(T_i−)², the censoring
// survival (CensoringKM) just before the shorter time, and keeps only pairs
// whose shorter time satisfies T_i ≤ tau. Uno et al. (2011) write T_i < τ; the
// inclusive bound is R's: survival::concordance(..., timewt = "n/G2",
// ymax = tau) gives zero weight only to event times > ymax. With tau itself
// an event time (the default in EvaluateSurvival) the two readings differ.
// Since G(T_i−) > 0 for every event time, the weights are finite.
//
// Times are equal only when exactly equal. R's concordance first merges
// times that differ by rounding error (aeqSurv); for whole months, or any
// times read from the same source, the two agree.
//
// The patients are visited from the longest time to the shortest while a
// Fenwick tree over the ranks of the risk scores counts those already passed:
// at each distinct time the censored patients are added first, then each
// patient with an event there is compared with the tree, then those patients
// are added.
func concordances(obs []Outcome, risk []float64, g KMCurve, tau float64) (harrell, uno concordance) {
	n := len(obs)
	if n == 0 {
		return
	}
	// Ranks 1..m of the distinct risk scores.
	sorted := slices.Clone(risk)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	rank := make([]int, n)
	for i, r := range risk {
		k, _ := slices.BinarySearch(sorted, r)
		rank[i] = k + 1
	}
	tree := make([]int64, len(sorted)+1)
	add := func(k int) {
		for ; k < len(tree); k += k & -k {
			tree[k]++
		}
	}
	prefix := func(k int) int64 { // number added with rank ≤ k
		var s int64
		for ; k > 0; k -= k & -k {
			s += tree[k]
		}
		return s
	}

	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(obs[b].Time, obs[a].Time) })

	var conc, disc, tied int64
	var added int64
	for i := 0; i < n; {
		t := obs[idx[i]].Time
		j := i
		for j < n && obs[idx[j]].Time == t {
			j++
		}
		group := idx[i:j]
		for _, p := range group {
			if !obs[p].Event {
				add(rank[p])
				added++
			}
		}
		var w float64
		if t <= tau {
			gl := g.Before(t)
			w = 1 / (gl * gl)
		}
		for _, p := range group {
			if !obs[p].Event {
				continue
			}
			less := prefix(rank[p] - 1)
			eq := prefix(rank[p]) - less
			more := added - less - eq
			conc += less
			tied += eq
			disc += more
			if w > 0 {
				uno.concordant += w * float64(less)
				uno.tiedRisk += w * float64(eq)
				uno.discordant += w * float64(more)
			}
		}
		for _, p := range group {
			if obs[p].Event {
				add(rank[p])
				added++
			}
		}
		i = j
	}
	harrell = concordance{concordant: float64(conc), discordant: float64(disc), tiedRisk: float64(tied)}
	return harrell, uno
}
