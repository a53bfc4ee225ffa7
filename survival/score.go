package survival

import (
	"context"
	"fmt"
)

// LogLik returns the unpenalised log-likelihood of p at beta: the sum over
// rows of y·log h + (n−y)·log(1−h). It is the held-out fit measure of
// cross-validation.
func LogLik(p Problem, beta []float64) (float64, error) {
	f, err := newFitter(p)
	if err != nil {
		return 0, err
	}
	_, ll := f.objective(beta)
	return ll, nil
}

// Score returns the gradient of the unpenalised log-likelihood of p at
// beta, X'(dℓ/dη). At a fit that holds the penalised columns at zero, the
// largest |score| of a penalised column is the smallest L1 penalty that
// keeps every one of them at zero.
func Score(p Problem, beta []float64) ([]float64, error) {
	f, err := newFitter(p)
	if err != nil {
		return nil, err
	}
	x := p.X
	g := make([]float64, f.k)
	for i := 0; i < f.n; i++ {
		t := f.link.terms(p.Y[i], f.trialsOf(i), x.Dot(i, beta))
		for e := x.RowPtr[i]; e < x.RowPtr[i+1]; e++ {
			g[x.Idx[e]] += x.Val[e] * t.score
		}
	}
	return g, nil
}

// FitUnpenalisedOnly fits p with its penalised columns held at exactly
// zero: the unpenalised columns (the baseline terms) alone, unpenalised.
// It returns the coefficients of every column of p, zero for the
// penalised ones. Every penalised fit with λ at or above
// max_j |Score_j| / α at this point keeps all penalised columns at zero,
// which makes it the start of a regularisation path. With no unpenalised
// column it returns zeros.
func FitUnpenalisedOnly(ctx context.Context, p Problem, opt Options) ([]float64, error) {
	k := p.X.Cols
	if p.Penalised != nil && len(p.Penalised) != k {
		return nil, fmt.Errorf("survival: %d penalty flags for %d columns", len(p.Penalised), k)
	}
	keep := make([]int, 0, k) // new column → old
	index := make([]int32, k) // old column → new, −1 if dropped
	for j := range k {
		index[j] = -1
		if p.Penalised != nil && !p.Penalised[j] {
			index[j] = int32(len(keep))
			keep = append(keep, j)
		}
	}
	beta := make([]float64, k)
	if len(keep) == 0 {
		return beta, nil
	}
	x := &Matrix{Cols: len(keep), RowPtr: make([]int, 1, p.X.Rows()+1)}
	for i := 0; i < p.X.Rows(); i++ {
		for e := p.X.RowPtr[i]; e < p.X.RowPtr[i+1]; e++ {
			if j := index[p.X.Idx[e]]; j >= 0 {
				x.Idx = append(x.Idx, j)
				x.Val = append(x.Val, p.X.Val[e])
			}
		}
		x.RowPtr = append(x.RowPtr, len(x.Idx))
	}
	sub := Problem{X: x, Y: p.Y, Trials: p.Trials, Link: p.Link}
	if p.Names != nil {
		for _, j := range keep {
			sub.Names = append(sub.Names, p.Names[j])
		}
	}
	fit, err := FitModel(ctx, sub, opt)
	if err != nil {
		return nil, err
	}
	for a, j := range keep {
		beta[j] = fit.Coef[a]
	}
	return beta, nil
}
