package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caresignal/caresignal/internal/sklearnfixture"
)

// TestImportAndPredict imports a joblib file and an MLflow folder through
// the command line and answers an API request with each: the hazard of the
// first held-out row's month must be scikit-learn's predict_proba.
func TestImportAndPredict(t *testing.T) {
	const dir = "../../testdata/sklearn"
	c, err := sklearnfixture.Find(dir, "cohort_gbc")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := c.Heldout(dir)
	if err != nil {
		t.Fatal(err)
	}
	row := rows[0]
	month := int(row[c.PeriodColumn].Num)
	feats := sklearnfixture.JSON(row)
	delete(feats, c.PeriodColumn)
	req, _ := json.Marshal(map[string]any{"features": feats, "months_enrolled": month - 1, "horizon": 3})
	for _, from := range []string{"joblib", "mlflow"} {
		out := filepath.Join(t.TempDir(), "m.json")
		stdout := mustRun(t, "import", "--from", from, "--period-column", c.PeriodColumn, filepath.Join(dir, c.Files[from]), "--out", out, "--strict-version")
		if !strings.Contains(stdout, "GradientBoostingClassifier") || !strings.Contains(stdout, "period column: month") {
			t.Errorf("import output:\n%s", stdout)
		}
		got, _, err := runCmd(t, string(req), "predict", "--model", out)
		if err != nil {
			t.Fatalf("%s: %v\n%s", from, err, got)
		}
		var resp struct {
			Predictions []struct{ Hazard []float64 } `json:"predictions"`
		}
		if err := json.Unmarshal([]byte(got), &resp); err != nil || len(resp.Predictions) != 1 || len(resp.Predictions[0].Hazard) != 3 {
			t.Fatalf("%s: %v %s", from, err, got)
		}
		if h := resp.Predictions[0].Hazard[0]; math.Abs(h-c.Proba[0]) > 1e-12*c.Proba[0] {
			t.Errorf("%s: hazard %.17g, scikit-learn %.17g", from, h, c.Proba[0])
		}
		if text := mustRun(t, "inspect", out); !strings.Contains(text, "imported Pipeline(") {
			t.Errorf("inspect:\n%s", text)
		}
	}
	hostile := filepath.Join(dir, "hostile", "os_system.p2.pkl")
	if _, _, err := runCmd(t, "", "import", "--from", "sklearn-pickle", "--period-column", "month", hostile, "--out", filepath.Join(t.TempDir(), "x.json")); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("hostile import: %v", err)
	}
}

// TestImportReferenceStackModel imports the reference stack's own model.pkl
// (its train.py one-hot encodes the month) as the documentation shows, and
// predicts past the months it was trained on: the import says that such
// months extrapolate, and so does the answer, whose hazard is scikit-learn's.
func TestImportReferenceStackModel(t *testing.T) {
	const dir = "../../testdata/sklearn"
	c, err := sklearnfixture.Find(dir, "anchor_flask")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := c.BeyondRows(dir)
	if err != nil {
		t.Fatal(err)
	}
	row := rows[0]
	month := int(row[c.PeriodColumn].Num)
	feats := sklearnfixture.JSON(row)
	delete(feats, c.PeriodColumn)
	out := filepath.Join(t.TempDir(), "m.json")
	stdout, stderr, err := runCmd(t, "", "import", "--from", "sklearn-pickle", "--period-column", "month", filepath.Join(dir, c.Files["p5"]), "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, `warning: period column "month" is one-hot encoded (OneHotEncoder) with the months 1–12`) || !strings.Contains(stderr, "extrapolates") {
		t.Errorf("import warnings:\n%s\nstdout:\n%s", stderr, stdout)
	}
	req, _ := json.Marshal(map[string]any{"features": feats, "months_enrolled": month - 1, "horizon": 1})
	got, _, err := runCmd(t, string(req), "predict", "--model", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	var resp struct {
		Predictions []struct {
			Hazard   []float64
			Warnings []string
		} `json:"predictions"`
	}
	if err := json.Unmarshal([]byte(got), &resp); err != nil || len(resp.Predictions) != 1 {
		t.Fatalf("%v %s", err, got)
	}
	p := resp.Predictions[0]
	if want := c.Beyond.Proba[0]; math.Abs(p.Hazard[0]-want) > 1e-12*want {
		t.Errorf("month %d: hazard %.17g, scikit-learn %.17g", month, p.Hazard[0], want)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "extrapolation") {
		t.Errorf("month %d: warnings %q", month, p.Warnings)
	}
}
