package survival

import (
	"context"
	"errors"
	"math"
	"testing"
)

// TestFitSaturated checks the fitter against a closed form: with one
// indicator per group and no penalty, the maximum-likelihood log-odds of a
// group is logit(events/rows) and its standard error is
// 1/√(n·p·(1−p)).
func TestFitSaturated(t *testing.T) {
	groups := []struct{ n, events int }{{200, 13}, {150, 40}, {90, 45}, {400, 7}}
	x := NewMatrix(len(groups), 0, 1)
	var y []float64
	for g, gr := range groups {
		row := make([]float64, len(groups))
		row[g] = 1
		for i := range gr.n {
			x.AppendRow(row)
			y = append(y, b2f(i < gr.events))
		}
	}
	fit, err := FitLogistic(context.Background(), Problem{X: x, Y: y}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ll := 0.0
	for g, gr := range groups {
		p := float64(gr.events) / float64(gr.n)
		want := math.Log(p / (1 - p))
		se := 1 / math.Sqrt(float64(gr.n)*p*(1-p))
		if math.Abs(fit.Coef[g]-want) > 1e-10 || math.Abs(fit.StdErr[g]-se) > 1e-9 {
			t.Errorf("group %d: %.12f ± %.12f, want %.12f ± %.12f", g, fit.Coef[g], fit.StdErr[g], want, se)
		}
		ll += float64(gr.events)*math.Log(p) + float64(gr.n-gr.events)*math.Log(1-p)
	}
	if math.Abs(fit.LogLik-ll) > 1e-8 {
		t.Errorf("log-likelihood %v, want %v", fit.LogLik, ll)
	}
	if !fit.Converged || fit.GradNorm > 1e-8 {
		t.Errorf("converged=%v gradient norm %v", fit.Converged, fit.GradNorm)
	}
}

// TestFitRidgeStationary checks the penalised fit solves its score
// equation X'(y−μ) = λβ on the penalised columns.
func TestFitRidgeStationary(t *testing.T) {
	x := NewMatrix(3, 0, 3)
	var y []float64
	for i := range 500 {
		v := float64(i%17)/8 - 1
		x.AppendRow([]float64{1, v, v * v})
		y = append(y, b2f((i*7919)%11 < 3+int(2*v)))
	}
	const lambda = 5.0
	fit, err := FitLogistic(context.Background(), Problem{X: x, Y: y, Lambda: lambda, Penalised: []bool{false, true, true}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	score := make([]float64, 3)
	for i := range y {
		r := y[i] - Logistic(x.Dot(i, fit.Coef))
		for k := x.RowPtr[i]; k < x.RowPtr[i+1]; k++ {
			score[x.Idx[k]] += x.Val[k] * r
		}
	}
	want := []float64{0, lambda * fit.Coef[1], lambda * fit.Coef[2]}
	for j := range score {
		if math.Abs(score[j]-want[j]) > 1e-8 {
			t.Errorf("score[%d] = %v, want %v", j, score[j], want[j])
		}
	}
}

func TestFitErrors(t *testing.T) {
	ctx := context.Background()
	one := NewMatrix(2, 0, 2)
	one.AppendRow([]float64{1, 0})
	one.AppendRow([]float64{1, 0})
	if _, err := FitLogistic(ctx, Problem{X: one, Y: []float64{0, 1}}, Options{}); err == nil {
		t.Error("a zero column fitted without a singularity error")
	}
	if _, err := FitLogistic(ctx, Problem{X: one, Y: []float64{0, 2}}, Options{}); err == nil {
		t.Error("outcome 2 accepted")
	}
	if _, err := FitLogistic(ctx, Problem{X: one, Y: []float64{0}}, Options{}); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, err := FitLogistic(ctx, Problem{X: one, Y: []float64{0, 1}, Lambda: math.NaN()}, Options{}); err == nil {
		t.Error("NaN penalty accepted")
	}
	// Complete separation without a penalty: the likelihood has no maximum.
	sep := NewMatrix(2, 0, 2)
	var y []float64
	for i := range 20 {
		sep.AppendRow([]float64{1, float64(i) - 9.5})
		y = append(y, b2f(i >= 10))
	}
	if _, err := FitLogistic(ctx, Problem{X: sep, Y: y}, Options{MaxIter: 30}); err == nil {
		t.Error("separated data fitted without an error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := FitLogistic(cancelled, Problem{X: sep, Y: y, Lambda: 1}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled fit: err = %v", err)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
