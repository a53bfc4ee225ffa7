package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/internal/sklearnfixture"
	"github.com/caresignal/caresignal/synth"
)

// features returns an extract row's values by column name.
func features(x *caresignal.Extract, r caresignal.ExtractRow) map[string]caresignal.Value {
	f := make(map[string]caresignal.Value, len(x.Columns))
	for j, c := range x.Columns {
		f[c] = r.Values[j]
	}
	return f
}

// TestTrainingReference recomputes the reference of the small model from
// the rows it was fitted on: the training extract less the held-out
// patients, each numeric input's percentiles, each categorical input's
// level counts, and the percentiles of the model's own hazard for each
// row's month.
func TestTrainingReference(t *testing.T) {
	m := small(t)
	ref := m.Reference()
	if ref == nil {
		t.Fatal("a trained model has no reference")
	}
	c, _ := synth.Generate(synth.Sized(3000, 5), nil)
	x, _ := c.Training()
	fitX, _ := splitByPatient(x, 0.2)
	if ref.Rows != len(fitX.Rows) || ref.Rows != m.Training.Fit.Rows || ref.Hazard.N != ref.Rows {
		t.Fatalf("reference of %d rows (hazards %d), fitted rows %d", ref.Rows, ref.Hazard.N, len(fitX.Rows))
	}
	hazards := make([]float64, len(fitX.Rows))
	for i, r := range fitX.Rows {
		h, err := m.Hazard(features(fitX, r), r.Month)
		if err != nil {
			t.Fatal(err)
		}
		hazards[i] = h
	}
	want := eval.NewNumericReference(hazards, 0)
	for k, q := range want.Percentiles {
		if math.Abs(ref.Hazard.Percentiles[k]-q) > 1e-13 {
			t.Errorf("hazard percentile %d: %g, recomputed %g", k, ref.Hazard.Percentiles[k], q)
		}
	}
	for i, f := range m.Features.Features {
		fr := ref.Features[i]
		if fr.Name != f.Name || fr.Type != f.Type {
			t.Fatalf("reference input %d is %s %s, feature %s %s", i, fr.Type, fr.Name, f.Type, f.Name)
		}
		col := fitX.Column(f.Name)
		if f.Type == feature.Categorical {
			if !reflect.DeepEqual(fr.Categorical.Counts, f.LevelCounts) || fr.Categorical.Missing != f.Missing {
				t.Errorf("%s: counts %v (%d missing), fitted %v (%d)", f.Name, fr.Categorical.Counts, fr.Categorical.Missing, f.LevelCounts, f.Missing)
			}
			continue
		}
		var vals []float64
		for _, r := range fitX.Rows {
			if v := r.Values[col]; !v.Missing() {
				vals = append(vals, v.Num)
			}
		}
		if !reflect.DeepEqual(*fr.Numeric, eval.NewNumericReference(vals, f.Missing)) || fr.Numeric.Missing != f.Missing {
			t.Errorf("%s: reference %+v differs from the recomputed one", f.Name, fr.Numeric)
		}
		if f.Name == "baseline_score" && (f.Missing == 0 || fr.Numeric.MissingShare == 0) {
			t.Errorf("baseline_score: no missing values profiled")
		}
	}
}

