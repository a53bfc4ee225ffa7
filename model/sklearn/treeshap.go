package sklearn

import (
	"fmt"
	"math"

	"github.com/caresignal/caresignal"
)

// Explanations of tree ensembles: exact path-dependent TreeSHAP (Lundberg,
// Erion & Lee 2018, "Consistent individualized feature attribution for
// tree ensembles", Algorithm 2). The value of a set S of known columns is
// E[f(x) | x_S] under the trees' own training distribution: a split on a
// known column sends x down the branch the predictor takes (a missing
// value its learned missing way, a category by its bitset, an unknown
// category the missing way), a split on an unknown column weighs both
// branches by the training weight that reached them (cover). The Shapley
// values of that game add up, with E[f] under the same weights, to the
// raw score: the log-odds.

// shapTree is one tree as TreeSHAP walks it. Children come after their
// parent (both predictors check it when they load a tree).
type shapTree struct {
	left, right, feature []int64 // left[i] < 0 at a leaf
	cover, value         []float64
	depth                int     // the longest root-to-leaf path, in splits
	expected             float64 // E[f] over the covers
}

// newShapTree checks that every node has a positive, finite cover, so
// that the expectation weights are defined, and computes the depth and
// the expected value.
func newShapTree(left, right, feature []int64, cover, value []float64) (*shapTree, error) {
	n := len(left)
	if len(cover) != n {
		return nil, fmt.Errorf("the tree holds %d training weights for %d nodes: TreeSHAP needs one per node", len(cover), n)
	}
	t := &shapTree{left: left, right: right, feature: feature, cover: cover, value: value}
	depth := make([]int, n)
	for i := range n {
		if !(cover[i] > 0) || math.IsInf(cover[i], 0) {
			return nil, fmt.Errorf("node %d has a training weight of %g: TreeSHAP needs a positive weight at every node", i, cover[i])
		}
		if left[i] >= 0 {
			depth[left[i]] = depth[i] + 1
			depth[right[i]] = depth[i] + 1
		}
		t.depth = max(t.depth, depth[i])
	}
	e := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		if left[i] < 0 {
			e[i] = value[i]
		} else {
			e[i] = (cover[left[i]]*e[left[i]] + cover[right[i]]*e[right[i]]) / cover[i]
		}
	}
	t.expected = e[0]
	return t, nil
}

// pathElem is one split on the path from the root: the column d, the
// fraction z of the paths where d is unknown that take this branch (the
// cover ratio), o = 1 when x takes it, and w, the weight of the
// permutations with that many known columns before d.
type pathElem struct {
	d    int64
	z, o float64
	w    float64
}

// shap adds scale × each column's SHAP value of the tree at a row to phi;
// hot[i] is the child of split node i that the row goes to. buf is reused
// for the paths, grown when short.
func (t *shapTree) shap(hot []int64, scale float64, phi []float64, buf *[]pathElem) {
	n := t.depth + 2
	if len(*buf) < n*(n+1)/2 {
		*buf = make([]pathElem, n*(n+1)/2)
	}
	t.recurse(0, hot, scale, phi, *buf, 0, 1, 1, -1)
}

// grow returns s with length n, reusing its array when large enough.
func grow(s []int64, n int) []int64 {
	if cap(s) < n {
		return make([]int64, n)
	}
	return s[:n]
}

// recurse is RECURSE(j, m, p_z, p_o, p_i) of Algorithm 2: m[:l] is the
// parent's path, copied to m[l:] so that siblings start from the same one.
func (t *shapTree) recurse(j int64, hot []int64, scale float64, phi []float64, m []pathElem, l int, pz, po float64, pi int64) {
	copy(m[l:], m[:l])
	m = m[l:]
	extend(m, l, pz, po, pi)
	if t.left[j] < 0 {
		for i := 1; i <= l; i++ {
			w := unwoundSum(m, l, i)
			phi[m[i].d] += scale * w * (m[i].o - m[i].z) * t.value[j]
		}
		return
	}
	h, c := hot[j], t.left[j]
	if c == h {
		c = t.right[j]
	}
	d := t.feature[j]
	iz, io := 1.0, 1.0
	k := 1
	for k <= l && m[k].d != d {
		k++
	}
	last := l // index of the last element
	if k <= l {
		iz, io = m[k].z, m[k].o
		unwind(m, l, k)
		last--
	}
	t.recurse(h, hot, scale, phi, m, last+1, iz*t.cover[h]/t.cover[j], io, d)
	t.recurse(c, hot, scale, phi, m, last+1, iz*t.cover[c]/t.cover[j], 0, d)
}

