package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
)

// SurvivalOptions configures EvaluateSurvival. The zero value asks for the
// defaults.
type SurvivalOptions struct {
	// At lists the months (1..H) at which the Brier score and the
	// time-dependent AUC are computed. Empty means 3, 6 and 12, each clipped
	// to the horizon H (min(t, H)), without duplicates.
	At []int
	// Tau is the truncation time τ of Uno's concordance (0 < τ ≤ H). Zero
	// means the largest event time ≤ H.
	Tau float64
	// IBSMax is the last month tmax of the integrated Brier score
	// (1 ≤ tmax ≤ H). Zero means the largest month of At.
	IBSMax int
	// Bootstrap is the number B of bootstrap replicates for the confidence
	// intervals; 0 computes none. DefaultBootstrapReplicates is the customary
	// choice.
	Bootstrap int
	// Seed seeds the bootstrap's random numbers (math/rand/v2 PCG).
	Seed uint64
	// Level is the coverage of the bootstrap percentile intervals and of the
	// Wilson intervals of the calibration table, in (0, 1). Zero means 0.95.
	Level float64
}

// SurvivalMetrics measures predicted survival curves against observed
// outcomes. A metric that is undefined on the data (no comparable pairs, no
// case or control, a regression without an estimate) is null in JSON (a nil
// pointer) or, in the month-keyed maps, absent; Notes says why.
//
// Censoring is handled with the reverse Kaplan–Meier estimate G of the
// censoring distribution (CensoringKM: censorings after events at a tied
// time); a patient's own event time T_i is weighted with the left limit
// G(T_i−), a fixed month t with G(t).
type SurvivalMetrics struct {
	N       int   `json:"n"`       // patients
	Events  int   `json:"events"`  // patients with an event, at any time
	Horizon int   `json:"horizon"` // H, the months of each predicted curve
	At      []int `json:"at"`      // months of Brier and TDAUC

	// HarrellC is Harrell's concordance of the risk scores
	// r_i = −Σ_{t=1..H} S_i(t) (RiskScores). A pair is comparable when the
	// shorter time T_i is an event and T_i < T_j, or T_i = T_j with j
	// censored; pairs tied in time with both events are not comparable. It
	// is (concordant + tied/2)/(comparable), concordant meaning r_i > r_j and
	// tied r_i = r_j: R's survival::concordance(Surv(time, event) ~ r,
	// reverse = TRUE).
	HarrellC *float64 `json:"harrell_c"`
	// UnoC is Uno's concordance: the same pairs with T_i ≤ UnoTau, each
	// weighted by 1/G(T_i−)²: R's concordance(..., timewt = "n/G2",
	// ymax = τ). Note the inclusive T_i ≤ τ (R's reading; Uno et al. write
	// T_i < τ).
	UnoC *float64 `json:"uno_c"`
	// UnoTau is τ: SurvivalOptions.Tau, or by default the largest event time
	// ≤ H (nil when there is none).
	UnoTau *float64 `json:"uno_tau"`

	// Brier holds the IPCW Brier score (Graf et al. 1999) at each month t of
	// At, keyed by the month in decimal ("6"):
	// BS(t) = (1/n) Σ [1{T_i ≤ t, event} S_i(t)²/G(T_i−) +
	// 1{T_i > t} (1 − S_i(t))²/G(t)]; patients censored at or before t add 0.
	// It is defined at every month: when nobody is followed beyond t (G(t) =
	// 0, as at the end of follow-up) the second sum is empty, as in pec and
	// riskRegression.
	Brier map[string]float64 `json:"brier"`
	// IBS is the integrated Brier score over months 1..IBSMax: the trapezoid
	// rule over BS(1), …, BS(IBSMax) divided by IBSMax − 1, and BS(1) itself
	// when IBSMax = 1. Like Brier, it is always defined.
	IBS    *float64 `json:"ibs"`
	IBSMax int      `json:"ibs_max"`
	// TDAUC holds the cumulative/dynamic AUC at each month t of At, keyed
	// like Brier: cases T_i ≤ t with an event, weighted 1/G(T_i−), against
	// controls T_j > t, on the marker 1 − S_i(t), ties counting one half.
	TDAUC map[string]float64 `json:"td_auc"`

	// Calibration compares predicted and observed hazards for months 1..H
	// among the patients at risk at the start of each month.
	Calibration []CalibrationMonth `json:"calibration"`
	// CalibrationSlope is b of the logistic regression y ~ a + b·logit(h)
	// on the person-period rows of Calibration, h = h_i(t) clipped to
	// [1e-15, 1 − 1e-15] (1 when the predicted hazards are neither too
	// extreme nor too moderate).
	CalibrationSlope *float64 `json:"calibration_slope"`
	// CalibrationIntercept is a of y ~ offset(logit(h)) + a on the same rows,
	// calibration-in-the-large (0 when the hazards are right on average).
	CalibrationIntercept *float64 `json:"calibration_intercept"`
	// SurvivalCalibration compares the mean predicted S_i(t) with the
	// Kaplan–Meier estimate for months 1..H.
	SurvivalCalibration []SurvivalCalibrationMonth `json:"survival_calibration"`

	// CI holds bootstrap percentile intervals [lower, upper] keyed by metric:
	// "harrell_c", "uno_c", "td_auc.6", "brier.6", "ibs",
	// "calibration_slope", "calibration_intercept". A metric without at least
	// two usable replicates has no interval.
	CI        map[string][2]float64 `json:"ci,omitempty"`
	Bootstrap *BootstrapInfo        `json:"bootstrap,omitempty"`

	// Notes explains each metric left undefined and other caveats.
	Notes []string `json:"notes,omitempty"`
}

