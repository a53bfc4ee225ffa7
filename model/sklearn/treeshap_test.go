package sklearn

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sklearnfixture"
)

func loadCase(t testing.TB, name string) (*Model, sklearnfixture.Case) {
	t.Helper()
	c, err := sklearnfixture.Find(fixtureDir, name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(fixtureDir, c.Files["p5"]))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := Load(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

// bruteTree is a tree as the brute force reads it: straight from the
// predictor's own arrays and routing, without the TreeSHAP form.
type bruteTree struct {
	leaf     func(i int64) bool
	children func(i int64) (int64, int64)
	feature  func(i int64) int64
	cover    func(i int64) float64
	value    func(i int64) float64
	next     func(i int64) int64 // for the row at hand
	scale    float64
}

// expect is E[f(x) | x_S] for the columns in known: a split on a known
// column follows the row, one on an unknown column averages its children
// weighted by their training weight.
func (b *bruteTree) expect(i int64, known func(int64) bool) float64 {
	if b.leaf(i) {
		return b.value(i)
	}
	if known(b.feature(i)) {
		return b.expect(b.next(i), known)
	}
	l, r := b.children(i)
	return (b.cover(l)*b.expect(l, known) + b.cover(r)*b.expect(r, known)) / b.cover(i)
}

// bruteShapley enumerates every subset of the columns the trees split on
// and applies the Shapley formula to v(S) = Σ scale·E[f | x_S].
func bruteShapley(trees []*bruteTree, width int) (phi []float64, empty float64) {
	var used []int64
	seen := map[int64]bool{}
	for _, b := range trees {
		var walk func(i int64)
		walk = func(i int64) {
			if b.leaf(i) {
				return
			}
			if f := b.feature(i); !seen[f] {
				seen[f] = true
				used = append(used, f)
			}
			l, r := b.children(i)
			walk(l)
			walk(r)
		}
		walk(0)
	}
	n := len(used)
	v := make([]float64, 1<<n)
	for mask := range v {
		known := func(f int64) bool {
			for k, u := range used {
				if u == f {
					return mask>>k&1 == 1
				}
			}
			return false
		}
		for _, b := range trees {
			v[mask] += b.scale * b.expect(0, known)
		}
	}
	fact := func(k int) float64 {
		out := 1.0
		for i := 2; i <= k; i++ {
			out *= float64(i)
		}
		return out
	}
	phi = make([]float64, width)
	for k, f := range used {
		for mask := range v {
			if mask>>k&1 == 1 {
				continue
			}
			s := bits.OnesCount(uint(mask))
			w := fact(s) * fact(n-s-1) / fact(n)
			phi[f] += w * (v[mask|1<<k] - v[mask])
		}
	}
	return phi, v[0]
}

// small picks up to four trees whose split columns number at most 12 in
// all, so that the brute force enumerates at most 4,096 subsets; want
// says which trees to prefer (e.g. those with a categorical split).
func small(n int, splits func(k int) map[int64]bool, want func(k int) bool) []int {
	var pick []int
	cols := map[int64]bool{}
	for pass := range 2 {
		for k := 0; k < n && len(pick) < 4; k++ {
			if (pass == 0) != want(k) || contains(pick, k) {
				continue
			}
			union := len(cols)
			for f := range splits(k) {
				if !cols[f] {
					union++
				}
			}
			if union > 12 {
				continue
			}
			for f := range splits(k) {
				cols[f] = true
			}
			pick = append(pick, k)
		}
	}
	return pick
}

func contains(s []int, k int) bool {
	for _, x := range s {
		if x == k {
			return true
		}
	}
	return false
}

// TestTreeSHAPAgreesWithBruteForce: on small ensembles of the fixtures'
// trees (up to four trees of GradientBoostingClassifier and of
// HistGradientBoostingClassifier, with and without categorical splits),
// TreeSHAP's value of every column is the Shapley value found by
// enumerating every subset of the split columns with v(S) = E[f | x_S]
// computed by a plain recursion over each tree, within 1e-12; on held-out
// rows, rows with missing values (HGB) and rows with categories the
// model never saw and out-of-range codes (the categorical HGB).
func TestTreeSHAPAgreesWithBruteForce(t *testing.T) {
	for _, name := range []string{"cohort_gbc", "lung_gbc", "cohort_hgbc", "lung_hgbc", "cohort_hgbc_categorical", "lung_hgbc_categorical"} {
		t.Run(name, func(t *testing.T) {
			m, c := loadCase(t, name)
			rows, err := c.Heldout(fixtureDir)
			if err != nil {
				t.Fatal(err)
			}
			final := m.clf
			if p, ok := final.(*pipeline); ok {
				final = p.final
			}
			transform := func(row []caresignal.Value) ([]caresignal.Value, error) {
				if p, ok := m.clf.(*pipeline); ok {
					return p.transform(row)
				}
				return row, nil
			}
			rng := rand.New(rand.NewPCG(18, uint64(len(name))))
			var checked, missingRows, unseenRows int
			worst := 0.0
			switch e := final.(type) {
			case *gradientBoosting:
				splits := func(k int) map[int64]bool {
					s := map[int64]bool{}
					for i, f := range e.trees[k].feature {
						if e.trees[k].left[i] != -1 {
							s[f] = true
						}
					}
					return s
				}
				pick := small(len(e.trees), splits, func(int) bool { return true })
				if len(pick) < 3 {
					t.Fatalf("trees %v: too few for the test", pick)
				}
				sub := &gradientBoosting{init: e.init, rate: e.rate, width: e.width}
				for _, k := range pick {
					sub.trees = append(sub.trees, e.trees[k])
				}
				sub.buildShapTrees()
				for i := 0; i < len(rows); i += 5 {
					x, err := transform(ordered(m, rows[i]))
					if err != nil {
						continue
					}
					xf, err := sub.inputs(x)
					if err != nil {
						continue
					}
					phi, base, err := sub.shap(x)
					if err != nil {
						t.Fatal(err)
					}
					var trees []*bruteTree
					for _, rt := range sub.trees {
						trees = append(trees, &bruteTree{
							leaf:     func(i int64) bool { return rt.left[i] == -1 },
							children: func(i int64) (int64, int64) { return rt.left[i], rt.right[i] },
							feature:  func(i int64) int64 { return rt.feature[i] },
							cover:    func(i int64) float64 { return rt.cover[i] },
							value:    func(i int64) float64 { return rt.value[i] },
							next:     func(i int64) int64 { return rt.next(i, xf) },
							scale:    sub.rate,
						})
					}
					want, empty := bruteShapley(trees, len(x))
					worst = math.Max(worst, compare(t, phi, want, base, sub.init+empty))
					checked++
				}
			case *histGradientBoosting:
				categorical := func(k int) bool {
					for i, cat := range e.trees[k].category {
						if cat && !e.trees[k].leaf[i] {
							return true
						}
					}
					return false
				}
				splits := func(k int) map[int64]bool {
					s := map[int64]bool{}
					for i, f := range e.trees[k].feature {
						if !e.trees[k].leaf[i] {
							s[f] = true
						}
					}
					return s
				}
				pick := small(len(e.trees), splits, categorical)
				if len(pick) < 3 {
					t.Fatalf("trees %v: too few for the test", pick)
				}
				sub := &histGradientBoosting{baseline: e.baseline, width: e.width, known: e.known, fIdx: e.fIdx}
				var cats, missLeft, missRight int
				for _, k := range pick {
					ht := e.trees[k]
					sub.trees = append(sub.trees, ht)
					for i := range ht.leaf {
						if ht.leaf[i] {
							continue
						}
						if ht.category[i] {
							cats++
						}
						if ht.missLeft[i] {
							missLeft++
						} else {
							missRight++
						}
					}
				}
				if len(e.known) > 0 && cats == 0 {
					t.Fatalf("the small ensemble (trees %v) has no categorical split", pick)
				}
				if missLeft == 0 || missRight == 0 {
					t.Logf("trees %v: %d splits send missing values left, %d right", pick, missLeft, missRight)
				}
				sub.buildShapTrees()
				// A code no categorical column was fitted on, to stand
				// for an unseen category.
				unseen := -1.0
				for v := 255; v >= 0 && len(e.known) > 0; v-- {
					if !inBitset(&e.known[0], uint8(v)) {
						unseen = float64(v)
						break
					}
				}
				for i := 0; i < len(rows); i += 5 {
					x, err := transform(ordered(m, rows[i]))
					if err != nil {
						continue
					}
					variants := [][]caresignal.Value{x}
					gap := append([]caresignal.Value(nil), x...)
					for j := range gap {
						if rng.IntN(3) == 0 {
							gap[j] = caresignal.NullValue()
						}
					}
					variants = append(variants, gap)
					if len(e.known) > 0 {
						odd := append([]caresignal.Value(nil), x...)
						for j, f := range e.fIdx {
							switch {
							case f < 0:
							case rng.IntN(2) == 0:
								odd[j] = caresignal.Num(unseen)
							default:
								odd[j] = caresignal.Num(-1)
							}
						}
						variants = append(variants, odd)
						unseenRows++
					}
					for _, v := range variants {
						xf, err := sub.inputs(v)
						if err != nil {
							t.Fatal(err)
						}
						for _, f := range xf {
							if math.IsNaN(f) {
								missingRows++
								break
							}
						}
						phi, base, err := sub.shap(v)
						if err != nil {
							t.Fatal(err)
						}
						var trees []*bruteTree
						for _, ht := range sub.trees {
							trees = append(trees, &bruteTree{
								leaf:     func(i int64) bool { return ht.leaf[i] },
								children: func(i int64) (int64, int64) { return ht.left[i], ht.right[i] },
								feature:  func(i int64) int64 { return ht.feature[i] },
								cover:    func(i int64) float64 { return ht.cover[i] },
								value:    func(i int64) float64 { return ht.value[i] },
								next:     func(i int64) int64 { return sub.next(ht, i, xf) },
								scale:    1,
							})
						}
						want, empty := bruteShapley(trees, len(v))
						worst = math.Max(worst, compare(t, phi, want, base, sub.baseline+empty))
						checked++
					}
				}
				if missingRows == 0 {
					t.Error("no row with a missing value was checked")
				}
			default:
				t.Fatalf("%T is not a tree ensemble", final)
			}
			if checked < 50 {
				t.Errorf("%d rows checked", checked)
			}
			t.Logf("%d rows (%d with missing values, %d with unseen categories): largest difference from the brute force %.2g", checked, missingRows, unseenRows, worst)
		})
	}
}

// compare reports the largest difference between TreeSHAP's and the brute
// force's values, failing the test beyond 1e-12.
func compare(t *testing.T, phi, want []float64, base, wantBase float64) float64 {
	t.Helper()
	worst := math.Abs(base - wantBase)
	if worst > 1e-12 {
		t.Errorf("E[f] = %v, the brute force's v(∅) = %v", base, wantBase)
	}
	for j := range want {
		d := math.Abs(phi[j] - want[j])
		worst = math.Max(worst, d)
		if d > 1e-12 {
			t.Errorf("column %d: TreeSHAP %v, brute force %v", j, phi[j], want[j])
		}
	}
	return worst
}

// TestTreeExplanationsAddUp: for every tree ensemble among the fixtures,
// on every held-out row, the base and the per-input terms add up to the
// log-odds of scikit-learn's own predict_proba within 1e-9.
func TestTreeExplanationsAddUp(t *testing.T) {
	cases, err := sklearnfixture.Cases(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	trees := 0
	for _, c := range cases {
		if c.Files["p5"] == "" || len(c.Proba) == 0 {
			continue
		}
		m, _ := loadCase(t, c.Case)
		if !m.Trees() {
			continue
		}
		trees++
		if !m.Explainable() {
			t.Errorf("%s: a tree ensemble that does not explain", c.Case)
			continue
		}
		rows, err := c.Heldout(fixtureDir)
		if err != nil {
			t.Fatal(err)
		}
		worst, n := 0.0, 0
		for i, r := range rows {
			row := ordered(m, r)
			if _, err := m.PredictProba(row); err != nil {
				continue
			}
			terms, base, err := m.ExplainByInput(row)
			if err != nil {
				t.Fatalf("%s row %d: %v", c.Case, i, err)
			}
			if len(terms) != len(m.Inputs) {
				t.Fatalf("%s: %d terms for %d inputs", c.Case, len(terms), len(m.Inputs))
			}
			sum := base
			for _, v := range terms {
				sum += v
			}
			p := c.Proba[i]
			worst = math.Max(worst, math.Abs(sum-math.Log(p/(1-p))))
			n++
		}
		if worst > 1e-9 || n < len(rows)/2 {
			t.Errorf("%s: base + terms against the log-odds of predict_proba within %.2g on %d rows, want 1e-9", c.Case, worst, n)
		}
		t.Logf("%s: %d rows, base + terms within %.2g of logit(predict_proba)", c.Case, n, worst)
	}
	if trees < 6 {
		t.Errorf("%d tree ensembles among the fixtures: the test covers too few", trees)
	}
}

func benchmarkExplain(b *testing.B, name string) {
	m, c := loadCase(b, name)
	rows, err := c.Heldout(fixtureDir)
	if err != nil {
		b.Fatal(err)
	}
	var ok [][]caresignal.Value
	for _, r := range rows {
		row := ordered(m, r)
		if _, err := m.PredictProba(row); err == nil {
			ok = append(ok, row)
		}
	}
	b.Run("predict", func(b *testing.B) {
		for i := range b.N {
			if _, err := m.PredictProba(ok[i%len(ok)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("explain", func(b *testing.B) {
		for i := range b.N {
			if _, _, err := m.ExplainByInput(ok[i%len(ok)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkExplainCohortGBC(b *testing.B)  { benchmarkExplain(b, "cohort_gbc") }
func BenchmarkExplainCohortHGBC(b *testing.B) { benchmarkExplain(b, "cohort_hgbc") }

// TestTreesWithoutWeightsPredictButDoNotExplain: a tree whose nodes lack
// their training weights, or carry a zero one, still predicts, but the
// model says it cannot be explained and why, instead of dividing by zero.
func TestTreesWithoutWeightsPredictButDoNotExplain(t *testing.T) {
	for _, name := range []string{"cohort_gbc", "cohort_hgbc"} {
		for _, damage := range []string{"none", "zero"} {
			m, c := loadCase(t, name)
			final := m.clf
			if p, ok := final.(*pipeline); ok {
				final = p.final
			}
			switch e := final.(type) {
			case *gradientBoosting:
				rt := *e.trees[1]
				rt.cover = nil
				if damage == "zero" {
					rt.cover = append([]float64{0}, e.trees[1].cover[1:]...)
				}
				e.trees[1] = &rt
				e.shapTrees, e.shapErr = nil, nil
				e.buildShapTrees()
			case *histGradientBoosting:
				ht := *e.trees[1]
				ht.cover = nil
				if damage == "zero" {
					ht.cover = append([]float64{0}, e.trees[1].cover[1:]...)
				}
				e.trees[1] = &ht
				e.shapTrees, e.shapErr = nil, nil
				e.buildShapTrees()
			}
			m.explain = m.explainParts() // as loading works it out
			rows, err := c.Heldout(fixtureDir)
			if err != nil {
				t.Fatal(err)
			}
			row := ordered(m, rows[0])
			if p, err := m.PredictProba(row); err != nil || math.Abs(p-c.Proba[0]) > 1e-12 {
				t.Errorf("%s, weights %s: P = %v (%v), scikit-learn %v", name, damage, p, err, c.Proba[0])
			}
			if m.Explainable() {
				t.Errorf("%s, weights %s: explainable", name, damage)
			}
			_, _, err = m.ExplainByInput(row)
			if err == nil || !strings.Contains(err.Error(), "iteration 1") && !strings.Contains(err.Error(), "stage 1") {
				t.Errorf("%s, weights %s: %v, want an error naming the tree", name, damage, err)
			}
			t.Logf("%s, weights %s: %v", name, damage, err)
		}
	}
}

// TestTreeSHAPAgreesWithScikitLearnReference: on the small ensembles and
// rows of testdata/sklearn/treeshap_reference.json (written by
// scripts/sklearn/treeshap_reference.py: Shapley values by enumeration of
// subsets, every split's route asked of scikit-learn's own predictor,
// missing values and unseen categories among the rows), TreeSHAP's values
// and E[f] agree within 1e-12.
func TestTreeSHAPAgreesWithScikitLearnReference(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtureDir, "treeshap_reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Case     string       `json:"case"`
			File     string       `json:"file"`
			SHA256   string       `json:"sha256"`
			Trees    []int        `json:"trees"`
			Rows     [][]*float64 `json:"rows"`
			Phi      [][]float64  `json:"phi"`
			Expected float64      `json:"expected"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 6 {
		t.Fatalf("%d reference cases", len(ref.Cases))
	}
	for _, rc := range ref.Cases {
		file, err := os.ReadFile(filepath.Join(fixtureDir, rc.File))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(file); hex.EncodeToString(sum[:]) != rc.SHA256 {
			t.Fatalf("%s: %s changed since the reference was written: run scripts/sklearn/treeshap_reference.py", rc.Case, rc.File)
		}
		m, err := Load(bytes.NewReader(file), Options{})
		if err != nil {
			t.Fatal(err)
		}
		final := m.clf
		if p, ok := final.(*pipeline); ok {
			final = p.final
		}
		var sub treeSHAP
		switch e := final.(type) {
		case *gradientBoosting:
			s := &gradientBoosting{init: e.init, rate: e.rate, width: e.width}
			for _, k := range rc.Trees {
				s.trees = append(s.trees, e.trees[k])
			}
			s.buildShapTrees()
			sub = s
		case *histGradientBoosting:
			s := &histGradientBoosting{baseline: e.baseline, width: e.width, known: e.known, fIdx: e.fIdx}
			for _, k := range rc.Trees {
				s.trees = append(s.trees, e.trees[k])
			}
			s.buildShapTrees()
			sub = s
		default:
			t.Fatalf("%s: %T is not a tree ensemble", rc.Case, final)
		}
		worst, missing := 0.0, 0
		for i, r := range rc.Rows {
			row := make([]caresignal.Value, len(r))
			gap := false
			for j, v := range r {
				row[j] = caresignal.NullValue()
				if v != nil {
					row[j] = caresignal.Num(*v)
				} else {
					gap = true
				}
			}
			if gap {
				missing++
			}
			phi, base, err := sub.shap(row)
			if err != nil {
				t.Fatalf("%s row %d: %v", rc.Case, i, err)
			}
			worst = math.Max(worst, math.Abs(base-rc.Expected))
			for j := range phi {
				worst = math.Max(worst, math.Abs(phi[j]-rc.Phi[i][j]))
			}
		}
		if worst > 1e-12 {
			t.Errorf("%s: TreeSHAP differs from the reference by up to %.2g, want 1e-12", rc.Case, worst)
		}
		t.Logf("%s: trees %v, %d rows (%d with missing values): within %.2g of the reference", rc.Case, rc.Trees, len(rc.Rows), missing, worst)
	}
}
