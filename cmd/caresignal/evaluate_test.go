package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/model"
)

// TestEvaluateCommands: after the pipeline, parity finds every score equal
// and the report is written (without follow-up: no outcome metrics yet);
// outcomes measures a CSV of subjects and prints the documented JSON.
func TestEvaluateCommands(t *testing.T) {
	dir := t.TempDir()
	pipeline(t, dir, "")
	out := mustRun(t, "evaluate", "parity", "--data-dir", dir)
	if !strings.Contains(out, "all equal within 1e-12") || !strings.Contains(out, "caresignal score") {
		t.Errorf("parity:\n%s", out)
	}
	out, _, err := runCmd(t, "", "evaluate", "parity", "--data-dir", dir, "--version", "nothing")
	if err != nil || !strings.Contains(out, "nothing to rescore") {
		t.Errorf("parity of nothing: %v\n%s", err, out)
	}
	out = mustRun(t, "evaluate", "report", "--data-dir", dir, "--bootstrap", "0")
	if !strings.Contains(out, "evaluated engagement@") || !strings.Contains(out, "report.html") {
		t.Errorf("report:\n%s", out)
	}
	var rep map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil || json.Unmarshal(b, &rep) != nil || rep["outcomes"] != nil || rep["drift"] == nil {
		t.Errorf("report.json: %v %.300s", err, b)
	}

	// Subjects whose durations follow the model's own hazards.
	m, err := model.LoadFile(filepath.Join(dir, modelFileName))
	if err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, "subjects.csv")
	writeSubjects(t, m, csvPath, 600)
	out = mustRun(t, "evaluate", "outcomes", "--model", filepath.Join(dir, modelFileName), "--csv", csvPath, "--id", "pid",
		"--duration", "months", "--event", "dropped", "--at", "3,6", "--bootstrap", "50", "--json")
	var got eval.SurvivalMetrics
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("outcomes JSON: %v\n%s", err, out)
	}
	var keys map[string]json.RawMessage
	json.Unmarshal([]byte(out), &keys)
	for _, k := range []string{"n", "events", "harrell_c", "uno_c", "brier", "ibs", "td_auc", "calibration"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("outcomes JSON lacks %q", k)
		}
	}
	if got.N != 600 || got.HarrellC == nil || *got.HarrellC < 0.55 || len(got.Brier) != 2 || got.Brier["6"] <= 0 || got.CI["harrell_c"][0] >= *got.HarrellC {
		t.Errorf("outcomes: %s", out)
	}
	// A model whose hazards generated the data is calibrated: the slope is
	// near one and the intercept near zero.
	if s := got.CalibrationSlope; s == nil || math.Abs(*s-1) > 0.35 {
		t.Errorf("calibration slope %v on data drawn from the model", s)
	}
	out = mustRun(t, "evaluate", "outcomes", "--model", filepath.Join(dir, modelFileName), "--csv", csvPath, "--id", "pid",
		"--duration", "months", "--event", "dropped", "--bootstrap", "0", "--report", filepath.Join(dir, "subjects.html"))
	if !strings.Contains(out, "Harrell's C") || !strings.Contains(out, "report written") {
		t.Errorf("outcomes text:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "subjects.html")); err != nil || !strings.Contains(string(b), "Accuracy against outcomes") {
		t.Errorf("outcomes report: %v", err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--duration", "nope"}, `duration column "nope" is not in the header`},
		{[]string{"--event", "age"}, "both a covariate and"},
		{[]string{"--at", "0"}, "want whole months"},
		{[]string{"--csv", filepath.Join(dir, "missing.csv")}, "cannot read"},
	} {
		args := append([]string{"evaluate", "outcomes", "--model", filepath.Join(dir, modelFileName), "--csv", csvPath, "--id", "pid", "--duration", "months", "--event", "dropped"}, c.args...)
		_, stderr, err := runCmd(t, "", args...)
		if err == nil || !strings.Contains(err.Error()+stderr, c.want) {
			t.Errorf("%v: %v %s, want %q", c.args, err, stderr, c.want)
		}
	}
	bad := filepath.Join(dir, "bad.csv")
	lines := strings.SplitN(mustRead(t, csvPath), "\n", 3)
	fields := strings.Split(lines[1], ",")
	fields[2] = "maybe"
	os.WriteFile(bad, []byte(lines[0]+"\n"+strings.Join(fields, ",")+"\n"), 0o644)
	if _, _, err := runCmd(t, "", "evaluate", "outcomes", "--model", filepath.Join(dir, modelFileName), "--csv", bad, "--id", "pid", "--duration", "months", "--event", "dropped"); err == nil ||
		!strings.Contains(err.Error(), `line 2, column "dropped"`) {
		t.Errorf("a bad event value: %v", err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeSubjects writes n subjects with inputs drawn at random and a
// duration drawn from the model's own monthly hazards, censored at a
// random month up to 12.
func writeSubjects(t *testing.T, m *model.Model, path string, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(8, 9))
	programs := []string{"diabetes", "hypertension", "weight", "copd", "behavioral"}
	channels := []string{"app", "sms", "phone"}
	var b strings.Builder
	b.WriteString("pid,months,dropped,age,sex,program,channel,baseline_score,prior_no_shows,enrolled_via,sessions_last_month,days_since_last_session,messages_last_month\n")
	for i := range n {
		f := map[string]caresignal.Value{
			"age": caresignal.Num(float64(18 + rng.IntN(70))), "sex": caresignal.Str([]string{"F", "M"}[rng.IntN(2)]),
			"program": caresignal.Str(programs[rng.IntN(5)]), "channel": caresignal.Str(channels[rng.IntN(3)]),
			"baseline_score": caresignal.Num(math.Round(rng.Float64()*100) / 100), "prior_no_shows": caresignal.Num(float64(rng.IntN(4))),
			"enrolled_via":        caresignal.Str([]string{"referral", "self", "employer"}[rng.IntN(3)]),
			"sessions_last_month": caresignal.Num(float64(rng.IntN(8))), "days_since_last_session": caresignal.Num(float64(rng.IntN(40))),
			"messages_last_month": caresignal.Num(float64(rng.IntN(10))),
		}
		p, err := m.Predict(&caresignal.Instance{Features: f, Horizon: 12})
		if err != nil {
			t.Fatal(err)
		}
		censor := 1 + rng.IntN(12)
		months, dropped := censor, 0
		for k, h := range p.Hazard[:censor] {
			if rng.Float64() < h {
				months, dropped = k+1, 1
				break
			}
		}
		fmt.Fprintf(&b, "S%d,%d,%d,%v,%s,%s,%s,%v,%v,%s,%v,%v,%v\n", i, months, dropped, f["age"].Num, f["sex"].Str, f["program"].Str, f["channel"].Str,
			f["baseline_score"].Num, f["prior_no_shows"].Num, f["enrolled_via"].Str, f["sessions_last_month"].Num, f["days_since_last_session"].Num, f["messages_last_month"].Num)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPseudonymisedEvaluation: with CARESIGNAL_PSEUDONYM_KEY set, the
// prediction log holds no source patient id — neither in its id column
// nor inside the stored inputs — and the report still follows the scored
// patients up, through the same key; a short key is refused.
func TestPseudonymisedEvaluation(t *testing.T) {
	dir := t.TempDir()
	withKey := func(key string, args ...string) (string, error) {
		var out, errOut syncBuffer
		getenv := func(k string) string {
			if k == "CARESIGNAL_PSEUDONYM_KEY" {
				return key
			}
			return ""
		}
		err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	const key = "a-secret-of-at-least-16-characters"
	common := []string{"--data-dir", dir}
	for _, args := range [][]string{
		{"generate", "--patients", "1500", "--seed", "5"},
		{"etl", "--as-of", "2026-08-01"},
		{"train"},
		{"score"},
		{"etl", "--as-of", "2026-11-01"},
		{"score"},
	} {
		if out, err := withKey(key, append(args, common...)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	if _, err := withKey("short", append([]string{"score"}, common...)...); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("a short key: %v", err)
	}
	out, err := withKey(key, "evaluate", "report", "--bootstrap", "0", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "outcomes of the 2026-08-01 run") {
		t.Fatalf("report: %v\n%s", err, out)
	}
	// Without the key the same log cannot be matched to the source.
	out, err = withKey("", "evaluate", "report", "--bootstrap", "0", "--no-store", "--data-dir", dir)
	if err != nil || strings.Contains(out, "outcomes of the") {
		t.Errorf("report without the key: %v\n%s", err, out)
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	n := 0
	err = store.ScanPredictions(context.Background(), caresignal.PredictionFilter{}, func(r *caresignal.PredictionRecord) error {
		n++
		if !strings.HasPrefix(r.PatientID, "h:") || strings.Contains(string(r.Inputs), `"P0`) {
			return fmt.Errorf("record %s keeps a patient id: %s %s", r.ID, r.PatientID, r.Inputs)
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Errorf("%d records: %v", n, err)
	}
}
