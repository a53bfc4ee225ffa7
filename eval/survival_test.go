package eval

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// synthCohort returns n patients with predicted curves over h months from a
// discrete-time logistic hazard, event times drawn from a hazard that differs
// from the prediction, and uniform censoring. With coarse set, covariates and
// curves repeat (tied risk scores) and some times fall on half months.
func synthCohort(n, h int, seed uint64, coarse bool) ([]Outcome, [][]float64) {
	r := rand.New(rand.NewPCG(seed, 99))
	obs := make([]Outcome, n)
	surv := make([][]float64, n)
	for i := range n {
		z := r.NormFloat64()
		if coarse {
			z = float64(r.IntN(5)-2) / 2
		}
		row := make([]float64, h)
		s := 1.0
		for t := 1; t <= h; t++ {
			s *= 1 - expit(-2.5+0.05*float64(t)+0.8*z)
			row[t-1] = s
		}
		surv[i] = row
		ev := 0
		for t := 1; t <= 3*h && ev == 0; t++ {
			if r.Float64() < expit(-2.3+0.6*z) {
				ev = t
			}
		}
		cens := 1 + r.IntN(h+3)
		o := Outcome{Time: float64(cens)}
		if ev > 0 && ev <= cens {
			o = Outcome{Time: float64(ev), Event: true}
		}
		if coarse && r.IntN(6) == 0 {
			o.Time -= 0.5
		}
		obs[i] = o
	}
	return obs, surv
}

// gBrute is the censoring curve written out: G(t) = Π over distinct times
// s ≤ t (s < t when minus) of 1 − c(s)/(n(s) − d(s)).
func gBrute(obs []Outcome, t float64, minus bool) float64 {
	seen := map[float64]bool{}
	g := 1.0
	for _, o := range obs {
		s := o.Time
		if seen[s] || s > t || (minus && s == t) {
			continue
		}
		seen[s] = true
		var n, d, c int
		for _, p := range obs {
			switch {
			case p.Time < s:
			case p.Time > s:
				n++
			case p.Event:
				n++
				d++
			default:
				n++
				c++
			}
		}
		if c > 0 {
			g *= 1 - float64(c)/float64(n-d)
		}
	}
	return g
}

// concordanceBrute is the O(n²) definition of Harrell's (weighted false) and
// Uno's index.
func concordanceBrute(obs []Outcome, risk []float64, tau float64, weighted bool) float64 {
	var num, den float64
	for i, oi := range obs {
		if !oi.Event || (weighted && oi.Time > tau) {
			continue
		}
		w := 1.0
		if weighted {
			g := gBrute(obs, oi.Time, true)
			w = 1 / (g * g)
		}
		var comparable, score float64 // pairs with i, counted exactly
		for j, oj := range obs {
			if i == j || !(oi.Time < oj.Time || oi.Time == oj.Time && !oj.Event) {
				continue
			}
			comparable++
			switch {
			case risk[i] > risk[j]:
				score++
			case risk[i] == risk[j]:
				score += 0.5
			}
		}
		num += w * score
		den += w * comparable
	}
	return num / den
}

func aucBrute(obs []Outcome, surv [][]float64, t int) float64 {
	tf := float64(t)
	var num, den float64
	for i, oi := range obs {
		if !oi.Event || oi.Time > tf {
			continue
		}
		wi := 1 / gBrute(obs, oi.Time, true)
		for j, oj := range obs {
			if oj.Time <= tf {
				continue
			}
			w := wi / gBrute(obs, tf, false)
			mi, mj := 1-surv[i][t-1], 1-surv[j][t-1]
			den += w
			switch {
			case mi > mj:
				num += w
			case mi == mj:
				num += w / 2
			}
		}
	}
	return num / den
}

func brierBrute(obs []Outcome, surv [][]float64, t int) float64 {
	tf := float64(t)
	var sum float64
	for i, o := range obs {
		s := surv[i][t-1]
		if o.Time <= tf && o.Event {
			sum += s * s / gBrute(obs, o.Time, true)
		} else if o.Time > tf {
			sum += (1 - s) * (1 - s) / gBrute(obs, tf, false)
		}
	}
	return sum / float64(len(obs))
}

