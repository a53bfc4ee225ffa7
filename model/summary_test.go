package model

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/survival"
)

// readLung reads the lung fixture with the given numeric transform.
func readLung(t *testing.T, transform string) (*feature.Spec, *caresignal.Extract) {
	t.Helper()
	tab := feature.Table{Name: "lung", ID: "id", Event: "event", Period: "period",
		Numeric: []string{"age", "ph_karno", "wt_loss"}, Categorical: []string{"sex", "ph_ecog"}}
	spec, err := tab.Spec()
	if err != nil {
		t.Fatal(err)
	}
	for i := range spec.Features {
		if spec.Features[i].Type == feature.Numeric {
			spec.Features[i].Transform = transform
		}
	}
	return spec, readReferenceTable(t, "lung.csv", tab, spec)
}

// TestSummaryOriginalScale: a model fitted on standardised columns reports
// the same coefficients, standard errors and intervals on the inputs'
// scale as a model fitted on the raw columns — the maximum-likelihood fit
// is equivariant, so only the back-transform can make them differ.
func TestSummaryOriginalScale(t *testing.T) {
	for _, link := range []survival.Link{survival.Logit, survival.CLogLog} {
		specRaw, x := readLung(t, feature.Identity)
		specStd, _ := readLung(t, feature.Standardize)
		opt := TrainOptions{Link: link, Penalty: PenaltyNone}
		raw, err := Train(context.Background(), specRaw, x, opt)
		if err != nil {
			t.Fatal(err)
		}
		std, err := Train(context.Background(), specStd, x, opt)
		if err != nil {
			t.Fatal(err)
		}
		a, b := raw.Summary(), std.Summary()
		if age := std.Features.Features[0].Column; std.Coef[age] == b.Coefficients[age].Estimate {
			t.Fatal("the standardised fit's age coefficient was not transformed")
		}
		for j, ca := range a.Coefficients {
			cb := b.Coefficients[j]
			if ca.Name != cb.Name {
				t.Fatalf("coefficient %d: %s vs %s", j, ca.Name, cb.Name)
			}
			for _, v := range [][3]any{
				{"estimate", ca.Estimate, cb.Estimate},
				{"std_error", *ca.StdError, *cb.StdError},
				{"ci_low", *ca.CILow, *cb.CILow},
				{"p_value", *ca.P, *cb.P},
			} {
				if d := relDiff(v[2].(float64), v[1].(float64)); d > 1e-8 {
					t.Errorf("%s %s %s: standardised fit gives %.12g, raw fit %.12g", link, ca.Name, v[0], v[2], v[1])
				}
			}
			if link == survival.CLogLog && relDiff(*cb.StdErrorObserved, *ca.StdErrorObserved) > 1e-8 {
				t.Errorf("%s: observed-information SE %v vs %v", ca.Name, *cb.StdErrorObserved, *ca.StdErrorObserved)
			}
		}
		if math.Abs(a.LogLik-b.LogLik) > 1e-9 || *a.AIC != *b.AIC && math.Abs(*a.AIC-*b.AIC) > 1e-8 {
			t.Errorf("log-likelihood %v vs %v", a.LogLik, b.LogLik)
		}
		if a.Ratio != link.RatioName() || !strings.Contains(strings.Join(a.Notes, " "), "Fisher") {
			t.Errorf("summary labels: ratio %q, notes %q", a.Ratio, a.Notes)
		}
	}
}

// TestCrossValidation: folds hold whole patients, the grid starts where
// the elastic net keeps every feature at zero, the chosen λ has the lowest
// held-out deviance, and the curve travels in the artifact.
func TestCrossValidation(t *testing.T) {
	spec, x := readLung(t, feature.Standardize)
	folds := foldsByPatient(x, 5)
	byPatient := map[string]int{}
	sizes := make([]int, 5)
	for i, r := range x.Rows {
		if f, ok := byPatient[r.PatientID]; ok && f != folds[i] {
			t.Fatalf("patient %s has rows in folds %d and %d", r.PatientID, f, folds[i])
		}
		byPatient[r.PatientID] = folds[i]
		sizes[folds[i]]++
	}
	for f, n := range sizes {
		if n == 0 {
			t.Fatalf("fold %d is empty", f)
		}
	}
	calls := 0
	m, err := Train(context.Background(), spec, x, TrainOptions{Penalty: PenaltyElasticNet, Alpha: 0.5, CV: true, Lambdas: 12,
		OnCV: func(done, total int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	cv := m.Training.Penalty.CV
	if cv == nil || len(cv.Lambdas) != 12 || len(cv.Deviance) != 12 || calls != 5*12 {
		t.Fatalf("cv %+v after %d fits", cv, calls)
	}
	best := 0
	for i, d := range cv.Deviance {
		if d < cv.Deviance[best] {
			best = i
		}
		if i > 0 && !(cv.Lambdas[i] < cv.Lambdas[i-1]) {
			t.Fatalf("grid not decreasing: %v", cv.Lambdas)
		}
	}
	if cv.Chosen != cv.Lambdas[best] || m.Training.Penalty.Lambda != cv.Chosen || cv.OneSE < cv.Chosen {
		t.Errorf("chosen λ %v (one-SE %v), lowest deviance at %v", cv.Chosen, cv.OneSE, cv.Lambdas[best])
	}
	// At the top of the grid every feature coefficient is zero.
	top, err := Train(context.Background(), spec, x, TrainOptions{Penalty: PenaltyElasticNet, Alpha: 0.5, Lambda: cv.Lambdas[0] * 1.0001})
	if err != nil {
		t.Fatal(err)
	}
	for j := top.Features.Baseline.Width(); j < len(top.Coef); j++ {
		if top.Coef[j] != 0 {
			t.Errorf("at λ_max %s = %v, want 0", top.Features.Columns[j], top.Coef[j])
		}
	}
	if s := top.Summary(); s.AIC != nil || s.Coefficients[len(s.Coefficients)-1].StdError != nil || s.Coefficients[len(s.Coefficients)-1].P != nil {
		t.Error("a penalised summary must give no AIC, and no standard error or p-value for a zeroed coefficient")
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Load(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Training.Penalty.CV; got == nil || got.Chosen != cv.Chosen || len(got.Deviance) != 12 {
		t.Errorf("the CV curve did not survive the artifact: %+v", got)
	}
}
