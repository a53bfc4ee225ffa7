package caresignal

import (
	"math"
	"testing"
)

// TestRisk30: 30 days under one month's constant hazard h is h, whatever
// part of the month has passed; with the next month's hazard, the days
// taken from it count at its rate.
func TestRisk30(t *testing.T) {
	for _, h := range []float64{0, 0.01, 0.2, 0.9} {
		for _, d := range []int{0, 1, 15, 29} {
			rest := MonthInProgress(h, d)
			if got := Risk30([]float64{rest}, d); math.Abs(got-h) > 1e-12 {
				t.Errorf("h %v, %d days passed, no next month: %v, want %v", h, d, got, h)
			}
			if got := Risk30([]float64{rest, h, 0.5}, d); math.Abs(got-h) > 1e-12 {
				t.Errorf("h %v, %d days passed, the same next month: %v, want %v", h, d, got, h)
			}
			next := 0.3
			want := 1 - math.Pow(1-h, float64(30-d)/30)*math.Pow(1-next, float64(d)/30)
			if got := Risk30([]float64{rest, next}, d); math.Abs(got-want) > 1e-12 {
				t.Errorf("h %v then %v, %d days passed: %v, want %v", h, next, d, got, want)
			}
		}
	}
	for _, h := range []float64{0, 0.03, 0.5} {
		for _, d := range []int{0, 7, 29} {
			if got := WholeMonth(MonthInProgress(h, d), d); math.Abs(got-h) > 1e-12 {
				t.Errorf("WholeMonth(MonthInProgress(%v, %d)) = %v", h, d, got)
			}
		}
	}
	if Risk30(nil, 3) != 0 {
		t.Error("no hazard: want 0")
	}
}
