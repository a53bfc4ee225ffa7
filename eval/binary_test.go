package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAUCMatchesPairCount checks the rank formula against the definition:
// the share of (event, non-event) pairs the scores order correctly, ties
// counting one half, with many ties on purpose.
func TestAUCMatchesPairCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		n := 2 + rng.IntN(200)
		p, y := make([]float64, n), make([]float64, n)
		for i := range p {
			p[i] = float64(rng.IntN(10)) / 10
			if rng.Float64() < 0.3+0.4*p[i] {
				y[i] = 1
			}
		}
		var num, den float64
		for i := range p {
			for j := range p {
				if y[i] == 1 && y[j] == 0 {
					den++
					switch {
					case p[i] > p[j]:
						num++
					case p[i] == p[j]:
						num += 0.5
					}
				}
			}
		}
		got := AUC(p, y)
		if den == 0 {
			if !math.IsNaN(got) {
				t.Fatalf("AUC without both classes = %v, want NaN", got)
			}
			continue
		}
		if math.Abs(got-num/den) > 1e-12 {
			t.Fatalf("AUC = %v, pair count gives %v", got, num/den)
		}
	}
}

func TestEvaluateBinary(t *testing.T) {
	b := EvaluateBinary([]float64{0.1, 0.8, 0.4, 0}, []float64{0, 1, 1, 0})
	wantLL := -(math.Log(0.9) + math.Log(0.8) + math.Log(0.4) + math.Log(1-1e-15)) / 4
	if b.Rows != 4 || b.Events != 2 || math.Abs(b.LogLoss-wantLL) > 1e-12 ||
		math.Abs(b.Brier-(0.01+0.04+0.36+0)/4) > 1e-15 || b.AUC == nil || *b.AUC != 1 ||
		b.ObservedRate != 0.5 || math.Abs(b.MeanPredicted-0.325) > 1e-15 {
		t.Errorf("EvaluateBinary = %+v", b)
	}
	if b := EvaluateBinary([]float64{0.2}, []float64{0}); b.AUC != nil {
		t.Error("AUC reported with one class")
	}
}
