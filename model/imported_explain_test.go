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
// stack's own model among them) or tree ensemble explains each prediction
// by its inputs, the period column aside, largest first. A linear
// pipeline's contribution of each input is its own: giving it another
// patient's value moves it, and nothing else, by the change in next
// month's log-odds. A tree ensemble's contributions are its TreeSHAP
// values: with the expected log-odds and the period's term they add up to
// the log-odds of the hazard served for next month.
func TestImportedExplanations(t *testing.T) {
	cases, err := sklearnfixture.Cases(sklearnDir)
	if err != nil {
		t.Fatal(err)
	}
	explained, trees := map[string]bool{}, map[string]bool{}
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
			if !linear {
				trees[c.Case] = true
				base, period := treeBase(t, m.Imported, rows[i], c.PeriodColumn)
				sum := base + period
				for _, e := range p.Explanation {
					sum += e.Contribution
				}
				if d := math.Abs(sum - logit(p.Hazard[0])); d > 1e-9 {
					t.Errorf("%s row %d: base %v + period %v + contributions = %v, the log-odds of the hazard %v", c.Case, i, base, period, sum, logit(p.Hazard[0]))
				}
				continue
			}
			explained[c.Case] = true
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
	for _, want := range []string{"cohort_gbc", "cohort_hgbc", "cohort_hgbc_categorical", "cohort_hgbc_period_ordinal"} {
		if !trees[want] {
			t.Errorf("explained tree cases %v: want %s", trees, want)
		}
	}
}

// treeBase returns, for a held-out row, the expected log-odds and the
// period column's term of a tree ensemble's explanation, the row's period
// as the classifier reads it.
func treeBase(t *testing.T, im *Imported, row map[string]caresignal.Value, periodColumn string) (base, period float64) {
	t.Helper()
	in := make([]caresignal.Value, len(im.clf.Inputs))
	k := -1
	for j, name := range im.clf.Inputs {
		v, ok := row[name]
		if !ok {
			v = caresignal.NullValue()
		}
		if name == periodColumn {
			k = j
			month, _ := monthOf(v)
			v = caresignal.Num(float64(month))
			if im.period != nil {
				v = im.period.value(month)
			}
		} else if _, categorical := im.clf.Levels[name]; categorical && v.Kind == caresignal.Number {
			v = caresignal.Str(v.String())
		}
		in[j] = v
	}
	terms, base, err := im.clf.ExplainByInput(in)
	if err != nil {
		t.Fatal(err)
	}
	return base, terms[k]
}

// TestImportedDaysElapsed: an imported model takes days_elapsed as a
// native one does: the first month's hazard covers the rest of it.
func TestImportedDaysElapsed(t *testing.T) {
	c, err := sklearnfixture.Find(sklearnDir, "lung_logreg")
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join(sklearnDir, c.Files["joblib"]))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Import(ImportSource{Name: c.Case, Format: FromJoblib, PeriodColumn: c.PeriodColumn, File: file})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := c.Heldout(sklearnDir)
	if err != nil {
		t.Fatal(err)
	}
	feats := map[string]caresignal.Value{}
	for k, v := range rows[0] {
		if k != c.PeriodColumn {
			feats[k] = v
		}
	}
	inst := caresignal.Instance{Features: feats, Horizon: 3}
	whole, err := m.Predict(&inst)
	if err != nil {
		t.Fatal(err)
	}
	inst.DaysElapsed = 10
	rest, err := m.Predict(&inst)
	if err != nil {
		t.Fatal(err)
	}
	if rest.Hazard[0] != caresignal.MonthInProgress(whole.Hazard[0], 10) || rest.Hazard[1] != whole.Hazard[1] {
		t.Errorf("hazards %v, whole months %v", rest.Hazard, whole.Hazard)
	}
}
