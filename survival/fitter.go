package survival

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

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
	for _, r := range p.References {
		for _, j := range r.Columns {
			if j < 0 || j >= k {
				return nil, fmt.Errorf("survival: reference level %s lists column %d of %d", r.Name, j, k)
			}
		}
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
