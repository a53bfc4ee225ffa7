package survival

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// personPeriod1M builds a 1,000,000-row person-period design: 12 month
// terms, then (numeric) 4 standard-normal covariates, then two categorical
// covariates with 3 and 4 levels as indicators, and outcomes drawn from a
// known logit model with hazards of a few percent.
func personPeriod1M(numeric bool) (*Matrix, []float64) {
	const rows, months = 1_000_000, 12
	rng := rand.New(rand.NewPCG(11, 12))
	nnum := 0
	if numeric {
		nnum = 4
	}
	cols := months + nnum + 2 + 3
	x := NewMatrix(cols, rows, 1+nnum+2)
	y := make([]float64, 0, rows)
	dense := make([]float64, cols)
	month := 1
	for len(y) < rows {
		clear(dense)
		dense[month-1] = 1
		eta := -3.0 + 0.05*float64(month)
		for j := range nnum {
			v := rng.NormFloat64()
			dense[months+j] = v
			eta += 0.2 * float64(j-1) * v
		}
		if a := rng.IntN(3); a > 0 {
			dense[months+nnum+a-1] = 1
			eta += 0.3 * float64(a)
		}
		if b := rng.IntN(4); b > 0 {
			dense[months+nnum+2+b-1] = 1
			eta -= 0.2 * float64(b)
		}
		x.AppendRow(dense)
		ev := rng.Float64() < Logistic(eta)
		y = append(y, b2f(ev))
		month++
		if ev || month > months {
			month = 1
		}
	}
	return x, y
}

// BenchmarkFit1M fits a 1,000,000-row person-period table: with numeric
// covariates under both links, and with categorical covariates only,
// directly and after merging identical rows into binomial counts (the
// timing includes the merge).
func BenchmarkFit1M(b *testing.B) {
	xn, yn := personPeriod1M(true)
	xc, yc := personPeriod1M(false)
	for _, link := range []Link{Logit, CLogLog} {
		b.Run(fmt.Sprintf("numeric/%s", link), func(b *testing.B) {
			for b.Loop() {
				if _, err := FitModel(context.Background(), Problem{X: xn, Y: yn, Link: link}, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("categorical/%s", link), func(b *testing.B) {
			for b.Loop() {
				if _, err := FitModel(context.Background(), Problem{X: xc, Y: yc, Link: link}, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("categorical-compressed/%s", link), func(b *testing.B) {
			for b.Loop() {
				cx, cy, ct := Compress(xc, yc, nil)
				if _, err := FitModel(context.Background(), Problem{X: cx, Y: cy, Trials: ct, Link: link}, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("elasticnet/logit", func(b *testing.B) {
		pen := make([]bool, xn.Cols)
		for j := 12; j < len(pen); j++ {
			pen[j] = true
		}
		for b.Loop() {
			if _, err := FitModel(context.Background(), Problem{X: xn, Y: yn, Lambda: 50, Alpha: 0.5, Penalised: pen}, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
