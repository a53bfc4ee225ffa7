package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal/model"
)

// TestTrainCSVInspect fits a reference case from its CSV through the
// command line and checks `inspect --json` against R's glm.
func TestTrainCSVInspect(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "vet.model.json")
	stdout := mustRun(t, "train", "--csv", "../../testdata/reference/veteran.csv", "--id", "id", "--event", "event",
		"--period", "period", "--numeric", "karno,diagtime,age", "--categorical", "celltype,trt,prior",
		"--link", "cloglog", "--out", out)
	if !strings.Contains(stdout, `trained "veteran" (cloglog link) on 623 rows (128 drop-offs, 137 patients`) {
		t.Errorf("train output:\n%s", stdout)
	}
	js := mustRun(t, "inspect", out, "--json")
	var got struct {
		Coefficients []struct {
			Name             string  `json:"name"`
			Estimate         float64 `json:"estimate"`
			StdError         float64 `json:"std_error"`
			StdErrorObserved float64 `json:"std_error_observed"`
			Ratio            float64 `json:"ratio"`
			CILow            float64 `json:"ci_low"`
			CIHigh           float64 `json:"ci_high"`
		} `json:"coefficients"`
		LogLik float64 `json:"log_likelihood"`
		AIC    float64 `json:"aic"`
		NRows  int     `json:"n_rows"`
	}
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	b, err := os.ReadFile("../../testdata/reference/veteran_cloglog.json")
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Coefficients []struct {
			Name             string  `json:"name"`
			Estimate         float64 `json:"estimate"`
			StdError         float64 `json:"std_error"`
			StdErrorObserved float64 `json:"std_error_observed"`
		} `json:"coefficients"`
		LogLik float64 `json:"log_likelihood"`
		AIC    float64 `json:"aic"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(got.Coefficients) != len(want.Coefficients) || got.NRows != 623 {
		t.Fatalf("%d coefficients on %d rows, R has %d", len(got.Coefficients), got.NRows, len(want.Coefficients))
	}
	rel := func(a, b float64) float64 { return math.Abs(a-b) / math.Abs(b) }
	for i, w := range want.Coefficients {
		g := got.Coefficients[i]
		if g.Name != w.Name || rel(g.Estimate, w.Estimate) > 1e-6 || rel(g.StdError, w.StdError) > 1e-6 || rel(g.StdErrorObserved, w.StdErrorObserved) > 1e-6 {
			t.Errorf("%+v, R: %+v", g, w)
		}
		if lo := math.Exp(g.Estimate - 1.959963984540054*g.StdError); rel(g.CILow, lo) > 1e-12 || rel(g.Ratio, math.Exp(g.Estimate)) > 1e-12 || !(g.CIHigh > g.Ratio) {
			t.Errorf("%s: ratio %v [%v, %v]", g.Name, g.Ratio, g.CILow, g.CIHigh)
		}
	}
	if rel(got.LogLik, want.LogLik) > 1e-9 || rel(got.AIC, want.AIC) > 1e-9 {
		t.Errorf("log-likelihood %v AIC %v, R %v %v", got.LogLik, got.AIC, want.LogLik, want.AIC)
	}
	text := mustRun(t, "inspect", out)
	if !strings.Contains(text, "hazard ratio") || !strings.Contains(text, "celltype=squamous") || !strings.Contains(text, "se (observed)") {
		t.Errorf("inspect:\n%s", text)
	}
}

func TestTrainCSVErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("ok.csv", "id,period,event,x,g\na,1,0,1.5,u\na,2,1,2,v\nb,1,1,0.5,u\n")
	out := filepath.Join(dir, "m.json")
	base := []string{"train", "--id", "id", "--event", "event", "--period", "period", "--out", out}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad event", []string{"--csv", write("e.csv", "id,period,event,x\na,1,2,1\n"), "--numeric", "x"}, `line 2, column "event": "2" is not 0 or 1`},
		{"bad period", []string{"--csv", write("p.csv", "id,period,event,x\na,0,1,1\n"), "--numeric", "x"}, `line 2, column "period": "0" is not a whole number`},
		{"bad number", []string{"--csv", write("n.csv", "id,period,event,x\na,1,1,abc\n"), "--numeric", "x"}, `line 2, column "x": "abc" is not a finite number`},
		{"no column", []string{"--csv", good, "--numeric", "y"}, `numeric column "y" is not in the header (columns: id, period, event, x, g)`},
		{"no covariates", []string{"--csv", good}, "at least one numeric or categorical covariate"},
		{"missing", []string{"--csv", write("m.csv", "id,period,event,x\na,1,0,1\na,2,1,\nb,1,1,3\n"), "--numeric", "x"}, `feature "x" is missing in 1 training rows`},
		{"spec too", []string{"--csv", good, "--numeric", "x", "--spec", "s.json"}, "--numeric and --categorical go without it"},
		{"empty", []string{"--csv", write("z.csv", ""), "--numeric", "x"}, "the file is empty"},
		{"bad horizon model", []string{"--csv", good, "--numeric", "x", "--horizon-model", "sideways"}, `unknown horizon model "sideways" (want "carry-forward" or "landmark")`},
		{"separated", []string{"--csv", write("s.csv", "id,period,event,g\na,1,0,u\na,2,1,v\nb,1,0,u\nb,2,0,u\nc,1,1,v\nd,1,0,u\nd,2,1,u\n"), "--categorical", "g"}, "separat"},
	} {
		_, _, err := runCmd(t, "", append(base, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Fatalf("%s: a model file was written", tc.name)
		}
	}
	if _, _, err := runCmd(t, "", "train", "--csv", good, "--numeric", "x", "--event", "event", "--period", "period"); err == nil {
		t.Error("--csv without --out must be refused")
	}
}

// TestTrainCSVSameVersion: one file trained twice (with cross-validation,
// on all cores and on one) gives one version. Publishing the second
// artifact, whose training record differs, keeps the registry's copy.
func TestTrainCSVSameVersion(t *testing.T) {
	dir := t.TempDir()
	args := []string{"train", "--csv", "../../testdata/reference/veteran.csv", "--id", "id", "--event", "event",
		"--period", "period", "--numeric", "karno,diagtime,age", "--categorical", "celltype,trt,prior",
		"--penalty", "elasticnet"}
	versionRE := regexp.MustCompile(`\(version ([0-9a-f]{12})\)`)
	var versions, paths []string
	for _, procs := range []int{runtime.GOMAXPROCS(0), 1} {
		path := filepath.Join(dir, fmt.Sprintf("vet%d.model.json", len(paths)))
		old := runtime.GOMAXPROCS(procs)
		stdout := mustRun(t, append(args, "--out", path)...)
		runtime.GOMAXPROCS(old)
		m := versionRE.FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("no version in:\n%s", stdout)
		}
		versions, paths = append(versions, m[1]), append(paths, path)
	}
	if versions[0] != versions[1] {
		t.Fatalf("versions %s and %s for one file", versions[0], versions[1])
	}

	// The second artifact trained a day later: other bytes, one version.
	m, err := model.LoadFile(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	m.Training.TrainedAt = m.Training.TrainedAt.Add(24 * time.Hour)
	if err := m.SaveFile(paths[1]); err != nil {
		t.Fatal(err)
	}
	if m.Version != versions[0] {
		t.Fatalf("the training time changed the version: %s, was %s", m.Version, versions[0])
	}
	mustRun(t, "models", "publish", "--data-dir", dir, "--model", paths[0])
	if out := mustRun(t, "models", "publish", "--data-dir", dir, "--model", paths[1], "--activate"); !strings.Contains(out, "veteran@"+versions[0]+" (production") {
		t.Errorf("publishing the same model trained again: %s", out)
	}
	if out := mustRun(t, "models", "list", "--data-dir", dir); strings.Count(out, versions[0]) != 1 {
		t.Errorf("models list:\n%s", out)
	}
}

// TestExtractThenTrainCSV: the documented path from the database to a
// file and back. The demo's own extract, fitted with --csv and the spec
// the database fit uses, gives the very model (one version) that train
// gives from the database: the spec's imputation of the extract's empty
// cells, its scaling and references apply. Without the spec, the file is
// a table fit (empty cells refused, naming the column); with a penalty,
// its numeric columns are standardised.
func TestExtractThenTrainCSV(t *testing.T) {
	dir := t.TempDir()
	pipeline(t, dir, "")
	versionRE := regexp.MustCompile(`\(version ([0-9a-f]{12})\)`)
	fromDB := versionRE.FindStringSubmatch(mustRun(t, "train", "--data-dir", dir, "--out", filepath.Join(dir, "db.model.json")))
	extract := filepath.Join(dir, "extract.csv")
	mustRun(t, "extract", "--data-dir", dir, "--out", extract)
	cols := []string{"--csv", extract, "--id", "patient_id", "--event", "event", "--period", "month"}
	out := mustRun(t, append([]string{"train", "--spec", "../../specs/engagement.json", "--out", filepath.Join(dir, "csv.model.json")}, cols...)...)
	fromCSV := versionRE.FindStringSubmatch(out)
	if fromDB == nil || fromCSV == nil || fromDB[1] != fromCSV[1] {
		t.Fatalf("train from the database: %v; from its extract with the same spec: %v\n%s", fromDB, fromCSV, out)
	}
	if !strings.Contains(out, `trained "engagement"`) || !strings.Contains(out, "chosen by 5-fold cross-validation") || !strings.Contains(out, "held out") {
		t.Errorf("a file with a spec fits as the database does (the spec's name, L2 by cross-validation, a holdout):\n%s", out)
	}

	table := append(cols, "--numeric", "age,baseline_score", "--categorical", "program", "--out", filepath.Join(dir, "t.model.json"))
	if _, _, err := runCmd(t, "", append([]string{"train"}, table...)...); err == nil || !strings.Contains(err.Error(), `feature "baseline_score" is missing in`) {
		t.Errorf("a table fit of the extract's empty cells: %v", err)
	}
	if _, _, err := runCmd(t, "", append([]string{"train", "--spec", "../../specs/engagement.json"}, table...)...); err == nil || !strings.Contains(err.Error(), "--numeric and --categorical go without it") {
		t.Errorf("--spec with --numeric: %v", err)
	}
	if _, _, err := runCmd(t, "", "train", "--csv", extract, "--spec", "../../specs/engagement.json", "--out", filepath.Join(dir, "t.model.json")); err == nil || !strings.Contains(err.Error(), "--event and --period") {
		t.Errorf("--spec without the event and period columns: %v", err)
	}

	// A penalised table fit standardises its numeric columns: the same
	// columns in other units (age in months) give the same fit, per unit.
	months := filepath.Join(dir, "months.csv")
	rewriteColumn(t, extract, months, "age", func(v float64) float64 { return 12 * v })
	pen := []string{"--id", "patient_id", "--event", "event", "--period", "month", "--numeric", "age,prior_no_shows", "--categorical", "program",
		"--penalty", "l2", "--lambda", "20", "--baseline", "months"}
	mustRun(t, append([]string{"train", "--csv", extract, "--out", filepath.Join(dir, "y.model.json")}, pen...)...)
	mustRun(t, append([]string{"train", "--csv", months, "--out", filepath.Join(dir, "m.model.json")}, pen...)...)
	coef := func(file, name string) float64 {
		m, err := model.LoadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range m.Summary().Coefficients {
			if c.Name == name {
				return c.Estimate
			}
		}
		t.Fatalf("no coefficient %s in %s", name, file)
		return 0
	}
	if a, b := coef("y.model.json", "age"), coef("m.model.json", "age"); a == 0 || math.Abs(a-12*b) > 1e-9*math.Abs(a) {
		t.Errorf("age per year %v, per month %v: want a twelfth", a, b)
	}
	if a, b := coef("y.model.json", "prior_no_shows"), coef("m.model.json", "prior_no_shows"); math.Abs(a-b) > 1e-9*math.Abs(a) {
		t.Errorf("prior_no_shows %v and %v: the other column's coefficient moved with age's units", a, b)
	}
}

// rewriteColumn copies the CSV file from to to, mapping the named numeric
// column's non-empty cells through f.
func rewriteColumn(t *testing.T, from, to, column string, f func(float64) float64) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r := csv.NewReader(in)
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	j := slices.Index(recs[0], column)
	for _, rec := range recs[1:] {
		if rec[j] == "" {
			continue
		}
		v, err := strconv.ParseFloat(rec[j], 64)
		if err != nil {
			t.Fatal(err)
		}
		rec[j] = strconv.FormatFloat(f(v), 'g', -1, 64)
	}
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(out)
	w.WriteAll(recs)
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTrainCSVLandmark trains a landmark model from a file, as the R
// fixture's case does, and inspects it: the horizon model is named, the
// coefficients shown are the month in progress's with cluster-robust
// errors, and predict answers with the lags' hazards.
func TestTrainCSVLandmark(t *testing.T) {
	out := filepath.Join(t.TempDir(), "vet.model.json")
	stdout := mustRun(t, "train", "--csv", "../../testdata/reference/landmark/veteran_landmark_logit_pp.csv", "--id", "id", "--event", "event",
		"--period", "period", "--numeric", "karno", "--categorical", "celltype", "--horizon-model", "landmark", "--out", out)
	for _, want := range []string{"stacked landmark rows", "horizon model: landmark", "lags 0–7 fitted in 4 groups (0, 1, 2, 3–7)", "no AIC", "cluster-robust by patient"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("train output lacks %q:\n%s", want, stdout)
		}
	}
	m, err := model.LoadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.HorizonModel() != model.HorizonLandmark {
		t.Fatalf("saved a %s model", m.HorizonModel())
	}
	if text := mustRun(t, "inspect", out); !strings.Contains(text, "cluster-robust by patient") || !strings.Contains(text, "lag 0") {
		t.Errorf("inspect does not say the errors are cluster-robust and the coefficients lag 0's:\n%s", text)
	}
}