// survivalSettings are validated options with their defaults filled in.
type survivalSettings struct {
	h      int
	at     []int
	tau    float64 // NaN when Uno's concordance has no truncation time
	ibsMax int
	level  float64
}

// cohort is validated data with the per-patient values every replicate of
// the bootstrap reuses.
type cohort struct {
	obs  []Outcome
	surv [][]float64 // surv[i][k] = S_i(k+1)
	lh   [][]float64 // lh[i][k] = logit(clip(h_i(k+1)))
	risk []float64   // RiskScores

	// A bootstrap replicate also knows the cohort it was drawn from, the
	// distinct patients drawn and how often each was, for the person-period
	// rows of the calibration regressions.
	from   *cohort
	drawn  []int
	counts []float64
}

// resample returns the cohort of the patients idx (with repetitions).
func (c *cohort) resample(idx []int) cohort {
	r := cohort{
		obs:  make([]Outcome, len(idx)),
		surv: make([][]float64, len(idx)),
		lh:   make([][]float64, len(idx)),
		risk: make([]float64, len(idx)),
		from: c,
	}
	times := make([]float64, len(c.obs))
	for k, i := range idx {
		r.obs[k] = c.obs[i]
		r.surv[k] = c.surv[i]
		r.lh[k] = c.lh[i]
		r.risk[k] = c.risk[i]
		times[i]++
	}
	for i, m := range times {
		if m > 0 {
			r.drawn = append(r.drawn, i)
			r.counts = append(r.counts, m)
		}
	}
	return r
}

// personPeriods returns the rows of the calibration regressions.
func (c *cohort) personPeriods(h int) personPeriods {
	if c.from != nil {
		return buildPersonPeriods(c.from.obs, c.from.lh, h, c.drawn, c.counts)
	}
	return buildPersonPeriods(c.obs, c.lh, h, nil, nil)
}

