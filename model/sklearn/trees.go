package sklearn

import (
	"fmt"
	"math"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/pickle"
)

// gradientBoosting is a binary GradientBoostingClassifier: the raw score
// is the log-odds of the init estimator's prior plus learning_rate times
// each stage's regression-tree value, and P(class 1) = expit(raw).
type gradientBoosting struct {
	init  float64
	rate  float64
	trees []*regressionTree
	width int

	shapTrees []*shapTree // the trees as TreeSHAP walks them
	shapErr   error       // why they cannot be explained, if they cannot
}

// regressionTree is a fitted sklearn.tree._tree.Tree with one output.
type regressionTree struct {
	left, right []int64
	feature     []int64
	threshold   []float64
	value       []float64
	// cover is weighted_n_node_samples: the training weight reaching each
	// node, which TreeSHAP uses to weigh a split whose feature is unknown.
	cover []float64
}

func newGradientBoosting(o *pickle.Object) (*gradientBoosting, error) {
	if err := binary(o); err != nil {
		return nil, err
	}
	g := &gradientBoosting{}
	n, _ := attr(o, "n_features_in_").(int64)
	g.width = int(n)
	var ok bool
	if g.rate, ok = numberOf(attr(o, "learning_rate")); !ok {
		return nil, fmt.Errorf("GradientBoostingClassifier.learning_rate is a %s", pickle.TypeName(attr(o, "learning_rate")))
	}
	if l, ok := attr(o, "_loss").(*pickle.Object); ok && l.Class.Name != "BinomialDeviance" {
		return nil, fmt.Errorf("GradientBoostingClassifier with loss %s is not supported (binary log-loss only)", l.Class.Name)
	}
	switch init := attr(o, "init_").(type) {
	case string:
		if init != "zero" {
			return nil, fmt.Errorf("GradientBoostingClassifier.init_ %q is not supported", init)
		}
	case *pickle.Object:
		if init.Class.Name != "DummyClassifier" {
			return nil, fmt.Errorf("GradientBoostingClassifier with an init estimator %s is not supported (the default prior only)", init.Class.Name)
		}
		if s, _ := attr(init, "strategy").(string); s != "prior" {
			return nil, fmt.Errorf("GradientBoostingClassifier init strategy %q is not supported", s)
		}
		prior, err := floatsAttr(init, "class_prior_")
		if err != nil || len(prior) != 2 {
			return nil, fmt.Errorf("GradientBoostingClassifier init prior is malformed")
		}
		// As BinomialDeviance.get_init_raw_predictions: clip to float32
		// eps, then the log-odds.
		eps := math.Nextafter32(1, 2) - 1
		p := math.Min(math.Max(prior[1], float64(eps)), 1-float64(eps))
		g.init = math.Log(p / (1 - p))
	default:
		return nil, fmt.Errorf("GradientBoostingClassifier is not fitted (init_ is a %s)", pickle.TypeName(init))
	}
	est, ok := attr(o, "estimators_").(*pickle.Array)
	if !ok || est.DType.Kind != 'O' || len(est.Shape) != 2 || est.Shape[1] != 1 {
		return nil, fmt.Errorf("GradientBoostingClassifier.estimators_ is not an (n, 1) array of trees")
	}
	for i, e := range est.Objects {
		dt, ok := e.(*pickle.Object)
		if !ok || dt.Class.Name != "DecisionTreeRegressor" {
			return nil, fmt.Errorf("GradientBoostingClassifier stage %d is a %s", i, pickle.TypeName(e))
		}
		t, err := newRegressionTree(dt, g.width)
		if err != nil {
			return nil, fmt.Errorf("GradientBoostingClassifier stage %d: %w", i, err)
		}
		g.trees = append(g.trees, t)
	}
	g.buildShapTrees()
	return g, nil
}

