package survival

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ClusterCovariance returns the cluster-robust (sandwich) covariance of a
// fit's coefficients, for rows that are not independent within clusters
// (a patient's rows of a stacked, landmark design):
//
//	V = G/(G−1) · B · (Σ_g s_g s_gᵀ) · B,   s_g = Σ_{i∈g} (dℓ_i/dη_i) x_i,
//
// where B is the model-based covariance bread (row-major k×k, the inverse
// of the information at beta: Fit.Cov, the expected information's, as
// R's sandwich package takes it for a glm under any link),
// cluster[i] names row i's cluster (any integers; rows of a cluster need
// not be adjacent) and G is the number of clusters. This is R's
// sandwich::vcovCL(fit, cluster, type = "HC0", cadjust = TRUE). A penalised
// fit's bread includes the ridge part, so its sandwich is approximate, as
// its model-based covariance is.
func ClusterCovariance(p Problem, beta, bread []float64, cluster []int) (cov, se []float64, err error) {
	n, k := p.X.Rows(), p.X.Cols
	if len(beta) != k || len(bread) != k*k {
		return nil, nil, fmt.Errorf("survival: %d coefficients and a %d-entry covariance for %d columns", len(beta), len(bread), k)
	}
	if len(cluster) != n || len(p.Y) != n {
		return nil, nil, fmt.Errorf("survival: %d cluster ids and %d outcomes for %d rows", len(cluster), len(p.Y), n)
	}
	link, err := ParseLink(string(p.Link))
	if err != nil {
		return nil, nil, fmt.Errorf("survival: %w", err)
	}
	index := map[int]int{}
	var scores [][]float64
	for i := range n {
		g, ok := index[cluster[i]]
		if !ok {
			g = len(scores)
			index[cluster[i]] = g
			scores = append(scores, make([]float64, k))
		}
		trials := 1.0
		if p.Trials != nil {
			trials = p.Trials[i]
		}
		u := link.terms(p.Y[i], trials, p.X.Dot(i, beta)).score
		s := scores[g]
		for e := p.X.RowPtr[i]; e < p.X.RowPtr[i+1]; e++ {
			s[p.X.Idx[e]] += u * p.X.Val[e]
		}
	}
	groups := len(scores)
	if groups < 2 {
		return nil, nil, fmt.Errorf("survival: a cluster-robust covariance needs at least 2 clusters, got %d", groups)
	}
	meat := make([]float64, k*k)
	for _, s := range scores {
		for a, sa := range s {
			if sa == 0 {
				continue
			}
			row := meat[a*k : (a+1)*k]
			for b, sb := range s {
				row[b] += sa * sb
			}
		}
	}
	cov = make([]float64, k*k)
	if k > 0 {
		b := mat.NewDense(k, k, bread)
		var tmp mat.Dense
		tmp.Mul(b, mat.NewDense(k, k, meat))
		mat.NewDense(k, k, cov).Mul(&tmp, b)
	}
	adj := float64(groups) / float64(groups-1)
	se = make([]float64, k)
	for a := range k {
		for b := range k {
			cov[a*k+b] *= adj
		}
		// Symmetric up to rounding: make it exactly so.
		for b := range a {
			m := 0.5 * (cov[a*k+b] + cov[b*k+a])
			cov[a*k+b], cov[b*k+a] = m, m
		}
		se[a] = math.Sqrt(math.Max(cov[a*k+a], 0))
	}
	return cov, se, nil
}
