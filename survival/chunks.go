package survival

import "sync"

// Large designs are processed in a fixed number of row chunks in
// parallel. The chunk count does not depend on the machine, and partial
// sums are added in chunk order, so a fit gives the same bits everywhere.
const (
	parallelRows = 1 << 16 // designs with fewer rows run in one chunk
	chunks       = 4
)

func (f *fitter) chunkCount() int {
	if f.n < parallelRows {
		return 1
	}
	return chunks
}

// forChunks runs fn on each chunk of rows, in parallel when there are
// several.
func (f *fitter) forChunks(fn func(c, lo, hi int)) {
	nc := f.chunkCount()
	if nc == 1 {
		fn(0, 0, f.n)
		return
	}
	var wg sync.WaitGroup
	for c := range nc {
		wg.Go(func() { fn(c, c*f.n/nc, (c+1)*f.n/nc) })
	}
	wg.Wait()
}
