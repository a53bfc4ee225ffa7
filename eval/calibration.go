package eval

import (
	"math"
)

// CalibrationMonth compares, for month t, the predicted and the observed
// hazard among the patients at risk at the start of the month.
//
// A patient is at risk in month t when T_i > t − 1: a patient censored during
// month t counts as at risk for all of it (censoring at the end of the
// interval), as in a life table of discrete data. An event belongs to month t
// when t − 1 < T_i ≤ t; an event at T_i = 0 belongs to no month.
type CalibrationMonth struct {
	Month  int `json:"month"`
	AtRisk int `json:"at_risk"` // n_t
	Events int `json:"events"`  // d_t
	// Predicted is the mean over the n_t patients of the predicted hazard
	// h_i(t) = 1 − S_i(t)/S_i(t−1) (S_i(0) = 1; h_i(t) = 1 when S_i(t−1) = 0).
	// Nil when n_t = 0.
	Predicted *float64 `json:"predicted"`
	// Observed is the life-table hazard d_t/n_t; nil when n_t = 0.
	Observed *float64 `json:"observed"`
	// Lower and Upper bound the Wilson score interval of Observed at the
	// options' level (R's prop.test(d_t, n_t, correct = FALSE)); nil when
	// n_t = 0.
	Lower *float64 `json:"lower"`
	Upper *float64 `json:"upper"`
}

// SurvivalCalibrationMonth is calibration-in-the-large of survival at month
// t: the mean predicted S_i(t) over all n patients against the Kaplan–Meier
// estimate S(t) of the same patients.
type SurvivalCalibrationMonth struct {
	Month     int     `json:"month"`
	Predicted float64 `json:"predicted"`
	// KaplanMeier is S(t); nil when t is past the last observed time and
	// the estimate has not reached 0 (the curve is not identified there).
	KaplanMeier *float64 `json:"kaplan_meier"`
}

// hazardClip bounds the predicted hazards before the logit of the
// calibration regressions, as EvaluateBinary bounds probabilities for the log
// loss: h is replaced by min(max(h, 1e-15), 1 − 1e-15).
const hazardClip = 1e-15

// periodHazard returns h_i(t) = 1 − S_i(t)/S_i(t−1) from row = S_i(1..H), for
// t ≥ 1; it is 1 when S_i(t−1) = 0.
func periodHazard(row []float64, t int) float64 {
	prev := 1.0
	if t > 1 {
		prev = row[t-2]
	}
	if prev == 0 {
		return 1
	}
	return 1 - row[t-1]/prev
}

// logitHazards returns logit(clip(h_i(t))) for t = 1..H.
func logitHazards(row []float64) []float64 {
	out := make([]float64, len(row))
	for t := 1; t <= len(row); t++ {
		h := min(max(periodHazard(row, t), hazardClip), 1-hazardClip)
		out[t-1] = math.Log(h / (1 - h))
	}
	return out
}

// atRiskPeriods returns the number of months 1..h the patient is at risk in
// (the t ≤ h with T > t − 1) and the month of its event (0 if it had none in
// months 1..h).
func atRiskPeriods(o Outcome, h int) (periods, eventMonth int) {
	if o.Time >= float64(h) {
		periods = h
	} else {
		periods = int(math.Ceil(o.Time))
	}
	if o.Event && o.Time > 0 && o.Time <= float64(h) {
		eventMonth = periods
	}
	return periods, eventMonth
}

// calibrationTable returns one CalibrationMonth for each month 1..h.
func calibrationTable(obs []Outcome, surv [][]float64, h int, level float64) []CalibrationMonth {
	n := make([]int, h+1)
	d := make([]int, h+1)
	sum := make([]float64, h+1)
	for i, o := range obs {
		periods, ev := atRiskPeriods(o, h)
		for t := 1; t <= periods; t++ {
			n[t]++
			sum[t] += periodHazard(surv[i], t)
		}
		if ev > 0 {
			d[ev]++
		}
	}
	z := normalQuantile(level)
	out := make([]CalibrationMonth, h)
	for t := 1; t <= h; t++ {
		m := CalibrationMonth{Month: t, AtRisk: n[t], Events: d[t]}
		if n[t] > 0 {
			pred := sum[t] / float64(n[t])
			obsRate := float64(d[t]) / float64(n[t])
			lo, hi := wilson(d[t], n[t], z)
			m.Predicted, m.Observed, m.Lower, m.Upper = &pred, &obsRate, &lo, &hi
		}
		out[t-1] = m
	}
	return out
}

