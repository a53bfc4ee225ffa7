package survival

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// checkIndicatorSeparation finds 0/1 columns whose rows all have events, or
// none: decreasing (or increasing) such a column's coefficient raises the
// likelihood of those rows and touches no other, so the likelihood has no
// maximum. This is the common case in person-period data — a month, or a
// category level, with no drop-offs — and is caught before fitting, naming
// the column. With a penalty, only the unpenalised columns (the baseline
// terms) are checked: the penalty holds the others finite.
func (f *fitter) checkIndicatorSeparation() error {
	x := f.p.X
	k := f.k
	binary := make([]bool, k)
	for j := range binary {
		binary[j] = true
	}
	n := make([]float64, k)
	y := make([]float64, k)
	for i := 0; i < f.n; i++ {
		nt, yi := f.trialsOf(i), f.p.Y[i]
		for e := x.RowPtr[i]; e < x.RowPtr[i+1]; e++ {
			j := x.Idx[e]
			if x.Val[e] != 1 {
				binary[j] = false
			}
			n[j] += nt
			y[j] += yi
		}
	}
	var msgs []string
	for j := range k {
		if !binary[j] || n[j] == 0 || (f.lambda > 0 && (f.p.Penalised == nil || f.p.Penalised[j])) {
			continue
		}
		switch y[j] {
		case 0:
			msgs = append(msgs, fmt.Sprintf("none of the %g rows with %s has an event (its coefficient would be −∞)", n[j], f.name(j)))
		case n[j]:
			msgs = append(msgs, fmt.Sprintf("all %g rows with %s have an event (its coefficient would be +∞)", n[j], f.name(j)))
		}
	}
	for r, ref := range f.p.References {
		if f.lambda > 0 {
			break // levels are penalised
		}
		nr, yr := f.referenceCounts(r)
		if nr == 0 {
			continue
		}
		switch yr {
		case 0:
			msgs = append(msgs, fmt.Sprintf("none of the %g rows with %s (the reference level) has an event (the model's constant would go to −∞, the other levels' coefficients to +∞)", nr, ref.Name))
		case nr:
			msgs = append(msgs, fmt.Sprintf("all %g rows with %s (the reference level) have an event (the model's constant would go to +∞, the other levels' coefficients to −∞)", nr, ref.Name))
		}
	}
	if len(msgs) > 0 {
		advice := "merge the level or period with a neighbour, drop it, or fit with a penalty"
		if f.lambda > 0 {
			advice = "merge the period with a neighbour (the penalty does not reach the baseline's terms)"
		}
		return fmt.Errorf("%w: %s; %s", ErrSeparation, strings.Join(msgs, "; "), advice)
	}
	return nil
}

// referenceCounts returns the trials and events of the rows of reference
// level r: those with none of its sibling columns non-zero.
func (f *fitter) referenceCounts(r int) (n, y float64) {
	x := f.p.X
	sibling := make(map[int32]bool, len(f.p.References[r].Columns))
	for _, j := range f.p.References[r].Columns {
		sibling[int32(j)] = true
	}
rows:
	for i := 0; i < f.n; i++ {
		for e := x.RowPtr[i]; e < x.RowPtr[i+1]; e++ {
			if sibling[x.Idx[e]] && x.Val[e] != 0 {
				continue rows
			}
		}
		n += f.trialsOf(i)
		y += f.p.Y[i]
	}
	return n, y
}

// checkFittedSeparation looks for the signature of separation that no
// single indicator shows — a combination of columns that splits the rows —
// after Newton's method has run: fitted probabilities numerically 0 or 1
// together with very large effects, or no convergence with large effects.
// It names the columns with the largest effects (|β_j|·max|x_j|).
func (f *fitter) checkFittedSeparation(beta []float64, converged bool) error {
	x := f.p.X
	extreme := 0
	for i := 0; i < f.n; i++ {
		h := f.link.Inverse(x.Dot(i, beta))
		if h < 1e-12 || h > 1-1e-12 {
			extreme++
		}
	}
	span := make([]float64, f.k)
	for e, j := range x.Idx {
		span[j] = math.Max(span[j], math.Abs(x.Val[e]))
	}
	type effect struct {
		j int
		v float64
	}
	var big []effect
	for j, b := range beta {
		if v := math.Abs(b) * span[j]; v > 15 {
			big = append(big, effect{j, v})
		}
	}
	if len(big) == 0 || (converged && extreme == 0) {
		return nil
	}
	slices.SortFunc(big, func(a, b effect) int { return cmp.Compare(b.v, a.v) })
	var names []string
	for _, e := range big[:min(len(big), 3)] {
		names = append(names, fmt.Sprintf("%s (%.3g)", f.name(e.j), beta[e.j]))
	}
	return fmt.Errorf("%w: %d rows have fitted hazards numerically 0 or 1 and the coefficients of %s are running off to infinity; drop or merge these columns, or fit with a penalty",
		ErrSeparation, extreme, strings.Join(names, ", "))
}
