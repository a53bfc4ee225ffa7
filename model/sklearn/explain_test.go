package sklearn

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sklearnfixture"
)

// TestLinearExplanationsAddUpAndGroupByInput: for every linear pipeline
// of the fixtures (scikit-learn's own pickles), on every held-out row,
// the intercept and the per-input terms add up to the log-odds of
// predict_proba, and each term belongs to its input alone: giving one
// input another row's value moves that input's term by the change in the
// log-odds and leaves every other term as it was. Tree models are not
// linear and say so.
func TestLinearExplanationsAddUpAndGroupByInput(t *testing.T) {
	cases, err := sklearnfixture.Cases(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	linear := 0
	for _, c := range cases {
		file, ok := c.Files["p5"]
		if !ok {
			continue
		}
		f, err := os.Open(filepath.Join(fixtureDir, file))
		if err != nil {
			t.Fatal(err)
		}
		m, err := Load(f, Options{})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !m.Linear() {
			if _, _, err := m.LogOddsByInput(make([]caresignal.Value, len(m.Inputs))); err == nil {
				t.Errorf("%s: not linear, yet explained", c.Case)
			}
			continue
		}
		linear++
		rows, err := c.Heldout(fixtureDir)
		if err != nil {
			t.Fatal(err)
		}
		logOdds := func(row []caresignal.Value) (float64, bool) {
			p, err := m.PredictProba(row)
			if err != nil {
				return 0, false
			}
			return math.Log(p / (1 - p)), true
		}
		worst := 0.0
		for i, r := range rows {
			row := ordered(m, r)
			lo, ok := logOdds(row)
			if !ok {
				continue
			}
			terms, intercept, err := m.LogOddsByInput(row)
			if err != nil {
				t.Fatalf("%s row %d: %v", c.Case, i, err)
			}
			sum := intercept
			for _, v := range terms {
				sum += v
			}
			worst = math.Max(worst, math.Abs(sum-lo)/math.Max(1, math.Abs(lo)))
			if i == 0 || i%25 != 0 {
				continue
			}
			other := ordered(m, rows[i-1])
			for k := range m.Inputs {
				moved := append([]caresignal.Value(nil), row...)
				moved[k] = other[k]
				lo2, ok := logOdds(moved)
				if !ok {
					continue
				}
				terms2, _, err := m.LogOddsByInput(moved)
				if err != nil {
					t.Fatal(err)
				}
				for j := range terms {
					want := terms[j]
					if j == k {
						want += lo2 - lo
					}
					if math.Abs(terms2[j]-want) > 1e-9*math.Max(1, math.Abs(want)) {
						t.Errorf("%s row %d: giving %s another value moved %s's term from %v to %v (want %v)", c.Case, i, m.Inputs[k], m.Inputs[j], terms[j], terms2[j], want)
					}
				}
			}
		}
		if worst > 1e-12 {
			t.Errorf("%s: the terms add up to the log-odds within %.2g, want 1e-12", c.Case, worst)
		}
	}
	if linear < 3 {
		t.Errorf("%d linear pipelines among the fixtures: the test covers too few", linear)
	}
}
