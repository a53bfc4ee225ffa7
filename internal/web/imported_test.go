package web

import (
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caresignal/caresignal/internal/sklearnfixture"
	"github.com/caresignal/caresignal/model"
)

// TestImportedModelServed: an imported scikit-learn pipeline gets the
// what-if form (its categorical inputs as choices), the model page, and
// /invocations on its own period column, answering as scikit-learn does.
func TestImportedModelServed(t *testing.T) {
	m, c := importedLungModel(t)
	srv := httptest.NewServer(NewHandler(Config{Model: m, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Mode: "dev"}))
	defer srv.Close()
	get := func(path string) string {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	if page := get("/"); !strings.Contains(page, `<select id="f-sex"`) || strings.Contains(page, `id="f-period"`) {
		t.Errorf("the form should offer sex as a choice and not ask for the period")
	}
	page := get("/model")
	if !strings.Contains(page, "A model imported from scikit-learn") || !strings.Contains(page, "Its last step is a logistic regression") {
		t.Errorf("model page:\n%s", page)
	}
	// No sentence of a native model's with its blanks left empty.
	for _, broken := range []string{"on the  scale", "is the <b></b>", "Baseline: .", "link:"} {
		if strings.Contains(page, broken) {
			t.Errorf("the model page of an imported model reads %q", broken)
		}
	}
	rows, err := c.Heldout(sklearnDir)
	if err != nil {
		t.Fatal(err)
	}
	var records []map[string]any
	for _, row := range rows[:20] {
		records = append(records, sklearnfixture.JSON(row))
	}
	body, _ := json.Marshal(map[string]any{"dataframe_records": records})
	code, got := invoke(t, srv, "application/json", string(body))
	var resp struct{ Predictions []float64 }
	if code != 200 || json.Unmarshal(got, &resp) != nil || len(resp.Predictions) != len(records) {
		t.Fatalf("%d %s", code, got)
	}
	for i, p := range resp.Predictions {
		if math.Abs(p-c.Proba[i]) > 1e-12*c.Proba[i] {
			t.Errorf("row %d: %.17g, scikit-learn %.17g", i, p, c.Proba[i])
		}
	}
}

const sklearnDir = "../../testdata/sklearn"

// importedLungModel is the scikit-learn logistic pipeline fitted on the
// lung data, imported from its joblib file, with its fixture case.
func importedLungModel(t *testing.T) (*model.Model, sklearnfixture.Case) {
	t.Helper()
	c, err := sklearnfixture.Find(sklearnDir, "lung_logreg")
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join(sklearnDir, c.Files["joblib"]))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Import(model.ImportSource{Name: "lung", Format: model.FromJoblib, FileName: "lung_logreg.joblib", File: file, PeriodColumn: c.PeriodColumn})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Marshal(); err != nil {
		t.Fatal(err)
	}
	return m, c
}

// TestImportedTreeModelPage: the model page of an imported tree ensemble
// says its predictions are explained by TreeSHAP.
func TestImportedTreeModelPage(t *testing.T) {
	c, err := sklearnfixture.Find(sklearnDir, "cohort_hgbc_categorical")
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join(sklearnDir, c.Files["joblib"]))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Import(model.ImportSource{Name: "cohort", Format: model.FromJoblib, FileName: c.Files["joblib"], File: file, PeriodColumn: c.PeriodColumn})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(Config{Model: m, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Mode: "dev"}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/model")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if page := string(b); resp.StatusCode != 200 || !strings.Contains(page, "Its classifier is a tree ensemble") || strings.Contains(page, "no explanation") {
		t.Errorf("model page %d:\n%s", resp.StatusCode, page)
	}
}
