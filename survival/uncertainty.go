package survival

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

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
		return nil, f.singular(a, active)
	}
	var cov mat.SymDense
	if err := chol.InverseTo(&cov); err != nil {
		if dep := f.dependent(a, active); len(dep) > 0 {
			return nil, f.singular(a, active)
		}
		return nil, fmt.Errorf("survival: inverting the information matrix: %w", err)
	}
	return &cov, nil
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
