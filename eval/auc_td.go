package eval

import (
	"math"
	"slices"
	"sort"
)

// timeDependentAUC returns the cumulative/dynamic AUC at month t (Uno et al.
// 2007; Hung and Chiang 2010): the probability that a patient who dropped off
// by t has a higher marker than one still engaged after t, estimated with
// inverse-probability-of-censoring weights.
//
// The marker is the predicted probability of having dropped off by t,
// m_i = 1 − S_i(t). Cases are the patients with an event at T_i ≤ t, each
// weighted by 1/G(T_i−) (G from CensoringKM, left limit at the patient's own
// time); controls are the patients with T_j > t, each weighted by 1/G(t), a
// common factor that cancels. Patients censored at or before t are neither.
//
//	AUC(t) = Σ_i Σ_j w_i [1{m_i > m_j} + ½·1{m_i = m_j}] / Σ_i Σ_j w_i
//
// over cases i and controls j. This is what R's
// riskRegression::Score(..., metrics = "auc", cens.model = "km") and
// scikit-survival's cumulative_dynamic_auc compute. It is NaN without a case
// or without a control. The cost is O(n log n).
func timeDependentAUC(obs []Outcome, surv [][]float64, t int, g KMCurve) float64 {
	tf := float64(t)
	var controls []float64
	for i, o := range obs {
		if o.Time > tf {
			controls = append(controls, 1-surv[i][t-1])
		}
	}
	slices.Sort(controls)
	var num, den float64
	for i, o := range obs {
		if !o.Event || o.Time > tf {
			continue
		}
		m := 1 - surv[i][t-1]
		w := 1 / g.Before(o.Time)
		lessEnd, _ := slices.BinarySearch(controls, m) // controls[:lessEnd] < m
		eqEnd := lessEnd + sort.Search(len(controls)-lessEnd, func(k int) bool { return controls[lessEnd+k] > m })
		num += w * (float64(lessEnd) + float64(eqEnd-lessEnd)/2)
		den += w
	}
	if den == 0 || len(controls) == 0 {
		return math.NaN()
	}
	return num / (den * float64(len(controls)))
}