// extend appends (pi, pz, po) to the path m[:l] and updates the weights.
func extend(m []pathElem, l int, pz, po float64, pi int64) {
	m[l] = pathElem{d: pi, z: pz, o: po}
	if l == 0 {
		m[l].w = 1
	}
	for i := l - 1; i >= 0; i-- {
		m[i+1].w += po * m[i].w * float64(i+1) / float64(l+1)
		m[i].w = pz * m[i].w * float64(l-i) / float64(l+1)
	}
}

// unwind removes element i from the path m[:l+1], undoing its extend.
func unwind(m []pathElem, l, i int) {
	n := m[l].w
	o, z := m[i].o, m[i].z
	for j := l - 1; j >= 0; j-- {
		if o != 0 {
			t := m[j].w
			m[j].w = n * float64(l+1) / (float64(j+1) * o)
			n = t - m[j].w*z*float64(l-j)/float64(l+1)
		} else {
			m[j].w = m[j].w * float64(l+1) / (z * float64(l-j))
		}
	}
	for j := i; j < l; j++ {
		m[j].d, m[j].z, m[j].o = m[j+1].d, m[j+1].z, m[j+1].o
	}
}

// unwoundSum is the total weight of the path m[:l+1] with element i
// unwound, without changing m.
func unwoundSum(m []pathElem, l, i int) float64 {
	o, z := m[i].o, m[i].z
	next := m[l].w
	total := 0.0
	for j := l - 1; j >= 0; j-- {
		if o != 0 {
			t := next * float64(l+1) / (float64(j+1) * o)
			total += t
			next = m[j].w - t*z*float64(l-j)/float64(l+1)
		} else {
			total += m[j].w / z * float64(l+1) / float64(l-j)
		}
	}
	return total
}

// treeSHAP is implemented by the tree ensembles.
type treeSHAP interface {
	// columns is the number of columns the ensemble takes.
	columns() int
	// shapReady says why the ensemble cannot be explained, if it cannot.
	shapReady() error
	// shap returns each column's SHAP value of the raw score (log-odds)
	// at row and E[f], the raw score expected under the covers; they add
	// up to the raw score.
	shap(row []caresignal.Value) (phi []float64, base float64, err error)
}

func (g *gradientBoosting) columns() int { return g.width }

func (g *gradientBoosting) shapReady() error { return g.shapErr }

func (g *gradientBoosting) shap(row []caresignal.Value) ([]float64, float64, error) {
	if g.shapErr != nil {
		return nil, 0, g.shapErr
	}
	x, err := g.inputs(row)
	if err != nil {
		return nil, 0, err
	}
	phi := make([]float64, len(x))
	var hot []int64
	var buf []pathElem
	base := g.init
	for k, t := range g.trees {
		st := g.shapTrees[k]
		hot = grow(hot, len(t.left))
		for i := range hot {
			if t.left[i] != -1 {
				hot[i] = t.next(int64(i), x)
			}
		}
		st.shap(hot, g.rate, phi, &buf)
		base += g.rate * st.expected
	}
	return phi, base, nil
}

func (h *histGradientBoosting) columns() int { return h.width }

func (h *histGradientBoosting) shapReady() error { return h.shapErr }

func (h *histGradientBoosting) shap(row []caresignal.Value) ([]float64, float64, error) {
	if h.shapErr != nil {
		return nil, 0, h.shapErr
	}
	x, err := h.inputs(row)
	if err != nil {
		return nil, 0, err
	}
	phi := make([]float64, len(x))
	var hot []int64
	var buf []pathElem
	base := h.baseline
	for k, t := range h.trees {
		st := h.shapTrees[k]
		hot = grow(hot, len(t.leaf))
		for i := range hot {
			if !t.leaf[i] {
				hot[i] = h.next(t, int64(i), x)
			}
		}
		st.shap(hot, 1, phi, &buf) // the leaves hold the learning rate already
		base += st.expected
	}
	return phi, base, nil
}

// shapTrees builds the TreeSHAP form of each tree; a tree that cannot be
// explained leaves the model predicting but not explaining, with err
// saying why.
func (g *gradientBoosting) buildShapTrees() {
	for k, t := range g.trees {
		st, err := newShapTree(t.left, t.right, t.feature, t.cover, t.value)
		if err != nil {
			g.shapTrees, g.shapErr = nil, fmt.Errorf("GradientBoostingClassifier stage %d: %w", k, err)
			return
		}
		g.shapTrees = append(g.shapTrees, st)
	}
}

func (h *histGradientBoosting) buildShapTrees() {
	for k, t := range h.trees {
		left := make([]int64, len(t.left))
		for i := range left {
			left[i] = t.left[i]
			if t.leaf[i] {
				left[i] = -1
			}
		}
		st, err := newShapTree(left, t.right, t.feature, t.cover, t.value)
		if err != nil {
			h.shapTrees, h.shapErr = nil, fmt.Errorf("HistGradientBoostingClassifier iteration %d: %w", k, err)
			return
		}
		h.shapTrees = append(h.shapTrees, st)
	}
}
