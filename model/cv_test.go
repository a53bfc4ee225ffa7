package model

import (
	"context"
	"testing"

	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/survival"
)

// TestLambdaMaxIsExact: the grid starts at the smallest elastic-net λ that
// keeps every feature's coefficient at zero. At it each one is exactly 0;
// a millionth below it one is not (λ_max carries a relative 1e-9 to break the tie). Before, λ_max came from a fit under a
// ridge of 1e9, and a coefficient at the first λ was about 1e-7.
func TestLambdaMaxIsExact(t *testing.T) {
	tab := feature.Table{Name: "lung", ID: "id", Event: "event", Period: "period",
		Numeric: []string{"age_std", "ph_karno_std", "wt_loss_std"}, Categorical: []string{"sex", "ph_ecog"}}
	for _, link := range []survival.Link{survival.Logit, survival.CLogLog} {
		spec, err := tab.Spec()
		if err != nil {
			t.Fatal(err)
		}
		x := readReferenceTable(t, "lung.csv", tab, spec)
		train := func(opt TrainOptions) *Model {
			t.Helper()
			opt.Link, opt.Penalty, opt.Alpha = link, PenaltyElasticNet, 0.5
			m, err := Train(context.Background(), spec, x, opt)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		cv := train(TrainOptions{CV: true, Folds: 3, Lambdas: 4}).Training.Penalty.CV
		lambdaMax := cv.Lambdas[0]
		features := func(m *Model) []float64 { return m.Coef[m.Features.Baseline.Width():] }
		m0 := train(TrainOptions{Lambda: lambdaMax})
		for j, b := range features(m0) {
			if b != 0 {
				t.Errorf("%s: at λ_max = %.10g, %s = %g, want exactly 0", link, lambdaMax, m0.Features.Columns[m0.Features.Baseline.Width()+j], b)
			}
		}
		nonzero := 0
		for _, b := range features(train(TrainOptions{Lambda: lambdaMax * (1 - 1e-6)})) {
			if b != 0 {
				nonzero++
			}
		}
		if nonzero == 0 {
			t.Errorf("%s: at λ_max·(1 − 10⁻⁶) every coefficient is still 0: λ_max = %.10g is too large", link, lambdaMax)
		}
	}
}
