package model

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sklearnfixture"
	"github.com/caresignal/caresignal/model/sklearn"
)

// TestImportedExplanations: an imported linear pipeline (the reference
// stack's own model among them) explains each prediction by its inputs,
// the period column aside, largest first; each input's contribution is
// its own: giving it another patient's value moves it, and nothing else,
// by the change in next month's log-odds. Tree models answer none.
func TestImportedExplanations(t *testing.T) {
	cases, err := sklearnfixture.Cases(sklearnDir)
	if err != nil {
		t.Fatal(err)
	}
	explained := map[string]bool{}
	for _, c := range cases {
		if c.Files["joblib"] == "" {
			continue
		}
		file, err := os.ReadFile(filepath.Join(sklearnDir, c.Files["joblib"]))
		if err != nil {
			t.Fatal(err)
		}
		m, err := Import(ImportSource{Name: c.Case, Format: FromJoblib, PeriodColumn: c.PeriodColumn, File: file, Options: sklearn.Options{}})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := c.Heldout(sklearnDir)
		if err != nil {
			t.Fatal(err)
		}
		linear := m.Imported.clf.Linear()
		predict := func(row map[string]caresignal.Value) (caresignal.Prediction, bool) {
			month, ok := monthOf(row[c.PeriodColumn])
			if !ok {
				return caresignal.Prediction{}, false
			}
			feats := map[string]caresignal.Value{}
			for k, v := range row {
				if k != c.PeriodColumn {
					feats[k] = v
				}
			}
			p, err := m.Predict(&caresignal.Instance{Features: feats, MonthsEnrolled: month - 1, Horizon: 1})
			return p, err == nil
		}
		logit := func(h float64) float64 { return math.Log(h / (1 - h)) }
		for i := 1; i < len(rows); i += 37 {
			p, ok := predict(rows[i])
			if !ok {
				continue
			}
			if !linear {
				if len(p.Explanation) != 0 {
					t.Errorf("%s: a tree model explained: %v", c.Case, p.Explanation)
				}
				continue
			}
			explained[c.Case] = true
			by := map[string]float64{}
			for k, e := range p.Explanation {
				if e.Feature == c.PeriodColumn || !strings.HasPrefix(e.Text, e.Feature+" = "+e.Value+" → ") {
					t.Fatalf("%s: contribution %+v", c.Case, e)
				}
				if k > 0 && math.Abs(e.Contribution) > math.Abs(p.Explanation[k-1].Contribution) {
					t.Errorf("%s: explanation not largest first: %v", c.Case, p.Explanation)
				}
				by[e.Feature] = e.Contribution
			}
			if len(by) != len(m.Imported.Inputs) {
				t.Errorf("%s: %d contributions for %d inputs", c.Case, len(by), len(m.Imported.Inputs))
			}
			for _, in := range m.Imported.Inputs {
				moved := map[string]caresignal.Value{}
				for k, v := range rows[i] {
					moved[k] = v
				}
				moved[in.Name] = rows[i-1][in.Name]
				q, ok := predict(moved)
				if !ok {
					continue
				}
				for _, e := range q.Explanation {
					want := by[e.Feature]
					if e.Feature == in.Name {
						want += logit(q.Hazard[0]) - logit(p.Hazard[0])
					}
					if math.Abs(e.Contribution-want) > 1e-9*math.Max(1, math.Abs(want)) {
						t.Errorf("%s row %d: giving %s another patient's value moved %s's contribution to %v, want %v", c.Case, i, in.Name, e.Feature, e.Contribution, want)
					}
				}
			}
		}
	}
	if !explained["anchor_flask"] || len(explained) < 3 {
		t.Errorf("explained linear cases %v: want the reference stack's and at least three", explained)
	}
}
