package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
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
		{"spec too", []string{"--csv", good, "--numeric", "x", "--spec", "s.json"}, "--spec and --csv do not go together"},
		{"empty", []string{"--csv", write("z.csv", ""), "--numeric", "x"}, "the file is empty"},
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
