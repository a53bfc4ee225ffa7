package survival

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestFitCLogLogSaturated checks the complementary log-log fit against its
// closed form: with one indicator per group, the fitted hazard of a group is
// its event share p, so β = log(−log(1−p)); the Fisher information of the
// coefficient is n·u·g with u = e^β and g = u/(e^u − 1), and the observed
// information at the optimum equals it (the score of each group is zero
// there, which makes the two agree for a saturated model).
func TestFitCLogLogSaturated(t *testing.T) {
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
	fit, err := FitModel(context.Background(), Problem{X: x, Y: y, Link: CLogLog}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for g, gr := range groups {
		p := float64(gr.events) / float64(gr.n)
		want := math.Log(-math.Log1p(-p))
		u := math.Exp(want)
		se := 1 / math.Sqrt(float64(gr.n)*u*u/math.Expm1(u))
		if math.Abs(fit.Coef[g]-want) > 1e-10 || math.Abs(fit.StdErr[g]-se)/se > 1e-9 {
			t.Errorf("group %d: %.12f ± %.12f, want %.12f ± %.12f", g, fit.Coef[g], fit.StdErr[g], want, se)
		}
		if math.Abs(fit.StdErrObserved[g]-se)/se > 1e-8 {
			t.Errorf("group %d: observed SE %.12f, want %.12f", g, fit.StdErrObserved[g], se)
		}
		if h := CLogLog.Inverse(fit.Coef[g]); math.Abs(h-p) > 1e-12 {
			t.Errorf("group %d: fitted hazard %v, want %v", g, h, p)
		}
	}
}

// randomProblem builds a person-period-like design: four period
// indicators, a numeric column and a three-level categorical one.
func randomProblem(n int, seed uint64, numeric bool) (*Matrix, []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	cols := 7
	x := NewMatrix(cols, n, 3)
	y := make([]float64, n)
	row := make([]float64, cols)
	for i := range n {
		clear(row)
		m := rng.IntN(4)
		row[m] = 1
		lvl := rng.IntN(3)
		if lvl > 0 {
			row[4+lvl-1] = 1
		}
		if numeric {
			row[6] = rng.NormFloat64()
		} else {
			row[6] = float64(rng.IntN(2))
		}
		eta := -2.5 + 0.3*float64(m) + 0.5*row[4] - 0.4*row[5] + 0.6*row[6]
		y[i] = b2f(rng.Float64() < Logistic(eta))
		x.AppendRow(row)
	}
	return x, y
}

// TestCompressedFitIsIdentical fits the same categorical data row by row
// and as binomial counts of distinct rows, under both links.
func TestCompressedFitIsIdentical(t *testing.T) {
	// 100,000 rows: the full fit runs in parallel row chunks
	// (parallelRows), the compressed one in a single chunk.
	x, y := randomProblem(100000, 3, false)
	cx, cy, cn := Compress(x, y, nil)
	if cx.Rows() > 4*3*2 || cx.Rows() < 20 {
		t.Fatalf("%d distinct rows, want at most 24", cx.Rows())
	}
	sum := 0.0
	for _, n := range cn {
		sum += n
	}
	if sum != 100000 {
		t.Fatalf("compressed trials sum to %v", sum)
	}
	for _, link := range []Link{Logit, CLogLog} {
		full, err := FitModel(context.Background(), Problem{X: x, Y: y, Link: link}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		comp, err := FitModel(context.Background(), Problem{X: cx, Y: cy, Trials: cn, Link: link}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(full.LogLik-comp.LogLik) / math.Abs(full.LogLik); d > 1e-12 {
			t.Errorf("%s: log-likelihood %v vs %v", link, full.LogLik, comp.LogLik)
		}
		for j := range full.Coef {
			if d := math.Abs(full.Coef[j] - comp.Coef[j]); d > 1e-10 {
				t.Errorf("%s: coef %d %v vs %v", link, j, full.Coef[j], comp.Coef[j])
			}
			if d := math.Abs(full.StdErr[j]-comp.StdErr[j]) / full.StdErr[j]; d > 1e-9 {
				t.Errorf("%s: SE %d %v vs %v", link, j, full.StdErr[j], comp.StdErr[j])
			}
		}
		if comp.Trials != 100000 || comp.Events != full.Events {
			t.Errorf("%s: compressed fit counts %v trials and %v events, want 100000 and %v", link, comp.Trials, comp.Events, full.Events)
		}
	}
}

// TestElasticNetOptimality checks the Karush–Kuhn–Tucker conditions of the
// elastic-net fit: for every penalised coefficient, the gradient g_j of the
// smooth part satisfies g_j = λα·sign(β_j) when β_j ≠ 0 and |g_j| ≤ λα
// when β_j = 0; unpenalised columns have g_j = 0. A strong enough penalty
// must zero at least one coefficient.
func TestElasticNetOptimality(t *testing.T) {
	x, y := randomProblem(5000, 9, true)
	pen := []bool{false, false, false, false, true, true, true}
	for _, tc := range []struct{ lambda, alpha float64 }{{5, 0.5}, {300, 1}, {2, 0.1}} {
		for _, link := range []Link{Logit, CLogLog} {
			fit, err := FitModel(context.Background(), Problem{X: x, Y: y, Link: link, Lambda: tc.lambda, Alpha: tc.alpha, Penalised: pen}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			f, _ := newFitter(Problem{X: x, Y: y, Link: link, Lambda: tc.lambda, Alpha: tc.alpha, Penalised: pen})
			f.derivatives(fit.Coef, false)
			l1 := tc.lambda * tc.alpha
			for j, b := range fit.Coef {
				g := f.grad[j]
				switch {
				case !pen[j]:
					if math.Abs(g) > 1e-7 {
						t.Errorf("λ=%v α=%v %s: unpenalised gradient %d = %v", tc.lambda, tc.alpha, link, j, g)
					}
				case b != 0:
					if math.Abs(g-l1*sign(b)) > 1e-7 {
						t.Errorf("λ=%v α=%v %s: gradient %d = %v, want %v", tc.lambda, tc.alpha, link, j, g, l1*sign(b))
					}
				default:
					if math.Abs(g) > l1+1e-9 {
						t.Errorf("λ=%v α=%v %s: zero coefficient %d has |gradient| %v > %v", tc.lambda, tc.alpha, link, j, g, l1)
					}
				}
			}
			if tc.lambda == 300 && tc.alpha == 1 {
				zeros := 0
				for _, b := range fit.Coef {
					if b == 0 {
						zeros++
					}
				}
				if zeros == 0 {
					t.Errorf("%s: the lasso at λ=300 zeroed no coefficient: %v", link, fit.Coef)
				}
			}
		}
	}
}

func TestSeparationIsReported(t *testing.T) {
	ctx := context.Background()
	// A level with no events: quasi-complete separation on an indicator.
	x := NewMatrix(3, 0, 2)
	var y []float64
	for i := range 300 {
		row := []float64{1, 0, 0}
		if i%3 == 1 {
			row[1] = 1
		}
		if i%3 == 2 {
			row[2] = 1
		}
		x.AppendRow(row)
		y = append(y, b2f(i%3 != 2 && i%7 == 0))
	}
	names := []string{"month_1+", "program=a", "program=b"}
	_, err := FitModel(ctx, Problem{X: x, Y: y, Names: names}, Options{})
	if !errors.Is(err, ErrSeparation) || !strings.Contains(err.Error(), "program=b") {
		t.Errorf("zero-event level: err = %v", err)
	}
	// The same data with a ridge penalty fit fine.
	if _, err := FitModel(ctx, Problem{X: x, Y: y, Names: names, Lambda: 1, Penalised: []bool{false, true, true}}, Options{}); err != nil {
		t.Errorf("penalised fit of a zero-event level: %v", err)
	}
	// Complete separation on a numeric column.
	sep := NewMatrix(2, 0, 2)
	y = y[:0]
	for i := range 40 {
		sep.AppendRow([]float64{1, float64(i) - 19.5})
		y = append(y, b2f(i >= 20))
	}
	for _, link := range []Link{Logit, CLogLog} {
		_, err = FitModel(ctx, Problem{X: sep, Y: y, Link: link, Names: []string{"intercept", "score"}}, Options{})
		if !errors.Is(err, ErrSeparation) || !strings.Contains(err.Error(), "score") {
			t.Errorf("%s: numeric separation: err = %v", link, err)
		}
	}
}

// TestSeparationByReferenceLevel: a reference level (no column of its own)
// whose rows have no events is named like any other level. Without the
// level listed, the fit still reports separation; before, it failed with
// gonum's "matrix singular or near-singular with condition number 1.6e+16".
func TestSeparationByReferenceLevel(t *testing.T) {
	// 400 patients over months 1–6 at sites aa (the reference), bb, cc, dd;
	// nobody at site aa drops off.
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"month_1", "month_2", "month_3", "month_4", "month_5", "month_6+", "age", "site=bb", "site=cc", "site=dd"}
	x := NewMatrix(len(names), 0, 3)
	var y []float64
	for p := range 400 {
		site := []int{0, 0, 1, 2, 3}[p%5]
		age := 30 + rng.Float64()*40
		for m := 1; m <= 6; m++ {
			row := make([]float64, len(names))
			row[m-1], row[6] = 1, age
			if site > 0 {
				row[6+site] = 1
			}
			event := site > 0 && rng.Float64() < 0.15
			x.AppendRow(row)
			y = append(y, b2f(event))
			if event {
				break
			}
		}
	}
	for _, link := range []Link{Logit, CLogLog} {
		p := Problem{X: x, Y: y, Link: link, Names: names}
		if _, err := FitModel(context.Background(), p, Options{}); !errors.Is(err, ErrSeparation) {
			t.Errorf("%s, no reference level listed: err = %v, want separation", link, err)
		}
		p.References = []Reference{{Name: "site=aa", Columns: []int{7, 8, 9}}}
		_, err := FitModel(context.Background(), p, Options{})
		if !errors.Is(err, ErrSeparation) || !strings.Contains(err.Error(), "none of the 960 rows with site=aa (the reference level) has an event") {
			t.Errorf("%s: err = %v, want separation naming site=aa", link, err)
		}
	}
}

// TestCollinearColumnsAreNamed: an exactly collinear pair is named with the
// combination, whether the Cholesky factorisation fails or rounding lets it
// through.
func TestCollinearColumnsAreNamed(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		factor float64
		want   string
	}{{2, "dose_mg = 2·dose"}, {0.1, "dose_mg = 0.1·dose"}, {-3, "dose_mg = -3·dose"}} {
		x := NewMatrix(4, 0, 4)
		var y []float64
		for range 400 {
			dose, age := rng.NormFloat64(), rng.NormFloat64()
			x.AppendRow([]float64{1, dose, age, c.factor * dose})
			y = append(y, b2f(rng.Float64() < 0.2))
		}
		p := Problem{X: x, Y: y, Names: []string{"intercept", "dose", "age", "dose_mg"}}
		_, err := FitModel(context.Background(), p, Options{})
		if err == nil || !strings.Contains(err.Error(), "collinear columns, "+c.want) {
			t.Errorf("x₄ = %g·x₂: err = %v, want it to say %q", c.factor, err, c.want)
		}
	}
}
