package sklearn

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/pickle"
	"github.com/caresignal/caresignal/internal/sklearnfixture"
)

// fixtureDir holds the pickles, joblib files and MLflow folders written
// by scripts/sklearn/generate.sh, with scikit-learn's own predict_proba.
const fixtureDir = "../../testdata/sklearn"

func ordered(m *Model, row map[string]caresignal.Value) []caresignal.Value {
	out := make([]caresignal.Value, len(m.Inputs))
	for i, name := range m.Inputs {
		v, ok := row[name]
		if !ok {
			v = caresignal.NullValue()
		}
		out[i] = v
	}
	return out
}

// TestAgreesWithScikitLearn loads every model in every pickle and joblib
// format and compares P(class 1) on the held-out rows with scikit-learn's
// predict_proba: within 1e-12 (relative to max(p, 1e-300)), and exactly for
// the tree ensembles where the arithmetic is the same.
func TestAgreesWithScikitLearn(t *testing.T) {
	worst := map[string]float64{}
	cases, err := sklearnfixture.Cases(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		rows, err := c.Heldout(fixtureDir)
		if err != nil {
			t.Fatal(err)
		}
		formats := make([]string, 0, len(c.Files))
		for f := range c.Files {
			formats = append(formats, f)
		}
		sort.Strings(formats)
		for _, format := range formats {
			if format == "mlflow" {
				continue // model/mlflow tests these
			}
			t.Run(c.Case+"/"+format, func(t *testing.T) {
				f, err := os.Open(filepath.Join(fixtureDir, c.Files[format]))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				m, err := Load(f, Options{StrictVersion: true})
				if err != nil {
					t.Fatal(err)
				}
				want := make([]string, len(c.InputColumns))
				for i, ic := range c.InputColumns {
					want[i] = ic.Name
				}
				if !slices.Equal(m.Inputs, want) {
					t.Errorf("inputs %v, want %v", m.Inputs, want)
				}
				maxDiff := 0.0
				for i, row := range rows {
					p, err := m.PredictProba(ordered(m, row))
					if err != nil {
						t.Fatalf("row %d: %v", i, err)
					}
					d := math.Abs(p-c.Proba[i]) / math.Max(c.Proba[i], 1e-300)
					maxDiff = math.Max(maxDiff, d)
					if d > 1e-12 || math.IsNaN(p) {
						t.Errorf("row %d: %.17g, scikit-learn %.17g", i, p, c.Proba[i])
					}
				}
				worst[c.Kind+" "+format] = math.Max(worst[c.Kind+" "+format], maxDiff)
				if c.Beyond != nil {
					checkBeyond(t, m, c)
				}
			})
		}
	}
	keys := make([]string, 0, len(worst))
	for k := range worst {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("\n  " + k + ": " + strconv.FormatFloat(worst[k], 'e', 1, 64))
	}
	t.Logf("largest relative difference from scikit-learn's predict_proba:%s", b.String())
}

// checkBeyond scores the rows of a case whose period a categorical encoder
// reads, with periods the encoder was not fitted on: what scikit-learn
// answered, within 1e-12, or an error where it refused.
func checkBeyond(t *testing.T, m *Model, c sklearnfixture.Case) {
	t.Helper()
	enc, ok := m.Encodings[c.PeriodColumn]
	if !ok {
		t.Fatalf("no encoding recorded for the period column %s", c.PeriodColumn)
	}
	if refuses := len(c.Beyond.Refused) > 0; enc.Refuses != refuses {
		t.Errorf("Refuses = %v; scikit-learn refused %d rows", enc.Refuses, len(c.Beyond.Refused))
	}
	if len(enc.Levels) != len(c.Beyond.PeriodLevels) {
		t.Errorf("%d period levels, scikit-learn %d", len(enc.Levels), len(c.Beyond.PeriodLevels))
	}
	rows, err := c.BeyondRows(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		if enc.Has(row[c.PeriodColumn]) {
			t.Errorf("beyond row %d: period %v is among the levels", i, row[c.PeriodColumn])
		}
		p, err := m.PredictProba(ordered(m, row))
		if len(c.Beyond.Refused) > 0 {
			if err == nil {
				t.Errorf("beyond row %d: %v, scikit-learn refused it: %s", i, p, c.Beyond.Refused[i])
			}
			continue
		}
		if err != nil {
			t.Fatalf("beyond row %d: %v", i, err)
		}
		if want := c.Beyond.Proba[i]; math.Abs(p-want)/math.Max(want, 1e-300) > 1e-12 || math.IsNaN(p) {
			t.Errorf("beyond row %d: %.17g, scikit-learn %.17g", i, p, want)
		}
	}
}

// TestRefusesHostilePickles: code-execution gadgets are refused naming the
// import, malformed files fail cleanly, and nothing allocates what the file
// does not hold.
func TestRefusesHostilePickles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "hostile", "*"))
	if len(files) == 0 {
		t.Fatal("no hostile fixtures")
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = Load(f, Options{})
			if err == nil {
				t.Fatal("loaded")
			}
			var ce *caresignal.Error
			if !errors.As(err, &ce) || ce.Code != caresignal.EINVALID {
				t.Errorf("error %v is not an EINVALID caresignal error", err)
			}
			for gadget, imp := range map[string]string{"os_system": "system", "builtins_eval": "builtins.eval", "subprocess": "subprocess.Popen", "nested_in_pipeline": "system"} {
				if strings.HasPrefix(name, gadget) && !strings.Contains(err.Error(), imp) {
					t.Errorf("%v does not name %s", err, imp)
				}
			}
			t.Log(err)
		})
	}
}

// TestStandardScalerAlone compares a bare StandardScaler's transform with
// scikit-learn's on the held-out matrix rows.
func TestStandardScalerAlone(t *testing.T) {
	for _, name := range []string{"lung_scaler_matrix", "cohort_scaler_matrix"} {
		b, err := os.ReadFile(filepath.Join(fixtureDir, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Files     map[string]string `json:"files"`
			Heldout   string            `json:"heldout"`
			Transform [][]float64       `json:"transform"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		rows, err := (sklearnfixture.Case{HeldoutFile: c.Heldout, Proba: make([]float64, len(c.Transform)),
			InputColumns: matrixColumns(len(c.Transform[0]))}).Heldout(fixtureDir)
		if err != nil {
			t.Fatal(err)
		}
		for format, file := range c.Files {
			f, err := os.Open(filepath.Join(fixtureDir, file))
			if err != nil {
				t.Fatal(err)
			}
			v, err := pickle.Read(f, pickle.Options{Classes: classes})
			f.Close()
			if err != nil {
				t.Fatalf("%s %s: %v", name, format, err)
			}
			est, err := build(v.(*pickle.Object))
			if err != nil {
				t.Fatal(err)
			}
			for i, row := range rows {
				in := make([]caresignal.Value, len(c.Transform[i]))
				for j := range in {
					in[j] = row[fmt.Sprintf("x%d", j)]
				}
				out, err := est.(transformer).transform(in)
				if err != nil {
					t.Fatal(err)
				}
				for j, want := range c.Transform[i] {
					if out[j].Num != want {
						t.Errorf("%s %s row %d column %d: %v, scikit-learn %v", name, format, i, j, out[j].Num, want)
					}
				}
			}
		}
	}
}

func matrixColumns(n int) []sklearnfixture.Column {
	cols := make([]sklearnfixture.Column, n)
	for j := range cols {
		cols[j] = sklearnfixture.Column{Name: fmt.Sprintf("x%d", j), Type: "numeric"}
	}
	return cols
}
