package model

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"runtime"
	"sync"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/survival"
	"golang.org/x/sync/errgroup"
)

// CVCurve is the cross-validation that chose the penalty strength.
type CVCurve struct {
	Folds int `json:"folds"`
	// Lambdas is the grid, from strongest to weakest.
	Lambdas []float64 `json:"lambdas"`
	// Deviance[i] is the held-out deviance per person-period row at
	// Lambdas[i]: −2 × the held-out log-likelihood, summed over folds,
	// over the held-out rows. SE[i] is its standard error across folds.
	Deviance []float64 `json:"deviance"`
	SE       []float64 `json:"se"`
	// Chosen is the λ with the lowest deviance; OneSE the largest λ whose
	// deviance is within one standard error of it (recorded, not used).
	Chosen float64 `json:"chosen"`
	OneSE  float64 `json:"one_se"`
}

// foldsByPatient assigns each row the fold of its patient, from a hash of
// the patient id, so that no patient's rows are split between folds.
func foldsByPatient(x *caresignal.Extract, folds int) []int {
	out := make([]int, len(x.Rows))
	last, fold := "", 0
	for i, r := range x.Rows {
		if i == 0 || r.PatientID != last {
			h := fnv.New64a()
			h.Write([]byte("cv\x00"))
			h.Write([]byte(r.PatientID))
			fold, last = int(h.Sum64()%uint64(folds)), r.PatientID
		}
		out[i] = fold
	}
	return out
}

// lambdaGrid returns n strengths, log-spaced from λ_max down to λ_max/10⁴
// (10⁶ for ridge), where λ_max is the smallest elastic-net strength that
// keeps every penalised coefficient at zero (for ridge, that of α = 0.001,
// as glmnet does): max_j |∂ℓ/∂β_j| / α at the fit of the unpenalised terms
// alone, with the penalised coefficients exactly zero. Ridge needs the
// longer span: its λ_max is a thousand times past the point where
// shrinkage stops mattering.
func lambdaGrid(ctx context.Context, p survival.Problem, n int) ([]float64, error) {
	// The null fit to the last digits: the gradient at it is λ_max·α.
	null, err := survival.FitUnpenalisedOnly(ctx, p, survival.Options{Tol: 1e-12})
	if err != nil {
		return nil, fmt.Errorf("the fit without features: %w", err)
	}
	g, err := survival.Score(p, null)
	if err != nil {
		return nil, err
	}
	gmax := 0.0
	for j, v := range g {
		if p.Penalised == nil || p.Penalised[j] {
			gmax = math.Max(gmax, math.Abs(v))
		}
	}
	if gmax == 0 {
		return nil, fmt.Errorf("no feature is related to the outcome at all: nothing to penalise")
	}
	// gmax/α is the exact bound, to about 1e-12. At it the largest score
	// ties with the L1 threshold, and rounding in the fit's sums can then
	// leave that coefficient at 1e-17 instead of 0; a relative 1e-9 above
	// it breaks the tie, and is far below anything the grid resolves.
	hi := gmax / max(p.Alpha, 1e-3) * (1 + 1e-9)
	span := 1e-4
	if p.Alpha < 1e-3 {
		span = 1e-6
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = hi * math.Pow(span, float64(i)/float64(n-1))
	}
	return out, nil
}

// crossValidate computes the held-out deviance of every λ on the grid for
// each fold, fitting the path from the strongest penalty down with warm
// starts, and picks the λ with the lowest mean. p holds the person-period
// rows the folds split; whole is the same problem as the final fit solves
// it (merged into binomial counts when compress is set), which sets the
// grid; each fold's training rows are merged likewise.
func crossValidate(ctx context.Context, p, whole survival.Problem, fold []int, compress bool, opt TrainOptions) (*CVCurve, error) {
	grid, err := lambdaGrid(ctx, whole, opt.Lambdas)
	if err != nil {
		return nil, err
	}
	k := opt.Folds
	cv := &CVCurve{Folds: k, Lambdas: grid, Deviance: make([]float64, len(grid)), SE: make([]float64, len(grid))}
	perFold := make([][]float64, k) // deviance per row, fold × λ
	heldRows := make([]float64, k)
	var mu sync.Mutex // guards done and OnCV
	done, total := 0, k*len(grid)
	// Folds are independent: fit them on all cores.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for f := range k {
		var in, out []int
		for i, fi := range fold {
			if fi == f {
				out = append(out, i)
			} else {
				in = append(in, i)
			}
		}
		if len(out) == 0 || len(in) == 0 {
			return nil, caresignal.Invalidf("folds", "fold %d of %d is empty: too few patients for %d-fold cross-validation", f+1, k, k)
		}
		g.Go(func() error {
			train, test := p, p
			train.X, train.Y, train.Trials = p.X.SelectRows(in, p.Y, p.Trials)
			test.X, test.Y, test.Trials = p.X.SelectRows(out, p.Y, p.Trials)
			if compress {
				train.X, train.Y, train.Trials = survival.Compress(train.X, train.Y, train.Trials)
			}
			held := float64(len(out))
			if test.Trials != nil {
				held = 0
				for _, t := range test.Trials {
					held += t
				}
			}
			dev := make([]float64, len(grid))
			var start []float64
			for i, lambda := range grid {
				train.Lambda = lambda
				// The curve needs the held-out deviance to a few digits,
				// not the coefficients to ten.
				fit, err := survival.FitModel(gctx, train, survival.Options{Start: start, Tol: 1e-7})
				if errors.Is(err, survival.ErrSeparation) {
					// A baseline term the whole data can estimate, but not
					// this fold's training patients: its month's drop-offs
					// all fell among the held-out ones.
					return fmt.Errorf("fold %d of %d: %w; in this fold, because that month's few drop-offs are all among its held-out patients: use a baseline that pools sparse months (months, with a larger min_events if need be, or piecewise breaks), or fewer folds", f+1, k, err)
				}
				if err != nil {
					return fmt.Errorf("fold %d, λ = %.4g: %w", f+1, lambda, err)
				}
				start = fit.Coef
				ll, err := survival.LogLik(test, fit.Coef)
				if err != nil {
					return err
				}
				dev[i] = -2 * ll / held
				mu.Lock()
				done++
				if opt.OnCV != nil {
					opt.OnCV(done, total)
				}
				mu.Unlock()
			}
			perFold[f], heldRows[f] = dev, held
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var rows float64
	for _, r := range heldRows {
		rows += r
	}
	best := 0
	for i := range grid {
		mean := 0.0
		for f := range k {
			mean += perFold[f][i] * heldRows[f]
		}
		mean /= rows
		ss := 0.0
		for f := range k {
			d := perFold[f][i] - mean
			ss += heldRows[f] * d * d
		}
		cv.Deviance[i] = mean
		cv.SE[i] = math.Sqrt(ss / rows / float64(k-1))
		if mean < cv.Deviance[best] {
			best = i
		}
	}
	cv.Chosen = grid[best]
	cv.OneSE = cv.Chosen
	for i := best - 1; i >= 0 && cv.Deviance[i] <= cv.Deviance[best]+cv.SE[best]; i-- {
		cv.OneSE = grid[i]
	}
	return cv, nil
}
