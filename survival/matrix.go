package survival

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