func survNear(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b))
}

func TestMetricsMatchDefinitions(t *testing.T) {
	for _, tc := range []struct {
		n      int
		seed   uint64
		coarse bool
	}{{40, 1, true}, {150, 2, true}, {300, 3, false}, {500, 4, true}} {
		obs, surv := synthCohort(tc.n, 8, tc.seed, tc.coarse)
		risk := RiskScores(surv)
		g := CensoringKM(obs)
		for _, tau := range []float64{2.5, 5, 8} {
			h, u := concordances(obs, risk, g, tau)
			if want := concordanceBrute(obs, risk, tau, false); !survNear(h.value(), want, 1e-14) {
				t.Errorf("n=%d: Harrell %v, definition %v", tc.n, h.value(), want)
			}
			if want := concordanceBrute(obs, risk, tau, true); !survNear(u.value(), want, 1e-13) {
				t.Errorf("n=%d τ=%v: Uno %v, definition %v", tc.n, tau, u.value(), want)
			}
		}
		for _, tm := range []int{1, 3, 8} {
			if got, want := timeDependentAUC(obs, surv, tm, g), aucBrute(obs, surv, tm); !survNear(got, want, 1e-13) {
				t.Errorf("n=%d: AUC(%d) %v, definition %v", tc.n, tm, got, want)
			}
			if got, want := brierScore(obs, surv, tm, g), brierBrute(obs, surv, tm); !survNear(got, want, 1e-13) {
				t.Errorf("n=%d: Brier(%d) %v, definition %v", tc.n, tm, got, want)
			}
		}
		for _, o := range obs {
			for _, dt := range []float64{-0.5, 0, 0.25} {
				x := o.Time + dt
				if got, want := g.At(x), gBrute(obs, x, false); !survNear(got, want, 1e-14) {
					t.Fatalf("G(%v) = %v, definition %v", x, got, want)
				}
				if got, want := g.Before(x), gBrute(obs, x, true); !survNear(got, want, 1e-14) {
					t.Fatalf("G(%v−) = %v, definition %v", x, got, want)
				}
			}
		}
	}
}

func TestKaplanMeierByHand(t *testing.T) {
	// Times 1..6 with ties of events and censorings at 2, 3 and 5.
	obs := []Outcome{{1, true}, {2, true}, {2, false}, {2, false}, {3, true}, {3, false}, {4, false}, {5, true}, {5, false}, {6, false}}
	g := CensoringKM(obs)
	// G: at 2, 2 censored of 9 − 1; at 3, 1 of 6 − 1; at 4, 1 of 4;
	// at 5, 1 of 3 − 1; at 6, 1 of 1.
	wantG := []float64{1, 0.75, 0.6, 0.45, 0.225, 0}
	km := KaplanMeier(obs)
	wantS := []float64{0.9, 0.9 * 8.0 / 9, 0.9 * 8.0 / 9 * 5.0 / 6, 0.9 * 8.0 / 9 * 5.0 / 6, 0.9 * 8.0 / 9 * 5.0 / 6 * 2.0 / 3, 0.9 * 8.0 / 9 * 5.0 / 6 * 2.0 / 3}
	for k := range wantG {
		tk := float64(k + 1)
		if !survNear(g.At(tk), wantG[k], 1e-15) || !survNear(km.At(tk), wantS[k], 1e-15) {
			t.Errorf("t=%v: G %v S %v, want %v %v", tk, g.At(tk), km.At(tk), wantG[k], wantS[k])
		}
	}
	if g.Before(2) != 1 || g.Before(2.5) != 0.75 || g.At(0.5) != 1 || g.At(99) != 0 {
		t.Errorf("left limits: G(2−) %v G(2.5−) %v G(0.5) %v G(99) %v", g.Before(2), g.Before(2.5), g.At(0.5), g.At(99))
	}
	if km.AtRisk[1] != 9 || km.Events[1] != 1 || km.Censored[1] != 2 {
		t.Errorf("row at t=2: %d %d %d", km.AtRisk[1], km.Events[1], km.Censored[1])
	}
}

