package survival

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// step returns the Newton step from beta: the solution of info·Δ = grad,
// or, with an L1 part, the proximal Newton step.
func (f *fitter) step(beta []float64) ([]float64, error) {
	if f.alpha == 0 {
		var chol mat.Cholesky
		if !chol.Factorize(f.info) {
			return nil, f.singular(f.info, f.allColumns())
		}
		// Rounding can let an exactly collinear design factorise; a
		// condition number this large is checked for collinear columns.
		if chol.Cond() > illConditioned {
			if dep := f.dependent(f.info, f.allColumns()); len(dep) > 0 {
				return nil, f.singular(f.info, f.allColumns())
			}
		}
		step := mat.NewVecDense(f.k, nil)
		if err := chol.SolveVecTo(step, mat.NewVecDense(f.k, append([]float64(nil), f.grad...))); err != nil {
			// A condition number past 1e16: as good as singular, and
			// explained as such (by the caller too, as separation).
			if _, ok := err.(mat.Condition); ok {
				return nil, f.singular(f.info, f.allColumns())
			}
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
			return nil, f.singular(H, f.allColumns())
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

// illConditioned is the condition number of the information past which
// the columns are checked for collinearity.
const illConditioned = 1e10

// allColumns lists the design columns 0..k−1.
func (f *fitter) allColumns() []int {
	cols := make([]int, f.k)
	for j := range cols {
		cols[j] = j
	}
	return cols
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