func newRegressionTree(dt *pickle.Object, width int) (*regressionTree, error) {
	tree, ok := attr(dt, "tree_").(*pickle.Object)
	if !ok {
		return nil, fmt.Errorf("no tree_")
	}
	st, ok := tree.State.(*pickle.Dict)
	if !ok {
		return nil, fmt.Errorf("tree state is a %s", pickle.TypeName(tree.State))
	}
	nodesV, _ := st.Get("nodes")
	valuesV, _ := st.Get("values")
	nodes, ok := nodesV.(*pickle.Array)
	values, ok2 := valuesV.(*pickle.Array)
	if !ok || !ok2 {
		return nil, fmt.Errorf("tree without nodes and values")
	}
	t := &regressionTree{}
	var err error
	field := func(name string) *pickle.Array {
		if err != nil {
			return nil
		}
		var a *pickle.Array
		a, err = nodes.Field(name)
		return a
	}
	l, r, f, th := field("left_child"), field("right_child"), field("feature"), field("threshold")
	if err != nil {
		return nil, err
	}
	if t.left, err = l.Int64s(); err != nil {
		return nil, err
	}
	if t.right, err = r.Int64s(); err != nil {
		return nil, err
	}
	if t.feature, err = f.Int64s(); err != nil {
		return nil, err
	}
	if t.threshold, err = th.Float64s(); err != nil {
		return nil, err
	}
	if t.value, err = values.Float64s(); err != nil {
		return nil, err
	}
	// The training weights only serve explanations: without them the tree
	// still predicts (newShapTree says what is missing).
	if w, werr := nodes.Field("weighted_n_node_samples"); werr == nil {
		t.cover, _ = w.Float64s()
	}
	n := len(t.left)
	if n == 0 || len(t.value) != n {
		return nil, fmt.Errorf("tree has %d nodes and %d values (one output expected)", n, len(t.value))
	}
	// Every child must point forward to a node, every split at a column:
	// a corrupt tree must fail here, not loop or index out of range later.
	for i := range n {
		if t.left[i] == -1 {
			continue
		}
		if t.left[i] <= int64(i) || t.right[i] <= int64(i) || t.left[i] >= int64(n) || t.right[i] >= int64(n) ||
			t.feature[i] < 0 || (width > 0 && t.feature[i] >= int64(width)) {
			return nil, fmt.Errorf("tree node %d is malformed", i)
		}
	}
	return t, nil
}

// predict follows the tree as sklearn's Cython code does, on the input
// cast to float32.
func (t *regressionTree) predict(x []float32) float64 {
	i := int64(0)
	for t.left[i] != -1 {
		i = t.next(i, x)
	}
	return t.value[i]
}

// next is the child of split node i that x goes to.
func (t *regressionTree) next(i int64, x []float32) int64 {
	if float64(x[t.feature[i]]) <= t.threshold[i] {
		return t.left[i]
	}
	return t.right[i]
}

func (g *gradientBoosting) proba(in []caresignal.Value) (float64, error) {
	x, err := g.inputs(in)
	if err != nil {
		return 0, err
	}
	raw := g.init
	for _, t := range g.trees {
		raw += g.rate * t.predict(x)
	}
	return expit(raw), nil
}

// inputs casts a row to float32 as sklearn's trees read it, refusing a
// missing value (GradientBoostingClassifier has no missing-value routing).
func (g *gradientBoosting) inputs(in []caresignal.Value) ([]float32, error) {
	if g.width > 0 && len(in) != g.width {
		return nil, fmt.Errorf("GradientBoostingClassifier was fitted on %d columns, got %d", g.width, len(in))
	}
	x := make([]float32, len(in))
	for j, v := range in {
		f, err := num(v)
		if err != nil {
			return nil, fmt.Errorf("GradientBoostingClassifier input %d: %w", j, err)
		}
		if math.IsNaN(f) {
			return nil, fmt.Errorf("GradientBoostingClassifier input %d is missing (NaN); the pipeline must impute it", j)
		}
		x[j] = float32(f)
	}
	return x, nil
}

// histGradientBoosting is a binary HistGradientBoostingClassifier: the raw
// score is the baseline plus each iteration's tree value (the learning rate
// is folded into the leaves), and P(class 1) = expit(raw). Missing values
// follow each split's learned direction; categorical splits test bitsets
// of raw category values, unknown categories going the missing way.
type histGradientBoosting struct {
	baseline float64
	trees    []*histTree
	width    int
	known    [][8]uint32 // per categorical feature, its training categories
	fIdx     []int       // feature → index into known

	shapTrees []*shapTree // the trees as TreeSHAP walks them
	shapErr   error       // why they cannot be explained, if they cannot
}

