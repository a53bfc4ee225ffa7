package survival

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"gonum.org/v1/gonum/mat"
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
	if f.lambda == 0 {
		if err := f.checkIndicatorSeparation(); err != nil {
			return nil, err
		}
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

var errSingular = errors.New("survival: the information matrix is singular: a column is constant, all zero, or a combination of others")

type fitter struct {
	p              Problem
	link           Link
	lambda, alpha  float64
	ridge, l1      []float64 // per column: λ(1−α)p_j and λαp_j
	n, k           int
	trials, events float64
	grad           []float64
	info           *mat.SymDense
	h              []float64   // upper triangle of the information, row-major
	parts          [][]float64 // per chunk: gradient and information sums
}

func newFitter(p Problem) (*fitter, error) {
	n, k := p.X.Rows(), p.X.Cols
	if len(p.Y) != n {
		return nil, fmt.Errorf("survival: %d outcomes for %d rows", len(p.Y), n)
	}
	if p.Trials != nil && len(p.Trials) != n {
		return nil, fmt.Errorf("survival: %d trial counts for %d rows", len(p.Trials), n)
	}
	if n == 0 || k == 0 {
		return nil, errors.New("survival: nothing to fit: the design has no rows or no columns")
	}
	link, err := ParseLink(string(p.Link))
	if err != nil {
		return nil, fmt.Errorf("survival: %w", err)
	}
	if p.Lambda < 0 || math.IsNaN(p.Lambda) || math.IsInf(p.Lambda, 0) {
		return nil, fmt.Errorf("survival: penalty strength %v must be a finite number ≥ 0", p.Lambda)
	}
	if !(p.Alpha >= 0 && p.Alpha <= 1) {
		return nil, fmt.Errorf("survival: L1 share %v must be between 0 and 1", p.Alpha)
	}
	if p.Penalised != nil && len(p.Penalised) != k {
		return nil, fmt.Errorf("survival: %d penalty flags for %d columns", len(p.Penalised), k)
	}
	if p.Names != nil && len(p.Names) != k {
		return nil, fmt.Errorf("survival: %d column names for %d columns", len(p.Names), k)
	}
	f := &fitter{p: p, link: link, lambda: p.Lambda, alpha: p.Alpha, n: n, k: k,
		ridge: make([]float64, k), l1: make([]float64, k),
		grad: make([]float64, k), info: mat.NewSymDense(k, nil), h: make([]float64, k*k)}
	for i, y := range p.Y {
		nt := f.trialsOf(i)
		if !(nt > 0) || math.IsInf(nt, 0) {
			return nil, fmt.Errorf("survival: row %d has %v trials, want a positive count", i, nt)
		}
		if !(y >= 0 && y <= nt) || (p.Trials == nil && y != 0 && y != 1) {
			if p.Trials == nil {
				return nil, fmt.Errorf("survival: outcome of row %d is %v, want 0 or 1", i, y)
			}
			return nil, fmt.Errorf("survival: row %d has %v events in %v trials", i, y, nt)
		}
		f.trials += nt
		f.events += y
	}
	if p.Lambda == 0 {
		f.alpha = 0
	}
	for j := range k {
		if p.Penalised == nil || p.Penalised[j] {
			f.ridge[j] = f.lambda * (1 - f.alpha)
			f.l1[j] = f.lambda * f.alpha
		}
	}
	return f, nil
}

func (f *fitter) trialsOf(i int) float64 {
	if f.p.Trials == nil {
		return 1
	}
	return f.p.Trials[i]
}

func (f *fitter) name(j int) string {
	if f.p.Names != nil {
		return f.p.Names[j]
	}
	return fmt.Sprintf("column %d", j)
}

// Large designs are processed in a fixed number of row chunks in
// parallel. The chunk count does not depend on the machine, and partial
// sums are added in chunk order, so a fit gives the same bits everywhere.
const (
	parallelRows = 1 << 16 // designs with fewer rows run in one chunk
	chunks       = 4
)

func (f *fitter) chunkCount() int {
	if f.n < parallelRows {
		return 1
	}
	return chunks
}

// forChunks runs fn on each chunk of rows, in parallel when there are
// several.
func (f *fitter) forChunks(fn func(c, lo, hi int)) {
	nc := f.chunkCount()
	if nc == 1 {
		fn(0, 0, f.n)
		return
	}
	var wg sync.WaitGroup
	for c := range nc {
		wg.Go(func() { fn(c, c*f.n/nc, (c+1)*f.n/nc) })
	}
	wg.Wait()
}

// objective returns the penalised and the plain log-likelihood at beta.
func (f *fitter) objective(beta []float64) (pll, ll float64) {
	x := f.p.X
	var part [chunks]float64
	f.forChunks(func(c, lo, hi int) {
		s := 0.0
		for i := lo; i < hi; i++ {
			s += f.link.logLik(f.p.Y[i], f.trialsOf(i), x.Dot(i, beta))
		}
		part[c] = s
	})
	for _, s := range part {
		ll += s
	}
	pll = ll
	for j, b := range beta {
		pll -= 0.5*f.ridge[j]*b*b + f.l1[j]*math.Abs(b)
	}
	if math.IsNaN(pll) {
		pll = math.Inf(-1)
	}
	return pll, ll
}

// derivatives sets grad to the gradient of the smooth part of the
// objective, X'(dℓ/dη) − λ(1−α)Pβ, and info to its negative Hessian,
// X'WX + λ(1−α)P, at beta, with W the observed information of each row, or
// the expected (Fisher) information when fisher is set.
func (f *fitter) derivatives(beta []float64, fisher bool) {
	k := f.k
	nc := f.chunkCount()
	if f.parts == nil {
		f.parts = make([][]float64, nc)
		for c := range f.parts {
			f.parts[c] = make([]float64, k+k*k) // gradient, then the upper triangle
		}
	}
	f.forChunks(func(c, lo, hi int) {
		buf := f.parts[c]
		clear(buf)
		f.accumulate(lo, hi, beta, fisher, buf[:k], buf[k:])
	})
	clear(f.grad)
	h := f.h
	clear(h)
	for _, buf := range f.parts {
		for j, v := range buf[:k] {
			f.grad[j] += v
		}
		for j, v := range buf[k:] {
			h[j] += v
		}
	}
	for a := 0; a < k; a++ {
		f.grad[a] -= f.ridge[a] * beta[a]
		for b := a; b < k; b++ {
			v := h[a*k+b]
			if a == b {
				v += f.ridge[a]
			}
			f.info.SetSym(a, b, v)
		}
	}
}

// accumulate adds the score and information of rows lo..hi−1 to grad and
// to the upper triangle of h (row-major k×k).
func (f *fitter) accumulate(lo, hi int, beta []float64, fisher bool, grad, h []float64) {
	x, k := f.p.X, f.k
	for i := lo; i < hi; i++ {
		rlo, rhi := x.RowPtr[i], x.RowPtr[i+1]
		eta := 0.0
		for e := rlo; e < rhi; e++ {
			eta += x.Val[e] * beta[x.Idx[e]]
		}
		t := f.link.terms(f.p.Y[i], f.trialsOf(i), eta)
		w := t.observed
		if fisher {
			w = t.fisher
		}
		for e := rlo; e < rhi; e++ {
			a, va := int(x.Idx[e]), x.Val[e]
			grad[a] += va * t.score
			wa := w * va
			row := h[a*k:]
			for e2 := e; e2 < rhi; e2++ {
				row[x.Idx[e2]] += wa * x.Val[e2]
			}
		}
	}
}

// step returns the Newton step from beta: the solution of info·Δ = grad,
// or, with an L1 part, the proximal Newton step.
func (f *fitter) step(beta []float64) ([]float64, error) {
	if f.alpha == 0 {
		var chol mat.Cholesky
		if !chol.Factorize(f.info) {
			return nil, f.singular()
		}
		step := mat.NewVecDense(f.k, nil)
		if err := chol.SolveVecTo(step, mat.NewVecDense(f.k, append([]float64(nil), f.grad...))); err != nil {
			return nil, fmt.Errorf("survival: solving the Newton step: %w", err)
		}
		return step.RawVector().Data, nil
	}
	return f.proximalStep(beta)
}

// proximalStep minimises the quadratic model of the negative objective
//
//	½ dᵀ H d − gᵀ d + Σ_j λα p_j |β_j + d_j|
//
// over d by cyclic coordinate descent on b = β + d, where H and g are the
// information and gradient of the smooth part. The soft-threshold update
// sets coefficients exactly to zero.
func (f *fitter) proximalStep(beta []float64) ([]float64, error) {
	k := f.k
	H := f.info
	b := slices.Clone(beta)
	d := make([]float64, k) // b − β
	for j := range k {
		if !(H.At(j, j) > 0) {
			return nil, f.singular()
		}
	}
	for sweep := 0; sweep < 100000; sweep++ {
		maxDelta, maxB := 0.0, 0.0
		for j := range k {
			hjj := H.At(j, j)
			// r = g_j − Σ_{l≠j} H_jl d_l + H_jj β_j
			r := f.grad[j] + hjj*beta[j]
			for l := range k {
				if l != j {
					r -= H.At(j, l) * d[l]
				}
			}
			nb := r / hjj
			if f.l1[j] > 0 {
				nb = softThreshold(r, f.l1[j]) / hjj
			}
			maxDelta = math.Max(maxDelta, math.Abs(nb-b[j]))
			maxB = math.Max(maxB, math.Abs(nb))
			b[j], d[j] = nb, nb-beta[j]
		}
		if maxDelta <= 1e-15*(1+maxB) {
			break
		}
	}
	return d, nil
}

func softThreshold(z, g float64) float64 {
	switch {
	case z > g:
		return z - g
	case z < -g:
		return z + g
	}
	return 0
}

// uncertainty sets the covariances, standard errors, gradient norm and
// effective degrees of freedom at the optimum. Coefficients held at exactly
// zero by the L1 penalty get no standard error of their own: the
// covariance is computed over the active set and zero elsewhere.
func (f *fitter) uncertainty(fit *Fit) error {
	beta := fit.Coef
	active := make([]int, 0, f.k)
	for j := range beta {
		if f.l1[j] == 0 || beta[j] != 0 {
			active = append(active, j)
		}
	}
	f.derivatives(beta, true)
	fisher := sub(f.info, active)
	g := 0.0
	for _, j := range active {
		gj := f.grad[j] - f.l1[j]*sign(beta[j])
		g += gj * gj
	}
	fit.GradNorm = math.Sqrt(g)
	cov, err := f.invert(fisher, active)
	if err != nil {
		return err
	}
	fit.Cov, fit.StdErr = expand(cov, active, f.k)
	// Effective degrees of freedom: tr((I_pen)⁻¹ · I) over the active set,
	// where I is the unpenalised information.
	if f.lambda == 0 {
		fit.EDF = float64(len(active))
	} else {
		for a, j := range active {
			for b := range active {
				v := fisher.At(b, a)
				if a == b {
					v -= f.ridge[j]
				}
				fit.EDF += cov.At(a, b) * v
			}
		}
	}
	if f.link == CLogLog {
		f.derivatives(beta, false)
		obs, err := f.invert(sub(f.info, active), active)
		if err != nil {
			return err
		}
		fit.CovObserved, fit.StdErrObserved = expand(obs, active, f.k)
	}
	return nil
}

func (f *fitter) invert(a *mat.SymDense, active []int) (*mat.SymDense, error) {
	var chol mat.Cholesky
	if !chol.Factorize(a) {
		return nil, f.singular()
	}
	var cov mat.SymDense
	if err := chol.InverseTo(&cov); err != nil {
		return nil, fmt.Errorf("survival: inverting the information matrix: %w", err)
	}
	return &cov, nil
}

// singular explains a singular information matrix, naming the columns that
// are all zero when there are any.
func (f *fitter) singular() error {
	seen := make([]bool, f.k)
	for _, j := range f.p.X.Idx {
		seen[j] = true
	}
	var empty []string
	for j, s := range seen {
		if !s {
			empty = append(empty, f.name(j))
		}
	}
	if len(empty) > 0 {
		return fmt.Errorf("%w (no row has a non-zero value in %s)", errSingular, strings.Join(empty, ", "))
	}
	return errSingular
}

func sub(m *mat.SymDense, idx []int) *mat.SymDense {
	s := mat.NewSymDense(len(idx), nil)
	for a, i := range idx {
		for b := a; b < len(idx); b++ {
			s.SetSym(a, b, m.At(i, idx[b]))
		}
	}
	return s
}

// expand places the covariance of the active columns in a k×k matrix and
// returns it with the standard errors.
func expand(cov *mat.SymDense, active []int, k int) (full, se []float64) {
	full = make([]float64, k*k)
	se = make([]float64, k)
	for a, i := range active {
		for b, j := range active {
			full[i*k+j] = cov.At(a, b)
		}
		se[i] = math.Sqrt(cov.At(a, a))
	}
	return full, se
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

func norm2(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}