// resign replaces an artifact's payload and recomputes its checksum and
// version, as a deliberate edit (not damage) would.
func resign(t *testing.T, artifact []byte, edit func(p map[string]any)) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(artifact, &env); err != nil {
		t.Fatal(err)
	}
	p := env["model"].(map[string]any)
	edit(p)
	body, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	version, err := modelVersion(body)
	if err != nil {
		t.Fatal(err)
	}
	env["model"], env["checksum"], env["version"] = json.RawMessage(body), "sha256:"+hex.EncodeToString(sum[:]), version
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReferenceArtifact(t *testing.T) {
	m := small(t)
	good, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Load(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if back.Reference() == nil || !reflect.DeepEqual(back.Reference(), m.Reference()) {
		t.Fatal("the loaded reference differs from the saved one")
	}

	s := string(good)
	at := strings.Index(s, `"reference":`)
	if at < 0 {
		t.Fatal("no reference in the artifact")
	}
	// Change one digit of the first hazard percentile: the checksum no
	// longer matches.
	i := at + strings.Index(s[at:], `"hazard":`)
	i += strings.Index(s[i:], `"percentiles":`) + len(`"percentiles":`)
	for s[i] < '1' || s[i] > '8' {
		i++
	}
	tampered := s[:i] + string(s[i]+1) + s[i+1:]
	if _, err := Load(strings.NewReader(tampered)); caresignal.ErrorCode(err) != caresignal.ECORRUPT || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("tampered reference: %v", err)
	}

	// A re-signed artifact whose reference does not fit the model is
	// refused too.
	for name, edit := range map[string]func(r map[string]any){
		"renamed input": func(r map[string]any) { r["features"].([]any)[0].(map[string]any)["name"] = "agex" },
		"dropped input": func(r map[string]any) { r["features"] = r["features"].([]any)[1:] },
		"short percentiles": func(r map[string]any) {
			h := r["hazard"].(map[string]any)
			h["percentiles"] = h["percentiles"].([]any)[:100]
		},
		"no hazard":  func(r map[string]any) { delete(r, "hazard") },
		"row count":  func(r map[string]any) { r["rows"] = r["rows"].(float64) + 1 },
		"wrong type": func(r map[string]any) { r["features"].([]any)[0].(map[string]any)["type"] = "categorical" },
	} {
		b := resign(t, good, func(p map[string]any) { edit(p["reference"].(map[string]any)) })
		_, err := Load(bytes.NewReader(b))
		if caresignal.ErrorCode(err) != caresignal.ECORRUPT || !strings.Contains(err.Error(), "reference") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// Re-signing without a change is accepted: resign itself is sound.
	if _, err := Load(bytes.NewReader(resign(t, good, func(map[string]any) {}))); err != nil {
		t.Fatalf("re-signed artifact refused: %v", err)
	}
}

// TestArtifactWithoutReference: an artifact written before references were
// kept has no "reference" key. Such a payload is what Marshal writes for a
// model without a reference (the key is omitted when empty), so its
// checksum covers the same bytes as before; it loads, re-saves to the same
// bytes, and the model has no reference to compare with.
func TestArtifactWithoutReference(t *testing.T) {
	old := *small(t)
	old.reference = nil
	b, err := old.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Model map[string]json.RawMessage `json:"model"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	if _, ok := env.Model["reference"]; ok {
		t.Fatal("a model without a reference wrote one")
	}
	back, err := Load(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if back.Reference() != nil {
		t.Fatal("an artifact without a reference loaded with one")
	}
	if again, _ := back.Marshal(); !bytes.Equal(again, b) || back.Version != old.Version {
		t.Error("re-saving an artifact without a reference changed it")
	}
	if _, err := back.Drift(nil, eval.DriftThresholds{}); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		t.Errorf("drift without a reference: %v", err)
	}
	// The same artifact re-signed without the key (as an older build wrote
	// it, keys in any order) loads too.
	withRef, _ := small(t).Marshal()
	if m, err := Load(bytes.NewReader(resign(t, withRef, func(p map[string]any) { delete(p, "reference") }))); err != nil || m.Reference() != nil {
		t.Errorf("re-signed artifact without a reference: %v", err)
	}
}

// TestModelDrift compares the patients enrolled at the end of another
// cohort (a different seed) with the small model's reference: their
// current month's features and next-month hazards. They come from the same
// generator, so nothing breaches; adding 25 years to every age breaches
// on age and moves the predictions.
func TestModelDrift(t *testing.T) {
	m := small(t)
	c, err := synth.Generate(synth.Sized(3000, 11), nil)
	if err != nil {
		t.Fatal(err)
	}
	pp := c.PersonPeriod()
	var insts []caresignal.Instance
	for _, r := range pp.Rows {
		if r.Status == caresignal.StatusCurrent {
			insts = append(insts, caresignal.Instance{PatientID: r.PatientID, Features: features(pp, r), MonthsEnrolled: r.Month - 1, Horizon: 1})
		}
	}
	rep, err := m.Drift(insts, eval.DriftThresholds{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
	if rep.Rows != len(insts) || rep.ReferenceRows != m.Reference().Rows || len(rep.Features) != len(m.Features.Features) || rep.Prediction == nil {
		t.Fatalf("report of %d rows, %d features, prediction %v", rep.Rows, len(rep.Features), rep.Prediction)
	}
	for _, d := range append(rep.Features, *rep.Prediction) {
		t.Logf("%-24s %-7s PSI %.3f %q", d.Name, d.Status, *d.PSI, d.Reasons)
		if d.Status == eval.DriftBreach || d.Status == eval.DriftTooFew {
			t.Errorf("%s: %s on data from the same generator", d.Name, d.Status)
		}
	}
	for i := range insts {
		f := insts[i].Features
		f["age"] = caresignal.Num(f["age"].Num + 25)
	}
	rep, _ = m.Drift(insts, eval.DriftThresholds{})
	if rep.Status != eval.DriftBreach || rep.Features[0].Name != "age" || rep.Features[0].Status != eval.DriftBreach || rep.Prediction.Status == eval.DriftOK {
		t.Errorf("older patients: report %s, age %s, prediction %s %q", rep.Status, rep.Features[0].Status, rep.Prediction.Status, rep.Prediction.Reasons)
	}
}

// TestImportedModelHasNoReference: an imported model carries no reference,
// and an imported model's artifact holding one is refused.
func TestImportedModelHasNoReference(t *testing.T) {
	cases, err := sklearnfixture.Cases(sklearnDir)
	if err != nil {
		t.Fatal(err)
	}
	c := cases[0]
	file, err := os.ReadFile(filepath.Join(sklearnDir, c.Files["joblib"]))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Import(ImportSource{Name: c.Case, Format: FromJoblib, PeriodColumn: c.PeriodColumn, File: file})
	if err != nil {
		t.Fatal(err)
	}
	if m.Reference() != nil {
		t.Fatal("an imported model has a reference")
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Drift(nil, eval.DriftThresholds{}); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		t.Errorf("drift of an imported model: %v", err)
	}
	ref, _ := json.Marshal(small(t).Reference())
	bad := resign(t, b, func(p map[string]any) { p["reference"] = json.RawMessage(ref) })
	if _, err := Load(bytes.NewReader(bad)); caresignal.ErrorCode(err) != caresignal.ECORRUPT || !strings.Contains(err.Error(), "nothing else") {
		t.Errorf("imported model with a reference: %v", err)
	}
}
