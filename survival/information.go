package survival

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"
)

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

var errSingular = errors.New("survival: the information matrix is singular: a column is constant, all zero, or a combination of others")

// collinearTol is the share of a column's information left once the
// earlier columns are accounted for (1 − R², in the weighted least-squares
// sense), below which the column counts as a combination of them. R's glm
// drops a column as aliased when the square root of this share is below
// 1e-7; 1e-12 leaves room for the rounding of the accumulated information.
const collinearTol = 1e-12

// singular explains a singular information matrix a over the design
// columns cols: it names the columns that are zero in every row, and the
// columns that are linear combinations of earlier ones, with the
// combination.
func (f *fitter) singular(a *mat.SymDense, cols []int) error {
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
	if dep := f.dependent(a, cols); len(dep) > 0 {
		return fmt.Errorf("%w: collinear columns, %s; drop one column of each combination", errSingular, strings.Join(dep, "; "))
	}
	return errSingular
}

// dependent finds the columns of the information matrix a (over the design
// columns cols) that are linear combinations of earlier ones. It runs a
// Cholesky factorisation in column order and sets aside a column whose
// pivot falls below collinearTol of its diagonal; for such a column j the
// factor gives the weights c of a[:, j] = a[:, kept]·c, which for an
// information matrix X'WX with positive weights are those of
// x_j = X_kept·c. It returns one "x_j = c₁·x_a + …" per dependent column.
func (f *fitter) dependent(a *mat.SymDense, cols []int) []string {
	n := a.SymmetricDim()
	var (
		kept []int       // independent columns, as indices into a
		low  [][]float64 // row p of the Cholesky factor over kept
		out  []string
	)
	for j := range n {
		ajj := a.At(j, j)
		if !(ajj > 0) {
			out = append(out, f.name(cols[j])+" carries no information")
			continue
		}
		// l = L⁻¹ a[kept, j]
		l := make([]float64, len(kept))
		d := ajj
		for p, i := range kept {
			s := a.At(i, j)
			for q := range p {
				s -= low[p][q] * l[q]
			}
			l[p] = s / low[p][p]
			d -= l[p] * l[p]
		}
		if d > collinearTol*ajj {
			kept = append(kept, j)
			low = append(low, append(l, math.Sqrt(d)))
			continue
		}
		// c = L⁻ᵀ l
		c := make([]float64, len(kept))
		for p := len(kept) - 1; p >= 0; p-- {
			s := l[p]
			for q := p + 1; q < len(kept); q++ {
				s -= low[q][p] * c[q]
			}
			c[p] = s / low[p][p]
		}
		var terms []string
		for p, i := range kept {
			// Leave out weights that move x_j by a negligible share.
			if math.Abs(c[p])*math.Sqrt(a.At(i, i)/ajj) > 1e-6 {
				terms = append(terms, fmt.Sprintf("%.6g·%s", c[p], f.name(cols[i])))
			}
		}
		out = append(out, fmt.Sprintf("%s = %s", f.name(cols[j]), strings.Join(terms, " + ")))
	}
	return out
}