func TestValidation(t *testing.T) {
	good := [][]float64{{0.9, 0.8}, {0.95, 0.7}}
	obs := []Outcome{{1, true}, {2, false}}
	for _, tc := range []struct {
		name string
		obs  []Outcome
		surv [][]float64
		opt  SurvivalOptions
		want string
	}{
		{"empty", nil, nil, SurvivalOptions{}, "no outcomes"},
		{"count", obs, good[:1], SurvivalOptions{}, "2 outcomes but 1 survival curves"},
		{"negative", []Outcome{{-1, true}, {2, false}}, good, SurvivalOptions{}, "outcome 0: time -1 is negative"},
		{"nan", []Outcome{{1, true}, {math.NaN(), false}}, good, SurvivalOptions{}, "outcome 1: time is NaN"},
		{"inf", []Outcome{{1, true}, {math.Inf(1), false}}, good, SurvivalOptions{}, "not finite"},
		{"ragged", obs, [][]float64{{0.9, 0.8}, {0.9}}, SurvivalOptions{}, "ragged"},
		{"empty curve", obs, [][]float64{{}, {}}, SurvivalOptions{}, "horizon H must be at least 1"},
		{"range", obs, [][]float64{{0.9, 1.2}, {0.9, 0.8}}, SurvivalOptions{}, "curve 0, month 2: S = 1.2 is not in [0, 1]"},
		{"nan S", obs, [][]float64{{0.9, 0.8}, {math.NaN(), 0.8}}, SurvivalOptions{}, "curve 1, month 1: S = NaN"},
		{"increasing", obs, [][]float64{{0.8, 0.9}, {0.9, 0.8}}, SurvivalOptions{}, "curve 0 increases from month 1 to 2"},
		{"at beyond", obs, good, SurvivalOptions{At: []int{1, 3}}, "month 3 in At is beyond the horizon H = 2"},
		{"at zero", obs, good, SurvivalOptions{At: []int{0}}, "month 0 in At is not ≥ 1"},
		{"tau beyond", obs, good, SurvivalOptions{Tau: 2.5}, "Tau 2.5 is beyond the horizon"},
		{"tau negative", obs, good, SurvivalOptions{Tau: -1}, "Tau -1 is not positive"},
		{"ibs beyond", obs, good, SurvivalOptions{IBSMax: 3}, "IBSMax 3 is beyond"},
		{"level", obs, good, SurvivalOptions{Level: 1}, "level 1 is not in (0, 1)"},
		{"bootstrap", obs, good, SurvivalOptions{Bootstrap: -1}, "Bootstrap -1 is negative"},
	} {
		_, err := EvaluateSurvival(tc.obs, tc.surv, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestDefaultsAndOptions(t *testing.T) {
	obs, surv12 := synthCohort(200, 12, 7, true)
	for _, tc := range []struct {
		h    int
		want []int
	}{{12, []int{3, 6, 12}}, {10, []int{3, 6, 10}}, {4, []int{3, 4}}, {2, []int{2}}, {1, []int{1}}} {
		surv := make([][]float64, len(surv12))
		for i := range surv12 {
			surv[i] = surv12[i][:tc.h]
		}
		m, err := EvaluateSurvival(obs, surv, SurvivalOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m.At, tc.want) || m.IBSMax != tc.want[len(tc.want)-1] {
			t.Errorf("H=%d: At %v IBSMax %d, want %v", tc.h, m.At, m.IBSMax, tc.want)
		}
		if len(m.Calibration) != tc.h || len(m.SurvivalCalibration) != tc.h {
			t.Errorf("H=%d: %d calibration months", tc.h, len(m.Calibration))
		}
		var tau float64
		for _, o := range obs {
			if o.Event && o.Time <= float64(tc.h) {
				tau = max(tau, o.Time)
			}
		}
		if m.UnoTau == nil || *m.UnoTau != tau {
			t.Errorf("H=%d: τ %v, want %v", tc.h, m.UnoTau, tau)
		}
	}

	// IBS with tmax = 1 is the Brier score at month 1.
	m, err := EvaluateSurvival(obs, surv12, SurvivalOptions{At: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	if m.IBSMax != 1 || *m.IBS != m.Brier["1"] {
		t.Errorf("tmax 1: IBS %v, Brier(1) %v", *m.IBS, m.Brier["1"])
	}
	// IBS is the trapezoid rule over months 1..tmax.
	m, err = EvaluateSurvival(obs, surv12, SurvivalOptions{At: []int{2, 5}, IBSMax: 4})
	if err != nil {
		t.Fatal(err)
	}
	g := CensoringKM(obs)
	b := func(t int) float64 { return brierScore(obs, surv12, t, g) }
	if want := (b(1)/2 + b(2) + b(3) + b(4)/2) / 3; !survNear(*m.IBS, want, 1e-15) {
		t.Errorf("IBS %v, want %v", *m.IBS, want)
	}
	// An explicit τ.
	m, err = EvaluateSurvival(obs, surv12, SurvivalOptions{Tau: 4})
	if err != nil {
		t.Fatal(err)
	}
	if want := concordanceBrute(obs, RiskScores(surv12), 4, true); *m.UnoTau != 4 || !survNear(*m.UnoC, want, 1e-13) {
		t.Errorf("τ=4: Uno %v, want %v", *m.UnoC, want)
	}
}

func TestUndefinedMetrics(t *testing.T) {
	surv := [][]float64{{0.9, 0.8, 0.7, 0.6, 0.5}, {0.8, 0.6, 0.5, 0.4, 0.3}, {0.95, 0.9, 0.85, 0.8, 0.75}}

	// Everyone censored: no concordance, no AUC, no regressions.
	m, err := EvaluateSurvival([]Outcome{{1, false}, {2, false}, {5, false}}, surv, SurvivalOptions{At: []int{2, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if m.HarrellC != nil || m.UnoC != nil || m.UnoTau != nil || len(m.TDAUC) != 0 || m.CalibrationSlope != nil || m.CalibrationIntercept != nil {
		t.Errorf("all censored: %+v", m)
	}
	if len(m.Brier) != 2 || len(m.Notes) < 4 {
		t.Errorf("all censored: brier %v notes %q", m.Brier, m.Notes)
	}
	if _, err := json.Marshal(m); err != nil {
		t.Errorf("JSON: %v", err)
	}

	// The last patient followed to month 3 is censored there: G(t) = 0 from
	// 3 on, the AUC at 4 has no control, and the Kaplan–Meier curve stops at
	// 3. The Brier score at 4 is still defined (as in pec and riskRegression):
	// nobody has T > 4, so no term is weighted by 1/G(4), and patient 3,
	// censored before 4, adds 0. So is the IBS over months 1..4.
	obs := []Outcome{{1, true}, {2, true}, {3, false}}
	m, err = EvaluateSurvival(obs, surv, SurvivalOptions{At: []int{2, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Brier["4"], (surv[0][3]*surv[0][3]+surv[1][3]*surv[1][3])/3; !survNear(got, want, 1e-15) {
		t.Errorf("brier.4 = %v, want %v (brier %v)", got, want, m.Brier)
	}
	g := CensoringKM(obs)
	if g.At(4) != 0 {
		t.Fatalf("G(4) = %v, want 0", g.At(4))
	}
	var bs []float64
	for month := 1; month <= 4; month++ {
		bs = append(bs, brierScore(obs, surv, month, g))
	}
	if want := integratedBrier(bs); m.IBS == nil || !survNear(*m.IBS, want, 1e-15) {
		t.Errorf("ibs = %v, want %v", m.IBS, want)
	}
	if _, ok := m.TDAUC["4"]; ok {
		t.Errorf("td_auc.4 %v: want undefined", m.TDAUC)
	}
	if m.SurvivalCalibration[2].KaplanMeier == nil || m.SurvivalCalibration[3].KaplanMeier != nil {
		t.Errorf("survival calibration: %+v", m.SurvivalCalibration)
	}
	want := []string{"td_auc.4: no controls", "Kaplan–Meier estimate is undefined from month 4"}
	for _, w := range want {
		found := false
		for _, n := range m.Notes {
			found = found || strings.Contains(n, w)
		}
		if !found {
			t.Errorf("no note containing %q in %q", w, m.Notes)
		}
	}
	for _, n := range m.Notes {
		if strings.HasPrefix(n, "brier") || strings.HasPrefix(n, "ibs") {
			t.Errorf("note %q: the Brier score and the IBS are defined", n)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"ibs":null`) || !strings.Contains(string(b), `"kaplan_meier":null`) {
		t.Errorf("JSON: %s", b)
	}

	// A curve that reaches 0 has hazard 1 afterwards; an event at time 0
	// belongs to no month.
	surv0 := [][]float64{{0.5, 0, 0}, {0.9, 0.8, 0.7}, {0.9, 0.9, 0.8}}
	m, err = EvaluateSurvival([]Outcome{{3, false}, {0, true}, {2, true}}, surv0, SurvivalOptions{At: []int{3}})
	if err != nil {
		t.Fatal(err)
	}
	if p := *m.Calibration[2].Predicted; p != 1 {
		t.Errorf("month 3 hazard %v, want 1 (S = 0 before)", p)
	}
	if m.Calibration[0].AtRisk != 2 || m.Calibration[1].Events != 1 {
		t.Errorf("calibration %+v", m.Calibration)
	}
	if !strings.Contains(strings.Join(m.Notes, "\n"), "1 events at time 0") {
		t.Errorf("notes %q", m.Notes)
	}
}

func TestCalibrationTable(t *testing.T) {
	// Censored at 2.5: at risk in month 3, an event in no month. Event at
	// 1.5: an event in month 2.
	obs := []Outcome{{2.5, false}, {1.5, true}, {4, true}, {0.5, false}}
	surv := [][]float64{{0.9, 0.8, 0.7, 0.6}, {0.9, 0.6, 0.5, 0.4}, {0.95, 0.9, 0.85, 0.5}, {0.9, 0.8, 0.7, 0.6}}
	cal := calibrationTable(obs, surv, 4, 0.95)
	wantN := []int{4, 3, 2, 1}
	wantD := []int{0, 1, 0, 1}
	for k, c := range cal {
		if c.AtRisk != wantN[k] || c.Events != wantD[k] {
			t.Errorf("month %d: n %d d %d, want %d %d", k+1, c.AtRisk, c.Events, wantN[k], wantD[k])
		}
	}
	// Month 2: hazards 1 − 0.8/0.9, 1 − 0.6/0.9, 1 − 0.9/0.95.
	want := ((1 - 0.8/0.9) + (1 - 0.6/0.9) + (1 - 0.9/0.95)) / 3
	if !survNear(*cal[1].Predicted, want, 1e-15) {
		t.Errorf("month 2 predicted %v, want %v", *cal[1].Predicted, want)
	}
	// Wilson interval of 1/3 at 95% (R: prop.test(1, 3, correct = FALSE)).
	if !survNear(*cal[1].Lower, 0.06149194472039, 1e-12) || !survNear(*cal[1].Upper, 0.79234039919795, 1e-12) {
		t.Errorf("Wilson interval [%v, %v]", *cal[1].Lower, *cal[1].Upper)
	}
	if *cal[0].Lower != 0 {
		t.Errorf("Wilson lower bound at d = 0 is %v", *cal[0].Lower)
	}
}

func TestBootstrapDeterministic(t *testing.T) {
	obs, surv := synthCohort(300, 8, 11, true)
	opt := SurvivalOptions{Bootstrap: 60, Seed: 42, Level: 0.9}
	a, err := EvaluateSurvival(obs, surv, opt)
	if err != nil {
		t.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(1)
	b, err := EvaluateSurvival(obs, surv, opt)
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.CI, b.CI) || !reflect.DeepEqual(a.Bootstrap, b.Bootstrap) {
		t.Errorf("bootstrap depends on scheduling:\n%v\n%v", a.CI, b.CI)
	}
	keys := []string{"harrell_c", "uno_c", "td_auc.3", "td_auc.6", "brier.3", "brier.6", "ibs", "calibration_slope", "calibration_intercept"}
	for _, k := range keys {
		ci, ok := a.CI[k]
		if !ok || !(ci[0] <= ci[1]) {
			t.Errorf("ci.%s = %v", k, ci)
		}
		if a.Bootstrap.Usable[k] != 60 {
			t.Errorf("usable.%s = %d", k, a.Bootstrap.Usable[k])
		}
	}
	if hc := *a.HarrellC; !(a.CI["harrell_c"][0] < hc && hc < a.CI["harrell_c"][1]) {
		t.Errorf("Harrell C %v outside its interval %v", hc, a.CI["harrell_c"])
	}
	opt.Seed = 43
	c, err := EvaluateSurvival(obs, surv, opt)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.CI, c.CI) {
		t.Error("another seed gave the same intervals")
	}

	// The first replicate is the resample drawn from the documented seeds.
	master := rand.New(rand.NewPCG(42, bootstrapStream))
	rng := rand.New(rand.NewPCG(master.Uint64(), master.Uint64()))
	idx := make([]int, len(obs))
	for i := range idx {
		idx[i] = rng.IntN(len(obs))
	}
	co := cohort{obs: obs, surv: surv, lh: lhOf(surv), risk: RiskScores(surv)}
	rc := co.resample(idx)
	var ro []Outcome
	var rs [][]float64
	for _, i := range idx {
		ro = append(ro, obs[i])
		rs = append(rs, surv[i])
	}
	m, err := EvaluateSurvival(ro, rs, SurvivalOptions{Tau: *a.UnoTau, Level: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := resolveSurvival(obs, 8, SurvivalOptions{Level: 0.9})
	v, _ := rc.scalars(s, CensoringKM(rc.obs), fitStart{b: 1})
	if v[0] != *m.HarrellC || v[1] != *m.UnoC || !survNear(v[len(v)-2], *m.CalibrationSlope, 1e-12) {
		t.Errorf("replicate 0: %v vs %v %v %v", v, *m.HarrellC, *m.UnoC, *m.CalibrationSlope)
	}
}

func TestQuantile7(t *testing.T) {
	// R: quantile(c(1, 2, 3, 4, 10), c(0.025, 0.5, 0.975)) = 1.1, 3, 9.4.
	x := []float64{1, 2, 3, 4, 10}
	for _, tc := range [][2]float64{{0.025, 1.1}, {0.5, 3}, {0.975, 9.4}, {0, 1}, {1, 10}} {
		if got := Quantile7(x, tc[0]); !survNear(got, tc[1], 1e-15) {
			t.Errorf("Quantile7(%v) = %v, want %v", tc[0], got, tc[1])
		}
	}
}

func TestCalibrationRegressionsUndefined(t *testing.T) {
	// Constant logit hazards: the slope is not identified; the intercept is.
	pp := personPeriods{x: []float64{-1, -1, -1, -1}, y: []bool{true, false, false, false}}
	if _, _, ok := pp.fitSlope(0, 1); ok {
		t.Error("slope with constant x")
	}
	if a, ok := pp.fitIntercept(0); !ok || !survNear(a, math.Log(1.0/3)+1, 1e-12) {
		t.Errorf("intercept %v %v, want %v", a, ok, math.Log(1.0/3)+1)
	}
	// Separation: every event has a larger x than every non-event.
	pp = personPeriods{x: []float64{-3, -2, -1, 1, 2}, y: []bool{false, false, false, true, true}}
	if _, _, ok := pp.fitSlope(0, 1); ok {
		t.Error("slope under separation")
	}
}

func BenchmarkEvaluateSurvival(b *testing.B) {
	obs, surv := synthCohort(20000, 12, 5, false)
	for b.Loop() {
		if _, err := EvaluateSurvival(obs, surv, SurvivalOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConcordance50k(b *testing.B) {
	obs, surv := synthCohort(50000, 12, 6, false)
	risk := RiskScores(surv)
	g := CensoringKM(obs)
	for b.Loop() {
		concordances(obs, risk, g, 12)
	}
}