type histTree struct {
	value []float64
	// cover is each node's count of training samples, which TreeSHAP
	// uses to weigh a split whose feature is unknown.
	cover      []float64
	feature    []int64
	threshold  []float64
	missLeft   []bool
	left       []int64
	right      []int64
	leaf       []bool
	category   []bool
	bitsetIdx  []int64
	leftBitset [][8]uint32
}

func newHistGradientBoosting(o *pickle.Object) (*histGradientBoosting, error) {
	if err := binary(o); err != nil {
		return nil, err
	}
	h := &histGradientBoosting{}
	n, _ := attr(o, "n_features_in_").(int64)
	h.width = int(n)
	if l, ok := attr(o, "_loss").(*pickle.Object); ok && l.Class.Name != "HalfBinomialLoss" {
		return nil, fmt.Errorf("HistGradientBoostingClassifier with loss %s is not supported", l.Class.Name)
	}
	base, err := floatsAttr(o, "_baseline_prediction")
	if err != nil || len(base) != 1 {
		return nil, fmt.Errorf("HistGradientBoostingClassifier._baseline_prediction is not one number")
	}
	h.baseline = base[0]
	if err := h.knownCategories(o); err != nil {
		return nil, err
	}
	preds, ok := attr(o, "_predictors").(*pickle.List)
	if !ok {
		return nil, fmt.Errorf("HistGradientBoostingClassifier is not fitted (no _predictors)")
	}
	for i, it := range preds.Items {
		l, ok := it.(*pickle.List)
		if !ok || len(l.Items) != 1 {
			return nil, fmt.Errorf("HistGradientBoostingClassifier iteration %d does not hold one tree", i)
		}
		p, ok := l.Items[0].(*pickle.Object)
		if !ok || p.Class.Name != "TreePredictor" {
			return nil, fmt.Errorf("HistGradientBoostingClassifier iteration %d holds a %s", i, pickle.TypeName(l.Items[0]))
		}
		t, err := newHistTree(p, h.width)
		if err != nil {
			return nil, fmt.Errorf("HistGradientBoostingClassifier iteration %d: %w", i, err)
		}
		h.trees = append(h.trees, t)
	}
	h.buildShapTrees()
	return h, nil
}

// knownCategories builds, as _BinMapper.make_known_categories_bitsets, a
// bitset of the training categories of each categorical feature.
func (h *histGradientBoosting) knownCategories(o *pickle.Object) error {
	bm, ok := attr(o, "_bin_mapper").(*pickle.Object)
	if !ok {
		return fmt.Errorf("HistGradientBoostingClassifier has no _bin_mapper")
	}
	isCat, ok := attr(bm, "is_categorical_").(*pickle.Array)
	if !ok {
		return nil // no categorical features
	}
	flags, err := isCat.Int64s()
	if err != nil {
		return fmt.Errorf("_BinMapper.is_categorical_: %w", err)
	}
	th, _ := attr(bm, "bin_thresholds_").(*pickle.List)
	h.fIdx = make([]int, len(flags))
	for f, c := range flags {
		h.fIdx[f] = -1
		if c == 0 {
			continue
		}
		if th == nil || f >= len(th.Items) {
			return fmt.Errorf("_BinMapper.bin_thresholds_ lacks feature %d", f)
		}
		a, ok := th.Items[f].(*pickle.Array)
		if !ok {
			return fmt.Errorf("_BinMapper.bin_thresholds_[%d] is a %s", f, pickle.TypeName(th.Items[f]))
		}
		cats, err := a.Float64s()
		if err != nil {
			return err
		}
		var bs [8]uint32
		for _, c := range cats {
			if c < 0 || c > 255 {
				return fmt.Errorf("categorical feature %d has category %g outside 0..255", f, c)
			}
			v := uint8(c)
			bs[v/32] |= 1 << (v % 32)
		}
		h.fIdx[f] = len(h.known)
		h.known = append(h.known, bs)
	}
	return nil
}

