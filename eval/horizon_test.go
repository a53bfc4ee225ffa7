package eval

import (
	"math"
	"testing"
)

// TestByHorizonByHand measures six patients whose numbers can be worked
// out on paper: two groups with month-1 hazards 0.1 and 0.3 and month-2
// hazards 0.2 and 0.4; one drop-off of three in the first group in month 1
// and two of three in the second; in month 2, one of the first group's
// two survivors drops off and the second group's one does not; everyone
// else is censored at the end of month 2.
func TestByHorizonByHand(t *testing.T) {
	a := []float64{0.9, 0.9 * 0.8}
	b := []float64{0.7, 0.7 * 0.6}
	surv := [][]float64{a, a, a, b, b, b}
	obs := []Outcome{{Time: 1, Event: true}, {Time: 2, Event: true}, {Time: 2}, {Time: 1, Event: true}, {Time: 1, Event: true}, {Time: 2}}
	got, err := ByHorizon(obs, surv)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d horizons, want 2", len(got))
	}
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	expit := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
			t.Errorf("%s = %.12g, by hand %.12g", what, got, want)
		}
	}

	m1 := got[0]
	if m1.Horizon != 1 || m1.AtRisk != 6 || m1.Events != 3 {
		t.Errorf("month 1: %+v", m1)
	}
	near("month 1 mean predicted", m1.MeanPredicted, (3*0.1+3*0.3)/6)
	near("month 1 observed", m1.Observed, 0.5)
	// Two distinct predictions: the logistic regression fits both groups'
	// rates exactly, so the slope is the ratio of the differences.
	if m1.CalibrationSlope == nil {
		t.Fatal("month 1 has no slope")
	}
	near("month 1 slope", *m1.CalibrationSlope, (logit(2.0/3)-logit(1.0/3))/(logit(0.3)-logit(0.1)))
	// The intercept solves 3 = 3·expit(a + logit 0.1) + 3·expit(a + logit 0.3),
	// found here by bisection.
	lo, hi := -10.0, 10.0
	for range 200 {
		mid := (lo + hi) / 2
		if 3*expit(mid+logit(0.1))+3*expit(mid+logit(0.3)) < 3 {
			lo = mid
		} else {
			hi = mid
		}
	}
	if m1.CalibrationIntercept == nil {
		t.Fatal("month 1 has no intercept")
	}
	near("month 1 intercept", *m1.CalibrationIntercept, (lo+hi)/2)
	// Nobody is censored before the end of month 2, so every weight is 1:
	// BS(1) = [0.9² + 2·0.7² + 2·0.1² + 0.3²]/6.
	bs1 := (0.81 + 2*0.49 + 2*0.01 + 0.09) / 6
	near("month 1 Brier", m1.Brier, bs1)
	near("month 1 IBS", m1.IBS, bs1)

	m2 := got[1]
	if m2.AtRisk != 3 || m2.Events != 1 {
		t.Errorf("month 2: %+v", m2)
	}
	near("month 2 mean predicted", m2.MeanPredicted, (0.2+0.2+0.4)/3)
	near("month 2 observed", m2.Observed, 1.0/3)
	// The second group's one row has no drop-off: its rate is 0, the
	// slope −∞; no estimate.
	if m2.CalibrationSlope != nil {
		t.Errorf("month 2 slope %g, want none (the rates 1/2 and 0 separate)", *m2.CalibrationSlope)
	}
	// BS(2): the drop-offs by month 2 weigh S(2)²; the censored at 2 add 0.
	bs2 := (2*0.72*0.72 + 2*0.42*0.42) / 6
	near("month 2 Brier", m2.Brier, bs2)
	near("month 2 IBS", m2.IBS, (bs1+bs2)/2)

	// The same by EvaluateSurvival's Brier score and IBS.
	all, err := EvaluateSurvival(obs, surv, SurvivalOptions{At: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	near("IBS against EvaluateSurvival", m2.IBS, *all.IBS)
	near("BS(1) against EvaluateSurvival", m1.Brier, all.Brier["1"])

	if _, err := ByHorizon(obs, surv[:5]); err == nil {
		t.Error("five curves for six patients: no error")
	}
}