// normalQuantile returns the two-sided standard normal quantile
// z = Φ⁻¹((1 + level)/2).
func normalQuantile(level float64) float64 {
	return math.Sqrt2 * math.Erfinv(level)
}

// wilson returns the Wilson score interval of the proportion d/n with normal
// quantile z, written as R's prop.test(d, n, correct = FALSE) computes it:
// with p = d/n and c = z²/(2n),
//
//	(p + c ∓ z·√(p(1−p)/n + c/(2n))) / (1 + 2c),
//
// the lower bound being exactly 0 when d = 0 and the upper exactly 1 when
// d = n.
func wilson(d, n int, z float64) (lo, hi float64) {
	nf := float64(n)
	p := float64(d) / nf
	c := z * z / (2 * nf)
	half := z * math.Sqrt(p*(1-p)/nf+c/(2*nf))
	lo, hi = 0, 1
	if p > 0 {
		lo = (p + c - half) / (1 + 2*c)
	}
	if p < 1 {
		hi = (p + c + half) / (1 + 2*c)
	}
	return lo, hi
}

// personPeriods holds the person-period rows of the calibration regressions:
// one row per patient and month at risk (see CalibrationMonth), with
// x = logit(clip(h_i(t))) and y = 1 in the month of the event. A bootstrap
// replicate keeps one row per distinct patient drawn, with weight w its
// number of draws, which gives the same likelihood as repeated rows; w is nil
// when every weight is 1.
type personPeriods struct {
	x []float64
	y []bool
	w []float64
}

// buildPersonPeriods collects the rows of the patients idx (all patients
// when idx is nil), each with weight counts[k] when counts is not nil; lh[i]
// holds the logit hazards of patient i (logitHazards).
func buildPersonPeriods(obs []Outcome, lh [][]float64, h int, idx []int, counts []float64) personPeriods {
	if idx == nil {
		idx = make([]int, len(obs))
		for i := range idx {
			idx[i] = i
		}
	}
	var rows int
	for _, i := range idx {
		p, _ := atRiskPeriods(obs[i], h)
		rows += p
	}
	pp := personPeriods{x: make([]float64, 0, rows), y: make([]bool, 0, rows)}
	if counts != nil {
		pp.w = make([]float64, 0, rows)
	}
	for k, i := range idx {
		periods, ev := atRiskPeriods(obs[i], h)
		pp.x = append(pp.x, lh[i][:periods]...)
		for t := 1; t <= periods; t++ {
			pp.y = append(pp.y, t == ev)
			if counts != nil {
				pp.w = append(pp.w, counts[k])
			}
		}
	}
	return pp
}

// weight returns the weight of row k.
func (pp personPeriods) weight(k int) float64 {
	if pp.w == nil {
		return 1
	}
	return pp.w[k]
}

// degenerate reports whether the rows have no event or no non-event, when
// neither regression has a finite estimate.
func (pp personPeriods) degenerate() (noEvents, allEvents bool) {
	var e int
	for _, y := range pp.y {
		if y {
			e++
		}
	}
	return e == 0, e == len(pp.y)
}

// logLik returns the weighted Bernoulli log-likelihood
// Σ w·(y·η − log(1 + e^η)) of linear predictors η = a + b·x.
func (pp personPeriods) logLik(a, b float64) float64 {
	var ll float64
	for k, x := range pp.x {
		eta := a + b*x
		l := -log1pExp(eta)
		if pp.y[k] {
			l += eta
		}
		ll += pp.weight(k) * l
	}
	return ll
}

