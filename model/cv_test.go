package model

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
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

// TestFoldWithoutAMonthsDropOffs: under a penalty the baseline's terms are
// still unpenalised, so a month whose only drop-off falls among a fold's
// held-out patients cannot be estimated in that fold. Cross-validation
// says so, naming the month and the fold and what to change, instead of
// failing on a singular matrix; the fit at a given λ, on all the data,
// works.
func TestFoldWithoutAMonthsDropOffs(t *testing.T) {
	spec, err := feature.ParseSpecBytes([]byte(`{"name":"t","baseline":{"type":"periods"},"features":[{"name":"x","type":"numeric"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	x := &caresignal.Extract{Columns: []string{"x"}}
	for p := range 300 {
		id := fmt.Sprintf("P%03d", p)
		for m := 1; m <= 3; m++ {
			// months 1 and 2: a drop-off every 7th and 11th patient; month
			// 3: patient 5's alone.
			event := (m == 1 && p%7 == 0) || (m == 2 && p%11 == 1) || (m == 3 && p == 5)
			x.Rows = append(x.Rows, caresignal.ExtractRow{PatientID: id, Month: m, Event: event,
				Values: []caresignal.Value{caresignal.Num(float64(p%13) + 0.5*float64(m))}})
			if event {
				break
			}
		}
	}
	if _, err := Train(context.Background(), spec, x, TrainOptions{Penalty: PenaltyL2, Lambda: 1}); err != nil {
		t.Fatalf("an L2 fit on all the data: %v", err)
	}
	_, err = Train(context.Background(), spec, x, TrainOptions{Penalty: PenaltyL2, CV: true, Folds: 3, Lambdas: 4})
	if err == nil || !errors.Is(err, survival.ErrSeparation) || !strings.Contains(err.Error(), "month_3") ||
		!strings.Contains(err.Error(), "of 3") || !strings.Contains(err.Error(), "pools sparse months") {
		t.Errorf("cross-validation with month 3's only drop-off held out: %v", err)
	}
}
