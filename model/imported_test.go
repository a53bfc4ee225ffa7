package model

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
					month, ok := monthOf(row[c.PeriodColumn])
					if !ok {
						continue // the matrix cases' period is standardised: no month to set
					}
					feats := map[string]caresignal.Value{}
					for k, v := range row {
						if k != c.PeriodColumn {
							feats[k] = v
						}
					}
					inst := caresignal.Instance{Features: feats, MonthsEnrolled: month - 1, Horizon: 2}
					// The second month may be one a period encoder was not fitted on.
					nextUnseen := c.Beyond != nil && !slices.Contains(c.Beyond.PeriodLevels, month+1)
					p, err := m.Predict(&inst)
					if nextUnseen && len(c.Beyond.Refused) > 0 {
						if caresignal.ErrorField(err) != "horizon" || !strings.Contains(fmt.Sprint(err), fmt.Sprintf("month %d is not among", month+1)) {
							t.Fatalf("row %d: horizon 2 from month %d: %v, want the second month refused", i, month, err)
						}
						continue
					}
					if err != nil {
						if format == FromMLflow && strings.Contains(err.Error(), "signature") {
							continue // the signature refuses a missing required value, as MLflow does
						}
						t.Fatalf("row %d: %v", i, err)
					}
					if got := len(p.Warnings) > 0; got != nextUnseen {
						t.Errorf("row %d (month %d): warnings %q", i, month, p.Warnings)
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

// monthOf reads a held-out row's period: a whole number, or its text for a
// period fitted as strings.
func monthOf(v caresignal.Value) (int, bool) {
	switch v.Kind {
	case caresignal.Number:
		if v.Num == math.Trunc(v.Num) && v.Num >= 1 && v.Num <= caresignal.MaxMonthsEnrolled {
			return int(v.Num), true
		}
	case caresignal.String:
		n, err := strconv.Atoi(v.Str)
		return n, err == nil && n >= 1
	}
	return 0, false
}

// TestImportedPeriodBeyond imports, as the pickle scikit-learn wrote, every
// case whose period column a one-hot or ordinal encoder reads (among them
// the reference stack's own model.pkl) and scores the months the encoder
// was not fitted on: as scikit-learn's predict_proba (within 1e-12) with a
// warning that it extrapolates, or, where the pipeline refuses the month,
// with an invalid-input error naming the month and the fitted months.
func TestImportedPeriodBeyond(t *testing.T) {
	cases, err := sklearnfixture.Cases(sklearnDir)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, c := range cases {
		if c.Beyond == nil {
			continue
		}
		n++
		t.Run(c.Case, func(t *testing.T) {
			file, err := os.ReadFile(filepath.Join(sklearnDir, c.Files["p5"]))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Import(ImportSource{Name: c.Case, Format: FromPickle, File: file, PeriodColumn: c.PeriodColumn, Options: sklearn.Options{StrictVersion: true}})
			if err != nil {
				t.Fatal(err)
			}
			levels := c.Beyond.PeriodLevels
			span := fmt.Sprintf("%d–%d", levels[0], levels[len(levels)-1])
			refused := len(c.Beyond.Refused) > 0
			note := strings.Join(m.Imported.Warnings(), "\n")
			if !strings.Contains(note, "with the months "+span) || strings.Contains(note, "extrapolates") == refused {
				t.Errorf("import warnings: %s", note)
			}
			rows, err := c.BeyondRows(sklearnDir)
			if err != nil {
				t.Fatal(err)
			}
			for i, row := range rows {
				month, ok := monthOf(row[c.PeriodColumn])
				if !ok {
					t.Fatalf("beyond row %d: period %v", i, row[c.PeriodColumn])
				}
				feats := map[string]caresignal.Value{}
				for k, v := range row {
					if k != c.PeriodColumn {
						feats[k] = v
					}
				}
				inst := caresignal.Instance{Features: feats, MonthsEnrolled: month - 1, Horizon: 1}
				p, err := m.Predict(&inst)
				if refused {
					want := fmt.Sprintf("month %d is not among the months the model was fitted on for %s (%s)", month, c.PeriodColumn, span)
					if caresignal.ErrorCode(err) != caresignal.EINVALID || caresignal.ErrorField(err) != "months_enrolled" || !strings.Contains(caresignal.ErrorMessage(err), want) {
						t.Errorf("month %d: %v, want an invalid months_enrolled: %s; scikit-learn: %s", month, err, want, c.Beyond.Refused[i])
					}
					continue
				}
				if err != nil {
					t.Fatalf("month %d: %v", month, err)
				}
				if want := c.Beyond.Proba[i]; math.Abs(p.Hazard[0]-want) > 1e-12*want {
					t.Errorf("month %d: hazard %.17g, scikit-learn %.17g", month, p.Hazard[0], want)
				}
				want := fmt.Sprintf("month %d is not among the months the model was fitted on for %s (%s): scored as the pipeline scores them", month, c.PeriodColumn, span)
				if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], want) || !strings.Contains(p.Warnings[0], "extrapolation") {
					t.Errorf("month %d: warnings %q", month, p.Warnings)
				}
			}
		})
	}
	if n < 11 {
		t.Errorf("%d cases with a period encoder, want the 10 of scripts/sklearn and the reference stack's", n)
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