// ValidateSurvival checks outcomes and predicted survival curves and returns
// the horizon H. Each time must be finite and ≥ 0; there must be one curve
// per outcome, all with the same length H ≥ 1; each S_i(t) must lie in
// [0, 1] and must not increase with t.
func ValidateSurvival(obs []Outcome, surv [][]float64) (int, error) {
	if len(obs) == 0 {
		return 0, errors.New("eval: no outcomes")
	}
	if len(obs) != len(surv) {
		return 0, fmt.Errorf("eval: %d outcomes but %d survival curves", len(obs), len(surv))
	}
	h := len(surv[0])
	if h == 0 {
		return 0, errors.New("eval: survival curve 0 is empty (horizon H must be at least 1 month)")
	}
	for i, o := range obs {
		switch {
		case math.IsNaN(o.Time):
			return 0, fmt.Errorf("eval: outcome %d: time is NaN", i)
		case math.IsInf(o.Time, 0):
			return 0, fmt.Errorf("eval: outcome %d: time %v is not finite", i, o.Time)
		case o.Time < 0:
			return 0, fmt.Errorf("eval: outcome %d: time %v is negative", i, o.Time)
		}
	}
	for i, row := range surv {
		if len(row) != h {
			return 0, fmt.Errorf("eval: survival curve %d has %d months, curve 0 has %d (ragged curves)", i, len(row), h)
		}
		prev := 1.0
		for k, v := range row {
			if math.IsNaN(v) || v < 0 || v > 1 {
				return 0, fmt.Errorf("eval: survival curve %d, month %d: S = %v is not in [0, 1]", i, k+1, v)
			}
			if v > prev {
				return 0, fmt.Errorf("eval: survival curve %d increases from month %d to %d (%v to %v)", i, k, k+1, prev, v)
			}
			prev = v
		}
	}
	return h, nil
}

// resolveSurvival validates the options against the data and fills in defaults.
func resolveSurvival(obs []Outcome, h int, opt SurvivalOptions) (survivalSettings, error) {
	s := survivalSettings{h: h, tau: math.NaN(), level: opt.Level}
	if s.level == 0 {
		s.level = 0.95
	}
	if !(s.level > 0 && s.level < 1) {
		return s, fmt.Errorf("eval: level %v is not in (0, 1)", opt.Level)
	}
	if len(opt.At) == 0 {
		for _, t := range []int{3, 6, 12} {
			s.at = append(s.at, min(t, h))
		}
	} else {
		for _, t := range opt.At {
			switch {
			case t < 1:
				return s, fmt.Errorf("eval: month %d in At is not ≥ 1", t)
			case t > h:
				return s, fmt.Errorf("eval: month %d in At is beyond the horizon H = %d", t, h)
			}
			s.at = append(s.at, t)
		}
	}
	slices.Sort(s.at)
	s.at = slices.Compact(s.at)

	s.ibsMax = opt.IBSMax
	switch {
	case s.ibsMax == 0:
		s.ibsMax = s.at[len(s.at)-1]
	case s.ibsMax < 0:
		return s, fmt.Errorf("eval: IBSMax %d is negative", opt.IBSMax)
	case s.ibsMax > h:
		return s, fmt.Errorf("eval: IBSMax %d is beyond the horizon H = %d", opt.IBSMax, h)
	}

	switch {
	case opt.Tau == 0:
		for _, o := range obs {
			if o.Event && o.Time <= float64(h) && (math.IsNaN(s.tau) || o.Time > s.tau) {
				s.tau = o.Time
			}
		}
	case math.IsNaN(opt.Tau) || opt.Tau < 0:
		return s, fmt.Errorf("eval: Tau %v is not positive", opt.Tau)
	case opt.Tau > float64(h):
		return s, fmt.Errorf("eval: Tau %v is beyond the horizon H = %d", opt.Tau, h)
	default:
		s.tau = opt.Tau
	}

	if opt.Bootstrap < 0 {
		return s, fmt.Errorf("eval: Bootstrap %d is negative", opt.Bootstrap)
	}
	return s, nil
}

