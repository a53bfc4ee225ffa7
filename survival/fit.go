package survival

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Problem is an L2-penalised logistic regression of binary outcomes Y on the
// rows of X. The fit maximises the penalised log-likelihood
//
//	ℓ_λ(β) = Σ_i [y_i η_i − log(1 + e^{η_i})] − (λ/2) Σ_j p_j β_j²,  η = Xβ,
//
// where p_j is 1 for penalised columns and 0 for the others (the baseline
// hazard terms, which play the role of intercepts, are never penalised).
type Problem struct {
	X         *Matrix
	Y         []float64 // 0 or 1, one per row of X
	Lambda    float64   // penalty strength λ ≥ 0
	Penalised []bool    // per column; nil penalises every column
}

// Options tune the fitter. The zero value is usable.
type Options struct {
	MaxIter int     // Newton iterations before giving up; default 50
	Tol     float64 // stop when max|Δβ| ≤ Tol·(1+max|β|); default 1e-10
	// OnIteration, if set, is called after every Newton iteration.
	OnIteration func(Iteration)
}

// Iteration records one Newton step.
type Iteration struct {
	Iter            int     `json:"iter"`
	LogLik          float64 `json:"log_lik"`           // unpenalised, after the step
	PenalisedLogLik float64 `json:"penalised_log_lik"` // the objective, after the step
	GradNorm        float64 `json:"grad_norm"`         // ‖∇ℓ_λ‖₂ before the step
	MaxStep         float64 `json:"max_step"`          // max|Δβ| actually taken
	Halvings        int     `json:"halvings"`          // step halvings needed
}

// Fit is a fitted model with its diagnostics.
type Fit struct {
	Coef            []float64   // β̂
	StdErr          []float64   // √diag of Cov
	Cov             []float64   // inverse penalised information at β̂, row-major p×p
	LogLik          float64     // unpenalised log-likelihood at β̂
	PenalisedLogLik float64     // the maximised objective
	GradNorm        float64     // ‖∇ℓ_λ(β̂)‖₂
	Iterations      int         // Newton iterations taken
	Converged       bool        // always true when err is nil
	Path            []Iteration // one entry per iteration
	Rows            int
	Events          int
}

// ErrNotConverged is returned (wrapped) when Newton's method does not meet
// the tolerance within the allowed iterations.
var ErrNotConverged = errors.New("the fit did not converge")

// FitLogistic fits p by Newton's method with step halving. The information
// matrix X'WX + λP is accumulated over the non-zeros of X only.
func FitLogistic(ctx context.Context, p Problem, opt Options) (*Fit, error) {
	n, k := p.X.Rows(), p.X.Cols
	if len(p.Y) != n {
		return nil, fmt.Errorf("survival: %d outcomes for %d rows", len(p.Y), n)
	}
	if n == 0 || k == 0 {
		return nil, errors.New("survival: nothing to fit: the design has no rows or no columns")
	}
	if p.Lambda < 0 || math.IsNaN(p.Lambda) || math.IsInf(p.Lambda, 0) {
		return nil, fmt.Errorf("survival: penalty strength %v must be a finite number ≥ 0", p.Lambda)
	}
	if p.Penalised != nil && len(p.Penalised) != k {
		return nil, fmt.Errorf("survival: %d penalty flags for %d columns", len(p.Penalised), k)
	}
	events := 0
	for i, y := range p.Y {
		if y != 0 && y != 1 {
			return nil, fmt.Errorf("survival: outcome of row %d is %v, want 0 or 1", i, y)
		}
		events += int(y)
	}
	if opt.MaxIter <= 0 {
		opt.MaxIter = 50
	}
	if opt.Tol <= 0 {
		opt.Tol = 1e-10
	}
	pen := make([]float64, k)
	for j := range pen {
		if p.Penalised == nil || p.Penalised[j] {
			pen[j] = p.Lambda
		}
	}

	f := &fitter{p: p, pen: pen, n: n, k: k,
		eta:  make([]float64, n),
		grad: make([]float64, k),
		info: mat.NewSymDense(k, nil),
	}
	beta := make([]float64, k)
	obj, ll := f.objective(beta)
	fit := &Fit{Rows: n, Events: events}
	trial := make([]float64, k)
	for it := 1; it <= opt.MaxIter; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f.derivatives(beta)
		step, err := f.newtonStep()
		if err != nil {
			return nil, err
		}
		rec := Iteration{Iter: it, GradNorm: norm2(f.grad)}
		// Step halving: Newton's step on a concave objective can overshoot
		// far from the optimum; halve it until the objective does not fall.
		t := 1.0
		var newObj, newLL float64
		for {
			for j := range trial {
				trial[j] = beta[j] + t*step[j]
			}
			newObj, newLL = f.objective(trial)
			if newObj >= obj-1e-12*math.Abs(obj) || rec.Halvings >= 40 {
				break
			}
			t /= 2
			rec.Halvings++
		}
		if !(newObj >= obj-1e-12*math.Abs(obj)) {
			return nil, fmt.Errorf("survival: iteration %d: no step improves the likelihood: %w", it, ErrNotConverged)
		}
		maxStep, maxBeta := 0.0, 0.0
		for j := range beta {
			maxStep = math.Max(maxStep, math.Abs(trial[j]-beta[j]))
			maxBeta = math.Max(maxBeta, math.Abs(trial[j]))
		}
		copy(beta, trial)
		obj, ll = newObj, newLL
		rec.LogLik, rec.PenalisedLogLik, rec.MaxStep = ll, obj, maxStep
		fit.Path = append(fit.Path, rec)
		if opt.OnIteration != nil {
			opt.OnIteration(rec)
		}
		// Converged only on a full Newton step: a step shrunk by halving
		// is small because it was cut, not because the optimum is near.
		if rec.Halvings == 0 && maxStep <= opt.Tol*(1+maxBeta) {
			fit.Converged = true
			fit.Iterations = it
			break
		}
	}
	if !fit.Converged {
		return nil, fmt.Errorf("survival: max|Δβ| still above %g after %d iterations: %w", opt.Tol, opt.MaxIter, ErrNotConverged)
	}
	// Information, gradient and covariance at the optimum.
	f.derivatives(beta)
	var chol mat.Cholesky
	if !chol.Factorize(f.info) {
		return nil, errSingular
	}
	var cov mat.SymDense
	if err := chol.InverseTo(&cov); err != nil {
		return nil, fmt.Errorf("survival: inverting the information matrix: %w", err)
	}
	fit.Coef = beta
	fit.LogLik, fit.PenalisedLogLik = ll, obj
	fit.GradNorm = norm2(f.grad)
	fit.Cov = make([]float64, k*k)
	fit.StdErr = make([]float64, k)
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			fit.Cov[i*k+j] = cov.At(i, j)
		}
		fit.StdErr[i] = math.Sqrt(cov.At(i, i))
	}
	return fit, nil
}

