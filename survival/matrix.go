package survival

import (
	"encoding/binary"
	"math"
)

// Matrix is a design matrix stored by rows in compressed sparse form. A
// person-period design is mostly zeros — one month indicator and one dummy per
// categorical feature in each row — so the fitter works on the non-zeros only.
type Matrix struct {
	Cols   int
	RowPtr []int   // row i's entries are Idx[RowPtr[i]:RowPtr[i+1]]
	Idx    []int32 // column of each entry, ascending within a row
	Val    []float64
}

// NewMatrix returns an empty matrix with cols columns, with room for about
// rows rows of nnzPerRow entries.
func NewMatrix(cols, rows, nnzPerRow int) *Matrix {
	m := &Matrix{
		Cols:   cols,
		RowPtr: make([]int, 1, rows+1),
		Idx:    make([]int32, 0, rows*nnzPerRow),
		Val:    make([]float64, 0, rows*nnzPerRow),
	}
	return m
}

// Rows returns the number of rows.
func (m *Matrix) Rows() int { return len(m.RowPtr) - 1 }

// AppendRow appends a row given as a dense vector of length Cols, keeping
// only its non-zero entries.
func (m *Matrix) AppendRow(dense []float64) {
	for j, v := range dense {
		if v != 0 {
			m.Idx = append(m.Idx, int32(j))
			m.Val = append(m.Val, v)
		}
	}
	m.RowPtr = append(m.RowPtr, len(m.Idx))
}

// Dot returns row i times beta.
func (m *Matrix) Dot(i int, beta []float64) float64 {
	s := 0.0
	for k := m.RowPtr[i]; k < m.RowPtr[i+1]; k++ {
		s += m.Val[k] * beta[m.Idx[k]]
	}
	return s
}

// Compress merges identical rows of x into one row each, returning the
// distinct rows in order of first appearance with their summed events and
// trial counts. A binomial fit of the compressed problem has the same
// likelihood, coefficients and information as the Bernoulli fit of the
// original rows, at the cost of one pass over the distinct patterns.
// trials may be nil (one trial per row).
func Compress(x *Matrix, y, trials []float64) (cx *Matrix, cy, ctrials []float64) {
	type key string
	index := make(map[key]int)
	cx = NewMatrix(x.Cols, 0, 0)
	buf := make([]byte, 0, 256)
	for i := 0; i < x.Rows(); i++ {
		lo, hi := x.RowPtr[i], x.RowPtr[i+1]
		buf = buf[:0]
		for e := lo; e < hi; e++ {
			j, v := uint32(x.Idx[e]), math.Float64bits(x.Val[e])
			buf = binary.LittleEndian.AppendUint32(buf, j)
			buf = binary.LittleEndian.AppendUint64(buf, v)
		}
		n := 1.0
		if trials != nil {
			n = trials[i]
		}
		g, ok := index[key(buf)]
		if !ok {
			g = len(cy)
			index[key(buf)] = g
			cx.Idx = append(cx.Idx, x.Idx[lo:hi]...)
			cx.Val = append(cx.Val, x.Val[lo:hi]...)
			cx.RowPtr = append(cx.RowPtr, len(cx.Idx))
			cy = append(cy, 0)
			ctrials = append(ctrials, 0)
		}
		cy[g] += y[i]
		ctrials[g] += n
	}
	return cx, cy, ctrials
}

// SelectRows returns the rows of m listed in rows, in that order, with the
// matching entries of y and trials (trials may be nil).
func (m *Matrix) SelectRows(rows []int, y, trials []float64) (sx *Matrix, sy, strials []float64) {
	nnz := 0
	for _, i := range rows {
		nnz += m.RowPtr[i+1] - m.RowPtr[i]
	}
	sx = &Matrix{Cols: m.Cols, RowPtr: make([]int, 1, len(rows)+1),
		Idx: make([]int32, 0, nnz), Val: make([]float64, 0, nnz)}
	sy = make([]float64, len(rows))
	if trials != nil {
		strials = make([]float64, len(rows))
	}
	for r, i := range rows {
		lo, hi := m.RowPtr[i], m.RowPtr[i+1]
		sx.Idx = append(sx.Idx, m.Idx[lo:hi]...)
		sx.Val = append(sx.Val, m.Val[lo:hi]...)
		sx.RowPtr = append(sx.RowPtr, len(sx.Idx))
		sy[r] = y[i]
		if trials != nil {
			strials[r] = trials[i]
		}
	}
	return sx, sy, strials
}
