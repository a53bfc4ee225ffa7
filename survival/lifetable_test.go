package survival

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// TestLifeTable: with only one indicator per period, the fitted hazard of
// period k is the life-table estimate events_k / at-risk_k, under either
// link, to the last bits of floating point.
func TestLifeTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const periods = 9
	var rows, events [periods]float64
	x := NewMatrix(periods, 0, 1)
	var y []float64
	dense := make([]float64, periods)
	for range 5000 {
		// a subject at risk from period 1 until an event or the end
		for k := range periods {
			clear(dense)
			dense[k] = 1
			x.AppendRow(dense)
			ev := rng.Float64() < 0.04+0.02*float64(k)
			rows[k]++
			if ev {
				events[k]++
				y = append(y, 1)
				break
			}
			y = append(y, 0)
		}
	}
	for _, link := range []Link{Logit, CLogLog} {
		fit, err := FitModel(context.Background(), Problem{X: x, Y: y, Link: link}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for k := range periods {
			want := events[k] / rows[k]
			got := link.Inverse(fit.Coef[k])
			if math.Abs(got-want) > 1e-14*want {
				t.Errorf("%s: period %d hazard %.17g, life table %v/%v = %.17g", link, k+1, got, events[k], rows[k], want)
			}
		}
	}
}