// EvaluateSurvival measures predicted survival curves against observed
// outcomes. obs[i] is what was observed of patient i and surv[i][k] =
// S_i(k+1), k = 0..H−1, its predicted probability of still being engaged at
// the end of month k+1 (S_i(0) = 1; for a non-integer t, S_i(t) =
// S_i(floor(t)); beyond H it is unknown, so no metric is asked for past H).
//
// Censoring is handled with the reverse Kaplan–Meier estimate G of
// CensoringKM, whose left limit G(T_i−) weights a patient's own event time.
// The definitions are given on SurvivalMetrics, CalibrationMonth,
// SurvivalCalibrationMonth and BootstrapInfo, and in more detail on the
// functions that compute them (concordances, timeDependentAUC, brierScore,
// integratedBrier, fitSlope, fitIntercept, bootstrap). With
// SurvivalOptions.Bootstrap > 0 the scalar metrics get percentile intervals.
//
// Invalid input (see ValidateSurvival) or options give an error; undefined
// metrics do not (see SurvivalMetrics).
func EvaluateSurvival(obs []Outcome, surv [][]float64, opt SurvivalOptions) (SurvivalMetrics, error) {
	h, err := ValidateSurvival(obs, surv)
	if err != nil {
		return SurvivalMetrics{}, err
	}
	s, err := resolveSurvival(obs, h, opt)
	if err != nil {
		return SurvivalMetrics{}, err
	}
	c := cohort{obs: obs, surv: surv, lh: make([][]float64, len(obs)), risk: RiskScores(surv)}
	for i, row := range surv {
		c.lh[i] = logitHazards(row)
	}

	m := SurvivalMetrics{N: len(obs), Horizon: h, At: s.at, IBSMax: s.ibsMax}
	for _, o := range obs {
		if o.Event {
			m.Events++
		}
	}
	note := func(format string, args ...any) { m.Notes = append(m.Notes, fmt.Sprintf(format, args...)) }

	g := CensoringKM(obs)
	v, slopeIntercept := c.scalars(s, g, fitStart{b: 1})
	keys := scalarKeys(s)
	val := func(k int) *float64 {
		if math.IsNaN(v[k]) {
			return nil
		}
		x := v[k]
		return &x
	}

	m.HarrellC = val(0)
	if m.HarrellC == nil {
		note("harrell_c: no comparable pairs (no event before another patient's time)")
	}
	if !math.IsNaN(s.tau) {
		tau := s.tau
		m.UnoTau = &tau
	}
	m.UnoC = val(1)
	switch {
	case m.UnoTau == nil:
		note("uno_c: no event at or before the horizon H = %d, so no truncation time τ", h)
	case m.UnoC == nil:
		note("uno_c: no comparable pairs with the shorter time ≤ τ = %v", s.tau)
	}

	m.TDAUC = make(map[string]float64)
	m.Brier = make(map[string]float64)
	tf := func(t int) float64 { return float64(t) }
	for j, t := range s.at {
		key := strconv.Itoa(t)
		if x := val(2 + j); x != nil {
			m.TDAUC[key] = *x
		} else {
			note("td_auc.%d: no %s", t, missingAUC(obs, tf(t)))
		}
		// The Brier score and the IBS are defined whenever there is a
		// patient (brierScore), and ValidateSurvival requires one.
		if x := val(2 + len(s.at) + j); x != nil {
			m.Brier[key] = *x
		}
	}
	k := 2 + 2*len(s.at)
	m.IBS = val(k)
	m.CalibrationSlope = val(k + 1)
	m.CalibrationIntercept = val(k + 2)
	if m.CalibrationSlope == nil || m.CalibrationIntercept == nil {
		none, all := buildPersonPeriods(obs, c.lh, h, nil, nil).degenerate()
		switch {
		case none:
			note("calibration_slope, calibration_intercept: no event in months 1..%d", h)
		case all:
			note("calibration_slope, calibration_intercept: every person-period row is an event")
		default:
			if m.CalibrationSlope == nil {
				note("calibration_slope: the logistic regression has no finite estimate (constant or separating logit hazards)")
			}
			if m.CalibrationIntercept == nil {
				note("calibration_intercept: the logistic regression has no finite estimate")
			}
		}
	}
	var zeroTime int
	for _, o := range obs {
		if o.Event && o.Time == 0 {
			zeroTime++
		}
	}
	if zeroTime > 0 {
		note("calibration: %d events at time 0 belong to no month", zeroTime)
	}

	m.Calibration = calibrationTable(obs, surv, h, s.level)
	km := KaplanMeier(obs)
	last := km.LastTime()
	undefinedFrom := 0
	for t := 1; t <= h; t++ {
		var mean float64
		for _, row := range surv {
			mean += row[t-1]
		}
		sc := SurvivalCalibrationMonth{Month: t, Predicted: mean / float64(len(surv))}
		if kt := km.At(tf(t)); tf(t) <= last || kt == 0 {
			sc.KaplanMeier = &kt
		} else if undefinedFrom == 0 {
			undefinedFrom = t
		}
		m.SurvivalCalibration = append(m.SurvivalCalibration, sc)
	}
	if undefinedFrom > 0 {
		note("survival_calibration: the Kaplan–Meier estimate is undefined from month %d on (the last observed time, %v, is censored)", undefinedFrom, last)
	}

	if opt.Bootstrap > 0 {
		start := fitStart{a: 0, b: 1}
		if m.CalibrationSlope != nil {
			start.a, start.b = slopeIntercept, *m.CalibrationSlope
		}
		if m.CalibrationIntercept != nil {
			start.citl = *m.CalibrationIntercept
		}
		ci, info, notes := c.bootstrap(s, opt.Bootstrap, opt.Seed, keys, start)
		m.CI, m.Bootstrap = ci, info
		m.Notes = append(m.Notes, notes...)
	}
	return m, nil
}