// log1pExp returns log(1 + e^x) without overflow.
func log1pExp(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// expit returns 1/(1 + e^−x).
func expit(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Newton's method for the calibration regressions stops when no parameter
// moves by more than newtonTol·(1 + |parameter|), after at most newtonMaxIter
// iterations. A step that moves some linear predictor by more than
// newtonCheck is first checked against the log-likelihood and halved (up to
// 50 times) while the likelihood would fall; smaller steps are taken as they
// are, since the likelihood is then close to its quadratic approximation.
const (
	newtonTol     = 1e-13
	newtonMaxIter = 100
	newtonCheck   = 0.5
)

// maxAbsX returns max |x| over the rows.
func (pp personPeriods) maxAbsX() float64 {
	var m float64
	for _, x := range pp.x {
		m = max(m, math.Abs(x))
	}
	return m
}

// fitSlope fits the logistic regression y ~ a + b·x by Newton's method
// (equivalently IRLS, as R's glm) from (a0, b0) and returns the calibration
// intercept a and slope b. ok is false when the maximum likelihood estimate
// does not exist or cannot be found: no events, no non-events, a constant x,
// or (quasi-)separation, which shows as a failure to converge.
func (pp personPeriods) fitSlope(a0, b0 float64) (a, b float64, ok bool) {
	if none, all := pp.degenerate(); none || all {
		return math.NaN(), math.NaN(), false
	}
	xmax := pp.maxAbsX()
	a, b = a0, b0
	for range newtonMaxIter {
		var g0, g1, h00, h01, h11 float64
		for k, x := range pp.x {
			p := expit(a + b*x)
			r := -p
			if pp.y[k] {
				r = 1 - p
			}
			wk := pp.weight(k)
			r *= wk
			w := wk * p * (1 - p)
			g0 += r
			g1 += r * x
			h00 += w
			h01 += w * x
			h11 += w * x * x
		}
		det := h00*h11 - h01*h01
		if !(det > 1e-12*h00*h11) {
			return math.NaN(), math.NaN(), false
		}
		da := (h11*g0 - h01*g1) / det
		db := (h00*g1 - h01*g0) / det
		if math.Abs(da)+math.Abs(db)*xmax > newtonCheck {
			ll := pp.logLik(a, b)
			for range 50 {
				if pp.logLik(a+da, b+db) >= ll-1e-12*math.Abs(ll) {
					break
				}
				da, db = da/2, db/2
			}
		}
		a, b = a+da, b+db
		if math.IsNaN(a) || math.IsNaN(b) {
			break
		}
		if math.Abs(da) <= newtonTol*(1+math.Abs(a)) && math.Abs(db) <= newtonTol*(1+math.Abs(b)) {
			return a, b, true
		}
	}
	return math.NaN(), math.NaN(), false
}

// fitIntercept fits y ~ offset(x) + a, the calibration-in-the-large
// intercept, by Newton's method (with the same step check) from a0 (R:
// glm(y ~ 1 + offset(x), binomial)). ok is false without events or without
// non-events, when the estimate is infinite.
func (pp personPeriods) fitIntercept(a0 float64) (a float64, ok bool) {
	if none, all := pp.degenerate(); none || all {
		return math.NaN(), false
	}
	a = a0
	for range newtonMaxIter {
		var g, h float64
		for k, x := range pp.x {
			p := expit(a + x)
			wk := pp.weight(k)
			if pp.y[k] {
				g += wk * (1 - p)
			} else {
				g -= wk * p
			}
			h += wk * p * (1 - p)
		}
		if !(h > 0) {
			return math.NaN(), false
		}
		step := g / h
		if math.Abs(step) > newtonCheck {
			ll := pp.logLik(a, 1)
			for range 50 {
				if pp.logLik(a+step, 1) >= ll-1e-12*math.Abs(ll) {
					break
				}
				step /= 2
			}
		}
		a += step
		if math.IsNaN(a) {
			break
		}
		if math.Abs(step) <= newtonTol*(1+math.Abs(a)) {
			return a, true
		}
	}
	return math.NaN(), false
}
