package mlflow

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

const fixtureDir = "../../testdata/sklearn"

// TestMLflowDirectories loads every MLflow folder of the fixtures, checks
// its signature is enforced, and compares its predictions with
// scikit-learn's.
func TestMLflowDirectories(t *testing.T) {
	cases, err := sklearnfixture.Cases(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cases {
		if c.Files["mlflow"] == "" {
			continue
		}
		n++
		t.Run(c.Case, func(t *testing.T) {
			m, err := LoadDir(filepath.Join(fixtureDir, c.Files["mlflow"]), sklearn.Options{StrictVersion: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Inputs) == 0 || m.MLflowVersion == "" {
				t.Fatalf("signature %v, MLflow %q", m.Inputs, m.MLflowVersion)
			}
			rows, err := c.Heldout(fixtureDir)
			if err != nil {
				t.Fatal(err)
			}
			for i, named := range rows {
				row, err := m.Row(named)
				if err != nil {
					t.Fatalf("row %d: %v", i, err)
				}
				p, err := m.Sklearn.PredictProba(row)
				if err != nil {
					t.Fatalf("row %d: %v", i, err)
				}
				if d := math.Abs(p-c.Proba[i]) / math.Max(c.Proba[i], 1e-300); d > 1e-12 {
					t.Errorf("row %d: %.17g, scikit-learn %.17g", i, p, c.Proba[i])
				}
			}
			// A required column left out is refused, naming it.
			if _, err := m.Row(map[string]caresignal.Value{}); err == nil || !strings.Contains(err.Error(), m.Inputs[0].Name) {
				t.Errorf("empty row: %v", err)
			}
			// A value of the wrong type is refused, naming the column.
			for _, col := range m.Inputs {
				row := map[string]caresignal.Value{}
				for _, c2 := range m.Inputs {
					row[c2.Name] = caresignal.Num(1)
					if c2.Type == "string" {
						row[c2.Name] = caresignal.Str("x")
					}
				}
				if col.Type == "string" {
					row[col.Name] = caresignal.Num(1)
				} else {
					row[col.Name] = caresignal.Str("x")
				}
				if _, err := m.Row(row); err == nil || !strings.Contains(err.Error(), col.Name) {
					t.Errorf("a %s column given the wrong type: %v", col.Type, err)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no MLflow fixtures")
	}
}

func TestRefusesBadDirectories(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for body, want := range map[string]string{
		"flavors: {python_function: {loader_module: mlflow.pyfunc.model}}":                                                     "no sklearn flavor",
		"flavors: {sklearn: {pickled_model: ../../etc/passwd, serialization_format: pickle}}":                                  "outside the model directory",
		"flavors: {sklearn: {pickled_model: model.pkl, serialization_format: pickle}, python_function: {loader_module: evil}}": "loader_module",
		"flavors: {sklearn: {pickled_model: model.pkl, serialization_format: skops}}":                                          "serialization_format",
		"flavors: [": "not valid YAML",
	} {
		write("MLmodel", body)
		_, err := LoadDir(dir, sklearn.Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
	if _, err := LoadDir(filepath.Join(dir, "nope"), sklearn.Options{}); err == nil {
		t.Error("a missing directory loaded")
	}
}
