package survival

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestCurve(t *testing.T) {
	tests := []struct {
		hazard   []float64
		survival []float64
		expected float64
		median   int
	}{
		{[]float64{0.5}, []float64{0.5}, 0.5, 1},
		{[]float64{0.1, 0.2, 0.5}, []float64{0.9, 0.72, 0.36}, 1.98, 3},
		{[]float64{0, 0}, []float64{1, 1}, 2, 0},
		{[]float64{1, 0.3}, []float64{0, 0}, 0, 1},
		{[]float64{0.2, 0.2, 0.2, 0.2}, []float64{0.8, 0.64, 0.512, 0.4096}, 2.3616, 4},
	}
	for _, tt := range tests {
		s := make([]float64, len(tt.hazard))
		e, m := Curve(tt.hazard, s)
		for i := range s {
			if math.Abs(s[i]-tt.survival[i]) > 1e-15 {
				t.Errorf("Curve(%v) survival = %v, want %v", tt.hazard, s, tt.survival)
				break
			}
		}
		if math.Abs(e-tt.expected) > 1e-14 || m != tt.median {
			t.Errorf("Curve(%v) = %v, %d; want %v, %d", tt.hazard, e, m, tt.expected, tt.median)
		}
	}
}

// TestCurveProperties checks, on random hazards, that survival starts below
// one, never increases, stays in [0,1], and that the restricted mean lies
// between 0 and the horizon.
func TestCurveProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		n := 1 + rng.IntN(60)
		h := make([]float64, n)
		for i := range h {
			h[i] = rng.Float64() * rng.Float64()
		}
		s := make([]float64, n)
		e, m := Curve(h, s)
		prev := 1.0
		for i, v := range s {
			if v > prev || v < 0 || v > 1 {
				t.Fatalf("survival %v not non-increasing in [0,1] at %d", s, i)
			}
			prev = v
		}
		if e < 0 || e > float64(n) {
			t.Fatalf("restricted mean %v outside [0, %d]", e, n)
		}
		if m > 0 && (s[m-1] > 0.5 || m > 1 && s[m-2] <= 0.5) {
			t.Fatalf("median %d wrong for %v", m, s)
		}
	}
}

func TestLogisticTails(t *testing.T) {
	for _, eta := range []float64{-800, -40, -1, 0, 1, 40, 800} {
		p := Logistic(eta)
		if math.IsNaN(p) || p < 0 || p > 1 {
			t.Errorf("Logistic(%v) = %v", eta, p)
		}
		if l := Logit.logLik(1, 1, eta); math.IsInf(l, 0) || math.IsNaN(l) {
			t.Errorf("logLik(1, 1, %v) = %v", eta, l)
		}
	}
	if got := Logistic(0); got != 0.5 {
		t.Errorf("Logistic(0) = %v", got)
	}
	if got, want := Logistic(-3), 1/(1+math.Exp(3)); math.Abs(got-want) > 1e-17 {
		t.Errorf("Logistic(-3) = %v, want %v", got, want)
	}
}
