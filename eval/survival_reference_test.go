package eval

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The fixtures in testdata/reference/eval come from
// scripts/reference/eval_metrics.R (run by scripts/reference/eval.sh): R's
// survival, prodlim, pec and riskRegression on three data sets, each value
// confirmed there by a direct transcription of its definition to 1e-12. In
// colon.json the last month is the largest observed time, so G(H) = 0: the
// Brier score at H and the IBS are defined there (nobody is weighted by
// 1/G(H)), the AUC at H is not (no control).
//
// The Go values are compared with a relative tolerance of 1e-10 (the
// fixture's "tolerance"): both sides compute the same sums in double
// precision but in different orders, which moves the last few bits (R's own
// package and hand-written values differ by up to ~2e-14), and the
// calibration regressions stop at a step of 1e-13. Counts and the risk scores
// (which decide the ties) must match exactly.

type refPoissonBinomial struct {
	N         int       `json:"n"`
	Mean      float64   `json:"mean"`
	Variance  float64   `json:"variance"`
	K         []int     `json:"k"`
	PMF       []float64 `json:"pmf"`
	CDF       []float64 `json:"cdf"`
	UpperTail []float64 `json:"upper_tail"`
	PValue    []float64 `json:"p_value"`
	Intervals []struct {
		Level    float64 `json:"level"`
		Interval [2]int  `json:"interval"`
	} `json:"intervals"`
}

type refFixture struct {
	Case      string      `json:"case"`
	Tolerance float64     `json:"tolerance"`
	Horizon   int         `json:"horizon"`
	At        []int       `json:"at"`
	IBSMax    int         `json:"ibs_max"`
	Level     float64     `json:"level"`
	Time      []float64   `json:"time"`
	Event     []bool      `json:"event"`
	Surv      [][]float64 `json:"surv"`
	Risk      []float64   `json:"risk"`

	KaplanMeier struct {
		Time     []float64 `json:"time"`
		AtRisk   []int     `json:"at_risk"`
		Events   []int     `json:"events"`
		Censored []int     `json:"censored"`
		Surv     []float64 `json:"surv"`
	} `json:"kaplan_meier"`
	Censoring struct {
		Time []float64 `json:"time"`
		Surv []float64 `json:"surv"`
	} `json:"censoring"`

	Harrell struct {
		C          float64 `json:"c"`
		Concordant float64 `json:"concordant"`
		Discordant float64 `json:"discordant"`
		TiedRisk   float64 `json:"tied_risk"`
	} `json:"harrell"`
	Uno []struct {
		Tau float64 `json:"tau"`
		C   float64 `json:"c"`
	} `json:"uno"`
	TDAUC struct {
		Month []int      `json:"month"`
		AUC   []*float64 `json:"auc"` // null where R has no case or no control
	} `json:"td_auc"`
	Brier struct {
		Month []int     `json:"month"`
		Score []float64 `json:"score"`
		Pec   []float64 `json:"pec"`
	} `json:"brier"`
	IBS float64 `json:"ibs"`

	Calibration []struct {
		Month     int      `json:"month"`
		AtRisk    int      `json:"at_risk"`
		Events    int      `json:"events"`
		Predicted *float64 `json:"predicted"`
		Observed  *float64 `json:"observed"`
		Lower     *float64 `json:"lower"`
		Upper     *float64 `json:"upper"`
	} `json:"calibration"`
	CalibrationSlope          float64 `json:"calibration_slope"`
	CalibrationSlopeIntercept float64 `json:"calibration_slope_intercept"`
	CalibrationIntercept      float64 `json:"calibration_intercept"`
	PersonPeriodRows          int     `json:"person_period_rows"`
	SurvivalCalibration       []struct {
		Month       int      `json:"month"`
		Predicted   float64  `json:"predicted"`
		KaplanMeier *float64 `json:"kaplan_meier"`
	} `json:"survival_calibration"`

	PoissonBinomial       refPoissonBinomial  `json:"poisson_binomial"`
	PoissonBinomialGolden *refPoissonBinomial `json:"poisson_binomial_golden"`
}

// survivalFixtures are the files eval_metrics.R writes.
var survivalFixtures = []string{"veteran.json", "simulated.json", "colon.json"}

func loadSurvivalFixtures(t *testing.T) []refFixture {
	t.Helper()
	var paths []string
	for _, name := range survivalFixtures {
		paths = append(paths, filepath.Join("..", "testdata", "reference", "eval", name))
	}
	var out []refFixture
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var f refFixture
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if f.Tolerance <= 0 || f.Tolerance > 1e-9 {
			t.Fatalf("%s: tolerance %v", p, f.Tolerance)
		}
		out = append(out, f)
	}
	return out
}

func (f refFixture) outcomes() []Outcome {
	obs := make([]Outcome, len(f.Time))
	for i := range obs {
		obs[i] = Outcome{Time: f.Time[i], Event: f.Event[i]}
	}
	return obs
}

// worst tracks the largest relative difference seen per fixture.
type closeChecker struct {
	t     *testing.T
	tol   float64
	worst float64
	what  string // where worst was seen
}

