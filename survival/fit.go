package survival

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Problem is a penalised binomial regression of event counts Y on the rows
// of X under a link. The fit maximises
//
//	ℓ_λ(β) = Σ_i ℓ_i(η_i) − λ Σ_j p_j [ (1−α)/2 · β_j² + α · |β_j| ],  η = Xβ,
//
// where ℓ_i is row i's binomial log-likelihood for Y_i events in Trials_i
// trials (without the binomial coefficient, so that a row of n trials counts
// exactly as n person-period rows would), and p_j is 1 for penalised columns
// and 0 for the others: the baseline hazard terms, which play the role of
// intercepts, are never penalised. α = 0 is ridge (L2), α = 1 the lasso,
// between them the elastic net.
type Problem struct {
	X      *Matrix
	Y      []float64 // events per row: 0 or 1, or 0..Trials[i] with Trials
	Trials []float64 // trials per row; nil: one per row (person-period rows)
	Link   Link      // "" is Logit
	Lambda float64   // penalty strength λ ≥ 0
	Alpha  float64   // L1 share of the penalty, in [0, 1]
	// Penalised flags the penalised columns; nil penalises every column.
	Penalised []bool
	// Names name the columns in error messages; optional.
	Names []string
	// References are the levels coded by no column of their own, such as
	// the reference level of a one-hot encoded feature, so that a
	// separation by one of them is named as one of the other levels is.
	// Optional.
	References []Reference
}

// Reference is a level coded by the absence of its siblings: its rows are
// those where every column of Columns is zero. In a model with a constant
// (every baseline spans one) a reference level whose rows all have events,
// or none, separates the data just as a level with a column does: moving
// the constant one way and the siblings' coefficients the other changes
// only the reference level's rows.
type Reference struct {
	Name    string // e.g. "site=aa"
	Columns []int  // the columns of the other levels
}

// Options tune the fitter. The zero value is usable.
type Options struct {
	MaxIter int     // Newton iterations before giving up; default 100
	Tol     float64 // stop when max|Δβ| ≤ Tol·(1+max|β|); default 1e-10
	// Start is the starting point (a warm start); nil: zeros.
	Start []float64
	// OnIteration, if set, is called after every Newton iteration.
	OnIteration func(Iteration)
}

// Iteration records one Newton step.
type Iteration struct {
	Iter            int     `json:"iter"`
	LogLik          float64 `json:"log_lik"`           // unpenalised, after the step
	PenalisedLogLik float64 `json:"penalised_log_lik"` // the objective, after the step
	GradNorm        float64 `json:"grad_norm"`         // ‖∇ of the smooth part‖₂ before the step
	MaxStep         float64 `json:"max_step"`          // max|Δβ| actually taken
	Halvings        int     `json:"halvings"`          // step halvings needed
}

// Fit is a fitted model with its diagnostics.
type Fit struct {
	Coef []float64 // β̂
	// StdErr and Cov come from the expected (Fisher) information at β̂, as
	// R's glm reports them, plus the ridge part of the penalty for a
	// penalised fit. For the logit link the expected and observed
	// information are equal.
	StdErr []float64
	Cov    []float64 // row-major p×p
	// StdErrObserved and CovObserved come from the observed information
	// (the negative Hessian of the log-likelihood); set for CLogLog only.
	StdErrObserved  []float64
	CovObserved     []float64
	LogLik          float64     // unpenalised log-likelihood at β̂
	PenalisedLogLik float64     // the maximised objective
	GradNorm        float64     // ‖∇ℓ_λ(β̂)‖₂ over the non-zero coefficients
	Iterations      int         // Newton iterations taken
	Converged       bool        // always true when err is nil
	Path            []Iteration // one entry per iteration
	Rows            int         // rows of X
	Trials          float64     // Σ Trials (person-period rows represented)
	Events          float64     // Σ Y
	// EDF is the effective number of parameters: the column count without
	// a penalty, trace(I·(I+λ(1−α)P)⁻¹) over the non-zero coefficients
	// with one.
	EDF float64
}

// ErrNotConverged is returned (wrapped) when Newton's method does not meet
// the tolerance within the allowed iterations.
var ErrNotConverged = errors.New("the fit did not converge")

// ErrSeparation is returned (wrapped) when the maximum-likelihood estimate
// does not exist because some columns separate the rows with events from
// those without: the likelihood keeps rising as a coefficient runs off to
// ±∞. A penalty, merging levels or dropping the column cures it.
var ErrSeparation = errors.New("the data are separated: the maximum-likelihood estimate does not exist")

// FitLogistic fits a logit-link problem; it is Fit with p.Link = Logit.
func FitLogistic(ctx context.Context, p Problem, opt Options) (*Fit, error) {
	p.Link = Logit
	return FitModel(ctx, p, opt)
}

// FitModel fits p by Newton's method with step halving. The smooth part of
// the objective is maximised by Newton steps on the observed information;
// with an L1 part, each step is a proximal Newton step whose quadratic
// subproblem is solved by coordinate descent. The information matrix is
// accumulated over the non-zeros of X only.
func FitModel(ctx context.Context, p Problem, opt Options) (*Fit, error) {
	f, err := newFitter(p)
	if err != nil {
		return nil, err
	}
	if err := f.checkIndicatorSeparation(); err != nil {
		return nil, err
	}
	if opt.MaxIter <= 0 {
		opt.MaxIter = 100
	}
	if opt.Tol <= 0 {
		opt.Tol = 1e-10
	}
	beta := make([]float64, f.k)
	if opt.Start != nil {
		if len(opt.Start) != f.k {
			return nil, fmt.Errorf("survival: start has %d values for %d columns", len(opt.Start), f.k)
		}
		copy(beta, opt.Start)
	}
	obj, ll := f.objective(beta)
	if math.IsInf(obj, 0) || math.IsNaN(obj) {
		clear(beta)
		obj, ll = f.objective(beta)
	}
	fit := &Fit{Rows: f.n, Trials: f.trials, Events: f.events}
	trial := make([]float64, f.k)
	for it := 1; it <= opt.MaxIter; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f.derivatives(beta, false)
		step, err := f.step(beta)
		if err != nil {
			// Information that vanishes as the iterations go on is the
			// mark of separation: the fitted hazards reach 0 or 1.
			if it > 1 && f.lambda == 0 && errors.Is(err, errSingular) {
				if serr := f.checkFittedSeparation(beta, false); serr != nil {
					return nil, serr
				}
			}
			return nil, err
		}
		rec := Iteration{Iter: it, GradNorm: norm2(f.grad)}
		// Step halving: a Newton step on a concave objective can
		// overshoot far from the optimum; halve it until the objective
		// does not fall.
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
	if f.lambda == 0 {
		if err := f.checkFittedSeparation(beta, fit.Converged); err != nil {
			return nil, err
		}
	}
	if !fit.Converged {
		return nil, fmt.Errorf("survival: max|Δβ| still above %g after %d iterations: %w", opt.Tol, opt.MaxIter, ErrNotConverged)
	}
	fit.Coef = beta
	fit.LogLik, fit.PenalisedLogLik = ll, obj
	if err := f.uncertainty(fit); err != nil {
		return nil, err
	}
	return fit, nil
}

func norm2(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}