func newHistTree(p *pickle.Object, width int) (*histTree, error) {
	nodes, ok := attr(p, "nodes").(*pickle.Array)
	if !ok {
		return nil, fmt.Errorf("TreePredictor has no nodes")
	}
	t := &histTree{}
	var err error
	get := func(name string) *pickle.Array {
		if err != nil {
			return nil
		}
		var a *pickle.Array
		a, err = nodes.Field(name)
		return a
	}
	ints := func(name string) []int64 {
		a := get(name)
		if err != nil {
			return nil
		}
		var v []int64
		v, err = a.Int64s()
		return v
	}
	bools := func(name string) []bool {
		v := ints(name)
		out := make([]bool, len(v))
		for i, x := range v {
			out[i] = x != 0
		}
		return out
	}
	if a := get("value"); err == nil {
		t.value, err = a.Float64s()
	}
	// The counts only serve explanations: without them the tree still
	// predicts (newShapTree says what is missing).
	if a, cerr := nodes.Field("count"); cerr == nil {
		t.cover, _ = a.Float64s()
	}
	if a := get("num_threshold"); err == nil {
		t.threshold, err = a.Float64s()
	}
	t.feature, t.left, t.right = ints("feature_idx"), ints("left"), ints("right")
	t.missLeft, t.leaf, t.category = bools("missing_go_to_left"), bools("is_leaf"), bools("is_categorical")
	t.bitsetIdx = ints("bitset_idx")
	if err != nil {
		return nil, err
	}
	if bs, ok := attr(p, "raw_left_cat_bitsets").(*pickle.Array); ok && bs.Len() > 0 {
		words, err := bs.Int64s()
		if err != nil || len(bs.Shape) != 2 || bs.Shape[1] != 8 {
			return nil, fmt.Errorf("TreePredictor.raw_left_cat_bitsets is not an (n, 8) array")
		}
		for i := 0; i < len(words); i += 8 {
			var b [8]uint32
			for k := range b {
				b[k] = uint32(words[i+k])
			}
			t.leftBitset = append(t.leftBitset, b)
		}
	}
	n := len(t.value)
	if n == 0 {
		return nil, fmt.Errorf("TreePredictor has no nodes")
	}
	for i := range n {
		if t.leaf[i] {
			continue
		}
		if t.left[i] <= int64(i) || t.right[i] <= int64(i) || t.left[i] >= int64(n) || t.right[i] >= int64(n) ||
			t.feature[i] < 0 || (width > 0 && t.feature[i] >= int64(width)) ||
			(t.category[i] && (t.bitsetIdx[i] < 0 || t.bitsetIdx[i] >= int64(len(t.leftBitset)))) {
			return nil, fmt.Errorf("TreePredictor node %d is malformed", i)
		}
	}
	return t, nil
}

func inBitset(b *[8]uint32, v uint8) bool { return b[v/32]>>(v%32)&1 == 1 }

func (h *histGradientBoosting) predictTree(t *histTree, x []float64) float64 {
	i := int64(0)
	for !t.leaf[i] {
		i = h.next(t, i, x)
	}
	return t.value[i]
}

// next is the child of split node i that x goes to.
func (h *histGradientBoosting) next(t *histTree, i int64, x []float64) int64 {
	v := x[t.feature[i]]
	missingWay := t.right[i]
	if t.missLeft[i] {
		missingWay = t.left[i]
	}
	switch {
	case math.IsNaN(v):
		return missingWay
	case t.category[i]:
		f := h.fIdx[t.feature[i]]
		switch {
		case v < 0 || v > 255 || f < 0:
			return missingWay
		case inBitset(&t.leftBitset[t.bitsetIdx[i]], uint8(v)):
			return t.left[i]
		case inBitset(&h.known[f], uint8(v)):
			return t.right[i]
		default: // an unknown category goes the missing way
			return missingWay
		}
	case v <= t.threshold[i]:
		return t.left[i]
	default:
		return t.right[i]
	}
}

func (h *histGradientBoosting) proba(in []caresignal.Value) (float64, error) {
	x, err := h.inputs(in)
	if err != nil {
		return 0, err
	}
	raw := h.baseline
	for _, t := range h.trees {
		raw += h.predictTree(t, x)
	}
	return expit(raw), nil
}

func (h *histGradientBoosting) inputs(in []caresignal.Value) ([]float64, error) {
	if h.width > 0 && len(in) != h.width {
		return nil, fmt.Errorf("HistGradientBoostingClassifier was fitted on %d columns, got %d", h.width, len(in))
	}
	x := make([]float64, len(in))
	for j, v := range in {
		f, err := num(v)
		if err != nil {
			return nil, fmt.Errorf("HistGradientBoostingClassifier input %d: %w", j, err)
		}
		x[j] = f
	}
	return x, nil
}