func (c *closeChecker) check(what string, got, want float64) {
	c.t.Helper()
	d := math.Abs(got - want)
	if want != 0 {
		d /= math.Abs(want)
	}
	if d > c.worst {
		c.worst, c.what = d, what
	}
	if !(d <= c.tol) {
		c.t.Errorf("%s = %.17g, R %.17g (relative difference %.2g > %.0g)", what, got, want, d, c.tol)
	}
}

func (c *closeChecker) checkPtr(what string, got *float64, want *float64) {
	c.t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		c.t.Errorf("%s = %s, R %s (one is undefined)", what, ptrString(got), ptrString(want))
	default:
		c.check(what, *got, *want)
	}
}

func ptrString(x *float64) string {
	if x == nil {
		return "undefined"
	}
	return strconv.FormatFloat(*x, 'g', 17, 64)
}

func TestSurvivalMetricsMatchR(t *testing.T) {
	for _, f := range loadSurvivalFixtures(t) {
		t.Run(f.Case, func(t *testing.T) {
			c := &closeChecker{t: t, tol: f.Tolerance}
			obs := f.outcomes()

			// Risk scores decide the ties: they must be bit-identical.
			for i, r := range RiskScores(f.Surv) {
				if r != f.Risk[i] {
					t.Fatalf("risk score %d = %.17g, R %.17g", i, r, f.Risk[i])
				}
			}

			km := KaplanMeier(obs)
			g := CensoringKM(obs)
			if len(km.Times) != len(f.KaplanMeier.Time) || len(g.Times) != len(f.Censoring.Time) {
				t.Fatalf("curves have %d and %d times, R %d and %d", len(km.Times), len(g.Times), len(f.KaplanMeier.Time), len(f.Censoring.Time))
			}
			for k, tk := range f.KaplanMeier.Time {
				if km.Times[k] != tk || km.AtRisk[k] != f.KaplanMeier.AtRisk[k] || km.Events[k] != f.KaplanMeier.Events[k] || km.Censored[k] != f.KaplanMeier.Censored[k] {
					t.Fatalf("KM row %d: %v %d %d %d, R %v %d %d %d", k, km.Times[k], km.AtRisk[k], km.Events[k], km.Censored[k],
						tk, f.KaplanMeier.AtRisk[k], f.KaplanMeier.Events[k], f.KaplanMeier.Censored[k])
				}
				c.check("KM S("+strconv.FormatFloat(tk, 'g', -1, 64)+")", km.At(tk), f.KaplanMeier.Surv[k])
				c.check("G("+strconv.FormatFloat(tk, 'g', -1, 64)+")", g.At(f.Censoring.Time[k]), f.Censoring.Surv[k])
				if k > 0 {
					c.check("G(t−)", g.Before(tk), f.Censoring.Surv[k-1])
				}
			}

			m, err := EvaluateSurvival(obs, f.Surv, SurvivalOptions{At: f.At, Level: f.Level})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Notes) > 0 {
				t.Logf("notes: %q", m.Notes)
			}
			if m.Horizon != f.Horizon || m.IBSMax != f.IBSMax {
				t.Errorf("horizon %d, ibs_max %d; R %d, %d", m.Horizon, m.IBSMax, f.Horizon, f.IBSMax)
			}

			// Harrell: value and exact pair counts.
			c.check("harrell_c", *m.HarrellC, f.Harrell.C)
			h, _ := concordances(obs, RiskScores(f.Surv), g, math.Inf(1))
			if h.concordant != f.Harrell.Concordant || h.discordant != f.Harrell.Discordant || h.tiedRisk != f.Harrell.TiedRisk {
				t.Errorf("Harrell counts %+v, R %+v", h, f.Harrell)
			}

			// Uno: the default τ (largest event time ≤ H) and a second one.
			if *m.UnoTau != f.Uno[0].Tau {
				t.Errorf("uno_tau = %v, R %v", *m.UnoTau, f.Uno[0].Tau)
			}
			c.check("uno_c", *m.UnoC, f.Uno[0].C)
			for _, u := range f.Uno[1:] {
				mu, err := EvaluateSurvival(obs, f.Surv, SurvivalOptions{At: f.At, Tau: u.Tau})
				if err != nil {
					t.Fatal(err)
				}
				c.check("uno_c (τ = "+strconv.FormatFloat(u.Tau, 'g', -1, 64)+")", *mu.UnoC, u.C)
			}

			for k, month := range f.TDAUC.Month {
				key := strconv.Itoa(month)
				var got *float64
				if v, ok := m.TDAUC[key]; ok {
					got = &v
				}
				c.checkPtr("td_auc."+key, got, f.TDAUC.AUC[k])
			}
			for k, month := range f.Brier.Month {
				got := brierScore(obs, f.Surv, month, g)
				c.check("brier("+strconv.Itoa(month)+") vs riskRegression", got, f.Brier.Score[k])
				c.check("brier("+strconv.Itoa(month)+") vs pec", got, f.Brier.Pec[k])
				if v, ok := m.Brier[strconv.Itoa(month)]; ok {
					c.check("brier."+strconv.Itoa(month), v, f.Brier.Score[k])
				}
			}
			if len(m.Brier) != len(f.At) {
				t.Errorf("brier has %d months %v, R %d (at %v)", len(m.Brier), m.Brier, len(f.At), f.At)
			}
			c.checkPtr("ibs", m.IBS, &f.IBS)

			if len(m.Calibration) != len(f.Calibration) {
				t.Fatalf("%d calibration months, R %d", len(m.Calibration), len(f.Calibration))
			}
			for k, want := range f.Calibration {
				got := m.Calibration[k]
				if got.Month != want.Month || got.AtRisk != want.AtRisk || got.Events != want.Events {
					t.Errorf("calibration month %d: n %d d %d, R month %d n %d d %d", got.Month, got.AtRisk, got.Events, want.Month, want.AtRisk, want.Events)
				}
				name := "calibration[" + strconv.Itoa(want.Month) + "]."
				c.checkPtr(name+"predicted", got.Predicted, want.Predicted)
				c.checkPtr(name+"observed", got.Observed, want.Observed)
				c.checkPtr(name+"lower", got.Lower, want.Lower)
				c.checkPtr(name+"upper", got.Upper, want.Upper)
			}
			c.check("calibration_slope", *m.CalibrationSlope, f.CalibrationSlope)
			c.check("calibration_intercept", *m.CalibrationIntercept, f.CalibrationIntercept)
			pp := buildPersonPeriods(obs, lhOf(f.Surv), f.Horizon, nil, nil)
			if len(pp.y) != f.PersonPeriodRows {
				t.Errorf("%d person-period rows, R %d", len(pp.y), f.PersonPeriodRows)
			}
			a, _, _ := pp.fitSlope(0, 1)
			c.check("calibration slope's intercept", a, f.CalibrationSlopeIntercept)

			for k, want := range f.SurvivalCalibration {
				got := m.SurvivalCalibration[k]
				if got.Month != want.Month {
					t.Fatalf("survival calibration month %d, R %d", got.Month, want.Month)
				}
				c.check("survival_calibration.predicted", got.Predicted, want.Predicted)
				c.checkPtr("survival_calibration.kaplan_meier", got.KaplanMeier, want.KaplanMeier)
			}

			p1 := make([]float64, len(f.Surv))
			for i, row := range f.Surv {
				p1[i] = periodHazard(row, 1)
			}
			checkPoissonBinomial(t, c, "month-1 hazards", p1, f.PoissonBinomial)
			if g := f.PoissonBinomialGolden; g != nil {
				checkPoissonBinomial(t, c, "golden", goldenProbabilities(g.N), *g)
			}
			t.Logf("largest relative difference from R: %.2g (%s)", c.worst, c.what)
		})
	}
}

