// Package eval measures how well predictions match outcomes. This file holds
// the row-level metrics of a binary classifier, which for a discrete-time
// hazard model are computed over person-period rows: the predicted hazard of
// each row against whether the patient dropped off in that month.
package eval

import (
	"math"
	"slices"
)

// Binary summarises predicted probabilities p against 0/1 outcomes y.
type Binary struct {
	Rows          int      `json:"rows"`
	Events        int      `json:"events"`
	LogLoss       float64  `json:"log_loss"`       // mean −[y log p + (1−y) log(1−p)]
	Brier         float64  `json:"brier"`          // mean (p − y)²
	AUC           *float64 `json:"auc"`            // P(p_event > p_non-event), ties counted half; nil without both classes
	MeanPredicted float64  `json:"mean_predicted"` // mean p
	ObservedRate  float64  `json:"observed_rate"`  // mean y
}

// EvaluateBinary computes Binary for p and y, which must have equal length.
// Probabilities are clipped to [1e-15, 1−1e-15] for the log loss, as
// scikit-learn's log_loss does.
func EvaluateBinary(p, y []float64) Binary {
	b := Binary{Rows: len(p)}
	if len(p) == 0 {
		return b
	}
	for i, pi := range p {
		yi := y[i]
		if yi == 1 {
			b.Events++
		}
		q := min(max(pi, 1e-15), 1-1e-15)
		b.LogLoss -= yi*math.Log(q) + (1-yi)*math.Log1p(-q)
		b.Brier += (pi - yi) * (pi - yi)
		b.MeanPredicted += pi
	}
	n := float64(len(p))
	b.LogLoss /= n
	b.Brier /= n
	b.MeanPredicted /= n
	b.ObservedRate = float64(b.Events) / n
	if auc := AUC(p, y); !math.IsNaN(auc) {
		b.AUC = &auc
	}
	return b
}

// AUC returns the area under the ROC curve by the Mann–Whitney statistic:
// the probability that a random positive row scores above a random negative
// one, ties counting one half. It is NaN unless both classes occur.
func AUC(p, y []float64) float64 {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case p[a] < p[b]:
			return -1
		case p[a] > p[b]:
			return 1
		}
		return 0
	})
	var pos, neg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			j++
		}
		midRank := float64(i+j+1) / 2 // average of ranks i+1..j
		for k := i; k < j; k++ {
			if y[idx[k]] == 1 {
				pos++
				rankSum += midRank
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}
