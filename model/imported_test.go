package model

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sklearnfixture"
	"github.com/caresignal/caresignal/model/mlflow"
	"github.com/caresignal/caresignal/model/sklearn"
)

const sklearnDir = "../testdata/sklearn"

// TestImportedModels imports every fixture model (joblib, and MLflow where
// there is a folder), saves and reloads the artifact, and checks that the
// hazard it predicts for each held-out row's month is scikit-learn's
// predict_proba of that row.
func TestImportedModels(t *testing.T) {
	cases, err := sklearnfixture.Cases(sklearnDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		for _, format := range []string{FromJoblib, FromMLflow} {
			key := map[string]string{FromJoblib: "joblib", FromMLflow: "mlflow"}[format]
			if c.Files[key] == "" {
				continue
			}
			t.Run(c.Case+"/"+format, func(t *testing.T) {
				src := ImportSource{Name: c.Case, Format: format, PeriodColumn: c.PeriodColumn, Options: sklearn.Options{StrictVersion: true}}
				path := filepath.Join(sklearnDir, c.Files[key])
				if format == FromMLflow {
					mm, err := mlflow.LoadDir(path, src.Options)
					if err != nil {
						t.Fatal(err)
					}
					src.Signature, src.FileName = mm.Inputs, mm.PickledModel
					path = filepath.Join(path, mm.PickledModel)
				}
				src.File, err = os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				m, err := Import(src)
				if err != nil {
					t.Fatal(err)
				}
				b, err := m.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				m, err = Load(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("reloading: %v", err)
				}
				rows, err := c.Heldout(sklearnDir)
				if err != nil {
					t.Fatal(err)
				}
				for i, row := range rows {
					month := row[c.PeriodColumn]
					if month.Kind != caresignal.Number || month.Num != math.Trunc(month.Num) || month.Num < 1 {
						continue // the matrix cases' period is standardised: no month to set
					}
					feats := map[string]caresignal.Value{}
					for k, v := range row {
						if k != c.PeriodColumn {
							feats[k] = v
						}
					}
					inst := caresignal.Instance{Features: feats, MonthsEnrolled: int(month.Num) - 1, Horizon: 2}
					p, err := m.Predict(&inst)
					if err != nil {
						if format == FromMLflow && strings.Contains(err.Error(), "signature") {
							continue // the signature refuses a missing required value, as MLflow does
						}
						t.Fatalf("row %d: %v", i, err)
					}
					if d := math.Abs(p.Hazard[0]-c.Proba[i]) / math.Max(c.Proba[i], 1e-300); d > 1e-12 {
						t.Errorf("row %d: hazard %.17g, scikit-learn %.17g", i, p.Hazard[0], c.Proba[i])
					}
					if math.Abs(p.Survival[1]-(1-p.Hazard[0])*(1-p.Hazard[1])) > 1e-15 {
						t.Errorf("row %d: survival %v from hazards %v", i, p.Survival, p.Hazard)
					}
				}
			})
		}
	}
}

func TestImportRefusals(t *testing.T) {
	file, err := os.ReadFile(filepath.Join(sklearnDir, "lung_logreg.joblib"))
	if err != nil {
		t.Fatal(err)
	}
	cohort, err := os.ReadFile(filepath.Join(sklearnDir, "cohort_logreg.joblib"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src  ImportSource
		want string
	}{
		{ImportSource{Name: "x", Format: FromJoblib, File: file, PeriodColumn: "nope"}, `period column "nope" is not an input`},
		{ImportSource{Name: "x", Format: FromJoblib, File: cohort, PeriodColumn: "program"}, `period column "program" is one-hot encoded with the levels ["behavioral", "copd", "diabetes", "hypertension", "weight"], which are not month numbers`},
		{ImportSource{Name: "x", Format: "onnx", File: file, PeriodColumn: "period"}, "unknown import format"},
		{ImportSource{Name: "x", Format: FromJoblib, File: file[:len(file)/2], PeriodColumn: "period"}, "remain"},
	} {
		if _, err := Import(tc.src); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.src.PeriodColumn, err, tc.want)
		}
	}
	m, err := Import(ImportSource{Name: "lung", Format: FromJoblib, File: file, PeriodColumn: "period"})
	if err != nil {
		t.Fatal(err)
	}
	inst := caresignal.Instance{Features: map[string]caresignal.Value{"period": caresignal.Num(3)}, Horizon: 3}
	if _, err := m.Predict(&inst); err == nil || !strings.Contains(err.Error(), "period column") {
		t.Errorf("setting the period column: %v", err)
	}
	inst.Features = map[string]caresignal.Value{"nonsense": caresignal.Num(3)}
	if _, err := m.Predict(&inst); err == nil || !strings.Contains(err.Error(), "not an input") {
		t.Errorf("an unknown input: %v", err)
	}
	// A damaged embedded file is refused at load.
	b, _ := m.Marshal()
	bad := bytes.Replace(b, []byte(`"period_column": "period"`), []byte(`"period_column": "age"`), 1)
	if _, err := Load(bytes.NewReader(bad)); err == nil {
		t.Error("an edited artifact loaded")
	}
}