// goldenProbabilities returns p_k = 0.02 + 0.9·frac(k·0.6180339887498949),
// k = 1..n, computed as the R script does.
func goldenProbabilities(n int) []float64 {
	p := make([]float64, n)
	for k := 1; k <= n; k++ {
		x := float64(k) * 0.6180339887498949
		p[k-1] = 0.02 + 0.9*(x-math.Floor(x))
	}
	return p
}

func lhOf(surv [][]float64) [][]float64 {
	lh := make([][]float64, len(surv))
	for i, row := range surv {
		lh[i] = logitHazards(row)
	}
	return lh
}

// checkPoissonBinomial compares with R's direct recursion: relatively for
// probabilities above 1e-6, and within 1e-15 absolutely below, since the
// FFT products in NewPoissonBinomial are accurate in absolute terms only (a
// tail probability of 1e-9 comes out with about 7 correct digits).
func checkPoissonBinomial(t *testing.T, c *closeChecker, name string, p []float64, want refPoissonBinomial) {
	t.Helper()
	d, err := NewPoissonBinomial(p)
	if err != nil {
		t.Fatal(err)
	}
	c.check(name+" mean", d.Mean(), want.Mean)
	c.check(name+" variance", d.Variance(), want.Variance)
	prob := func(what string, got, w float64) {
		t.Helper()
		if w > 1e-6 {
			c.check(what, got, w)
		} else if math.Abs(got-w) > 1e-15 {
			t.Errorf("%s = %g, R %g", what, got, w)
		}
	}
	for j, k := range want.K {
		ks := strconv.Itoa(k)
		prob(name+" pmf("+ks+")", d.PMF(k), want.PMF[j])
		prob(name+" cdf("+ks+")", d.CDF(k), want.CDF[j])
		prob(name+" upper("+ks+")", d.UpperTail(k), want.UpperTail[j])
		prob(name+" p-value("+ks+")", d.PValue(k), want.PValue[j])
	}
	for _, iv := range want.Intervals {
		lo, hi, err := d.Interval(iv.Level)
		if err != nil || lo != iv.Interval[0] || hi != iv.Interval[1] {
			t.Errorf("%s interval at %v = [%d, %d] (%v), R %v", name, iv.Level, lo, hi, err, iv.Interval)
		}
	}
}