var errSingular = errors.New("survival: the information matrix is singular: a column is constant, all zero, or a combination of others")

type fitter struct {
	p    Problem
	pen  []float64
	n, k int
	eta  []float64
	grad []float64
	info *mat.SymDense
}

// objective returns the penalised and the plain log-likelihood at beta.
func (f *fitter) objective(beta []float64) (pll, ll float64) {
	x := f.p.X
	for i := 0; i < f.n; i++ {
		ll += logLik1(f.p.Y[i], x.Dot(i, beta))
	}
	pll = ll
	for j, b := range beta {
		pll -= 0.5 * f.pen[j] * b * b
	}
	return pll, ll
}

// derivatives sets grad = X'(y−μ) − λPβ and info = X'WX + λP at beta.
func (f *fitter) derivatives(beta []float64) {
	x, k := f.p.X, f.k
	clear(f.grad)
	h := make([]float64, k*k) // upper triangle, row-major
	for i := 0; i < f.n; i++ {
		lo, hi := x.RowPtr[i], x.RowPtr[i+1]
		eta := 0.0
		for e := lo; e < hi; e++ {
			eta += x.Val[e] * beta[x.Idx[e]]
		}
		mu := Logistic(eta)
		r, w := f.p.Y[i]-mu, mu*(1-mu)
		for e := lo; e < hi; e++ {
			a, va := int(x.Idx[e]), x.Val[e]
			f.grad[a] += va * r
			wa := w * va
			row := h[a*k:]
			for e2 := e; e2 < hi; e2++ {
				row[x.Idx[e2]] += wa * x.Val[e2]
			}
		}
	}
	for a := 0; a < k; a++ {
		f.grad[a] -= f.pen[a] * beta[a]
		for b := a; b < k; b++ {
			v := h[a*k+b]
			if a == b {
				v += f.pen[a]
			}
			f.info.SetSym(a, b, v)
		}
	}
}

// newtonStep solves info·Δ = grad.
func (f *fitter) newtonStep() ([]float64, error) {
	var chol mat.Cholesky
	if !chol.Factorize(f.info) {
		return nil, errSingular
	}
	step := mat.NewVecDense(f.k, nil)
	if err := chol.SolveVecTo(step, mat.NewVecDense(f.k, append([]float64(nil), f.grad...))); err != nil {
		return nil, fmt.Errorf("survival: solving the Newton step: %w", err)
	}
	return step.RawVector().Data, nil
}

func norm2(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}
