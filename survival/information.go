package survival

import (
	"errors"
	"fmt"
	"strings"
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
