package caresignal

import (
	"math"
	"testing"
)

// TestMonthInProgress: the rest of a month after d of its 30 days has
// the hazard that, compounded with the days already passed at the same
// constant rate, gives the whole month's; none passed is the whole month;
// it keeps its precision for tiny hazards.
func TestMonthInProgress(t *testing.T) {
	for _, h := range []float64{1e-15, 1e-6, 0.02, 0.3, 0.999} {
		if got := MonthInProgress(h, 0); got != h {
			t.Errorf("h %v, no day passed: %v", h, got)
		}
		for d := 1; d < MonthDays; d++ {
			rest := MonthInProgress(h, d)
			left := float64(MonthDays-d) / MonthDays
			if h < 1e-3 {
				// to first order, the share of the month left: h·left(1 + O(h))
				if math.Abs(rest-h*left) > 2*h*h {
					t.Errorf("h %v, %d days: %v, want about %v", h, d, rest, h*left)
				}
			} else {
				// the first d days at the same constant rate compound with
				// the rest to the whole month
				first := 1 - math.Pow(1-h, 1-left)
				if whole := 1 - (1-first)*(1-rest); math.Abs(whole-h) > 1e-12 {
					t.Errorf("h %v, %d days: the two parts compound to %v", h, d, whole)
				}
			}
			if !(rest > 0 && rest < h) {
				t.Errorf("h %v, %d days: the rest of the month %v is not in (0, h)", h, d, rest)
			}
		}
	}
	// Half the month left: 1 − √(1 − h).
	if got, want := MonthInProgress(0.19, 15), 1-math.Sqrt(0.81); math.Abs(got-want) > 1e-16 {
		t.Errorf("half a month of 0.19: %v, want %v", got, want)
	}
	// A hazard of 1e-15 over the last third: about a third of it, not 0.
	if got := MonthInProgress(1e-15, 20); math.Abs(got-1e-15/3) > 1e-28 {
		t.Errorf("a tiny hazard's last third: %v", got)
	}
}
