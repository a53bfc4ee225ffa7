package eval

import "math"

// brierScore returns the Brier score at month t with inverse-probability-of-
// censoring weights (Graf et al. 1999):
//
//	BS(t) = (1/n) Σ_i [ 1{T_i ≤ t, event} S_i(t)² / G(T_i−)
//	                  + 1{T_i > t} (1 − S_i(t))² / G(t) ],
//
// with G from CensoringKM: the left limit G(T_i−) at a patient's own event
// time and G(t) at the horizon. Patients censored at or before t contribute 0
// to the sum but still count in n. This is riskRegression::Score(...,
// metrics = "brier", cens.model = "km") and pec::pec(..., cens.model =
// "marginal"), both of which use these left limits.
//
// Neither weight can be 1/0. G(T_i−) > 0 for a patient with an event, who
// was still uncensored just before T_i. G(t) = 0 only when the last patient
// followed to some time ≤ t was censored there (as when follow-up ends at t),
// and then nobody has T_i > t: the second sum is empty and BS(t) is the first
// sum over n, as pec and riskRegression give it. So the score is defined for
// every t; it is NaN only without patients.
func brierScore(obs []Outcome, surv [][]float64, t int, g KMCurve) float64 {
	if len(obs) == 0 {
		return math.NaN()
	}
	tf := float64(t)
	gt := g.At(tf)
	var sum float64
	for i, o := range obs {
		s := surv[i][t-1]
		switch {
		case o.Time > tf:
			// G(t) ≥ G(T_i−) > 0: i was still uncensored just before T_i > t.
			sum += (1 - s) * (1 - s) / gt
		case o.Event:
			sum += s * s / g.Before(o.Time)
		}
	}
	return sum / float64(len(obs))
}

// integratedBrier returns the integrated Brier score over months 1..tmax from
// bs[k] = BS(k+1), k = 0..tmax−1: the trapezoid rule over the unit-spaced
// months divided by the span tmax − 1,
//
//	IBS = [ Σ_{t=1}^{tmax−1} (BS(t) + BS(t+1))/2 ] / (tmax − 1),
//
// and, for tmax = 1, the Brier score at month 1 itself (the limit of the
// average over a vanishing span). It is NaN when any BS(t) is, i.e. only
// without patients.
func integratedBrier(bs []float64) float64 {
	switch len(bs) {
	case 0:
		return math.NaN()
	case 1:
		return bs[0]
	}
	var s float64
	for k := 0; k+1 < len(bs); k++ {
		s += (bs[k] + bs[k+1]) / 2
	}
	return s / float64(len(bs)-1)
}
