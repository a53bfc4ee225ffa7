package survival

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