// missingAUC says what the time-dependent AUC at t lacks: cases (events at
// or before t) or controls (patients beyond t).
func missingAUC(obs []Outcome, t float64) string {
	for _, o := range obs {
		if o.Event && o.Time <= t {
			return "controls (nobody is followed beyond the month)"
		}
	}
	return "cases (no event at or before the month)"
}

// fitStart holds starting values of the calibration regressions.
type fitStart struct {
	a, b float64 // intercept and slope of y ~ a + b·logit(h)
	citl float64 // a of y ~ offset(logit(h)) + a
}

// scalarKeys returns the names of the scalar metrics in the order of
// cohort.scalars, as used for the bootstrap intervals.
func scalarKeys(s survivalSettings) []string {
	keys := []string{"harrell_c", "uno_c"}
	for _, t := range s.at {
		keys = append(keys, "td_auc."+strconv.Itoa(t))
	}
	for _, t := range s.at {
		keys = append(keys, "brier."+strconv.Itoa(t))
	}
	return append(keys, "ibs", "calibration_slope", "calibration_intercept")
}

// scalars computes the scalar metrics of the cohort in the order of
// scalarKeys, NaN for undefined ones, and returns the intercept a of the
// calibration slope's regression as well (a starting value for the
// bootstrap). g is the cohort's CensoringKM.
func (c *cohort) scalars(s survivalSettings, g KMCurve, start fitStart) (out []float64, slopeIntercept float64) {
	// The calibration regressions take about half of the time: run them
	// beside the rest.
	var a, b, citl float64
	var wg sync.WaitGroup
	wg.Go(func() {
		pp := c.personPeriods(s.h)
		var ic sync.WaitGroup
		ic.Go(func() { citl, _ = pp.fitIntercept(start.citl) })
		a, b, _ = pp.fitSlope(start.a, start.b)
		ic.Wait()
	})
	out = make([]float64, 0, 5+2*len(s.at))
	harrell, uno := concordances(c.obs, c.risk, g, s.tau)
	out = append(out, harrell.value(), uno.value())
	for _, t := range s.at {
		out = append(out, timeDependentAUC(c.obs, c.surv, t, g))
	}
	top := max(s.ibsMax, s.at[len(s.at)-1])
	bs := make([]float64, top)
	for t := 1; t <= top; t++ {
		bs[t-1] = brierScore(c.obs, c.surv, t, g)
	}
	for _, t := range s.at {
		out = append(out, bs[t-1])
	}
	out = append(out, integratedBrier(bs[:s.ibsMax]))
	wg.Wait()
	return append(out, b, citl), a
}
