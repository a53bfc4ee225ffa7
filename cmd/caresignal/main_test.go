package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/postgres/pgtest"
	"github.com/caresignal/caresignal/internal/storetest"
	"github.com/caresignal/caresignal/internal/web"
	"github.com/caresignal/caresignal/model"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

// runCmd runs one command line in-process and returns its output.
func runCmd(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), args, noEnv, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := runCmd(t, "", args...)
	if err != nil {
		t.Fatalf("caresignal %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

const request = `{"patient_id": "P000123", "features": {"age": 54, "sex": "F", "program": "diabetes", "channel": "app", "baseline_score": 0.62, "prior_no_shows": 1, "enrolled_via": "referral", "sessions_last_month": 3, "days_since_last_session": 6, "messages_last_month": 4}, "months_enrolled": 0, "horizon": 12}`

// TestDemo runs the README's first command end to end through run(): it
// must build everything, serve, answer the API and the pages, and stop
// cleanly when its context ends.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--patients", "1500", "--data-dir", dir, "--addr", "127.0.0.1:0"}, noEnv, strings.NewReader(""), &out, &errOut)
	}()
	urlRE := regexp.MustCompile(`web app:\s+(http://\S+/)`)
	var base string
	for deadline := time.Now().Add(2 * time.Minute); base == "" && time.Now().Before(deadline); {
		select {
		case err := <-done:
			t.Fatalf("demo stopped early: %v\n%s\n%s", err, out.String(), errOut.String())
		case <-time.After(50 * time.Millisecond):
		}
		if m := urlRE.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("demo printed no URL:\n%s", out.String())
	}
	for _, step := range []string{"[1/7] generated 1,500 patients", "[2/7] ELT as of 2026-05-01", "[3/7] trained \"engagement\"", "[3/7] saved the model",
		"[4/7] scored", "[5/7] ELT as of 2026-11-01", "[6/7] evaluated engagement@", "outcomes of the 2026-05-01 run", "[7/7] serving"} {
		if !strings.Contains(out.String(), step) {
			t.Errorf("demo output lacks %q:\n%s", step, out.String())
		}
	}
	waitHealthy(t, base)
	resp, err := http.Post(base+"api/engagement", "application/json", strings.NewReader(request))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"expected_months"`)) {
		t.Fatalf("API: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(base + "worklist")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Count(string(body), "<tr>") < 10 {
		t.Errorf("worklist shows no scored patients:\n%s", body)
	}
	// The evaluation report is on the monitoring page and in the metrics.
	for path, want := range map[string]string{"monitoring": "Is the model still right?", "monitoring/report": "Expected against realised drop-offs",
		"metrics": `caresignal_evaluation_figure{figure="harrell_c"`} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("/%s: %d, lacks %q", path, resp.StatusCode, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
		t.Errorf("no report file: %v", err)
	}
	cancel()
	waitStopped(t, done, "demo")
	if !strings.Contains(out.String(), "stopped") {
		t.Error("no 'stopped' line after shutdown")
	}
	if _, err := model.LoadFile(filepath.Join(dir, modelFileName)); err != nil {
		t.Errorf("the demo's model does not load: %v", err)
	}
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(base + "healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatal("server never became healthy")
}

// waitStopped waits up to 20 s for a command run in the background to
// return, and fails the test unless it returned nil.
func waitStopped(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s returned %v", what, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not stop", what)
	}
}

// pipeline runs generate, etl, train and score against one database.
func pipeline(t *testing.T, dir, db string) string {
	common := []string{"--data-dir", dir}
	if db != "" {
		common = append(common, "--db", db)
	}
	out := mustRun(t, append([]string{"generate", "--patients", "1200", "--seed", "3"}, common...)...)
	out += mustRun(t, append([]string{"etl", "--as-of", "2026-11-01"}, common...)...)
	out += mustRun(t, append([]string{"train"}, common...)...)
	out += mustRun(t, append([]string{"score", "--csv", filepath.Join(dir, "scores.csv")}, common...)...)
	return out
}

func TestPipelineCommands(t *testing.T) {
	dir := t.TempDir()
	out := pipeline(t, dir, "")
	for _, want := range []string{"generated 1,200 patients", "person_period has", "Newton iterations", "held-out rows", "saved the model", "into the scores table"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	csv, err := os.ReadFile(filepath.Join(dir, "scores.csv"))
	if err != nil || !bytes.HasPrefix(csv, []byte("patient_id,months_enrolled,hazard_next,survival_end,expected_months,median_months,hazard_1,")) {
		t.Errorf("scores.csv: %v\n%.200s", err, csv)
	}

	// predict prints exactly what the API answers, success or error.
	modelPath := filepath.Join(dir, modelFileName)
	m, err := model.LoadFile(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.NewHandler(web.Config{Model: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	for _, body := range []string{request, `{"instances": [` + request + `,` + request + `]}`, `{"features": {"age": "x"}}`} {
		got, _, perr := runCmd(t, body, "predict", "--model", modelPath)
		resp, err := http.Post(srv.URL+"/api/engagement", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got != string(want) {
			t.Errorf("predict printed\n%s\nthe API answered\n%s", got, want)
		}
		if (perr != nil) != (resp.StatusCode != 200) {
			t.Errorf("predict error %v for API status %d", perr, resp.StatusCode)
		}
	}
	in := filepath.Join(dir, "req.json")
	os.WriteFile(in, []byte(request), 0o644)
	if got := mustRun(t, "predict", "--model", modelPath, "--in", in); !strings.Contains(got, `"patient_id":"P000123"`) {
		t.Errorf("predict --in: %s", got)
	}
}

// TestSQLiteAndPostgresAgree runs the same pipeline on the embedded database
// and on PostgreSQL: the person-period tables must match row for row, the
// training extracts hash alike, the models must be the same fit, and the
// batch scores must agree to 1e-9.
func TestSQLiteAndPostgresAgree(t *testing.T) {
	dsn := pgtest.Schema(t)
	ctx := context.Background()
	dirLite, dirPG := t.TempDir(), t.TempDir()
	pipeline(t, dirLite, "")
	pipeline(t, dirPG, dsn)

	lite := &dataFlags{dataDir: dirLite}
	pg := &dataFlags{dataDir: dirPG, db: dsn}
	sl, _, err := lite.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	sp, _, err := pg.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	a, err := sl.PersonPeriod(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sp.PersonPeriod(ctx)
	if err != nil {
		t.Fatal(err)
	}
	storetest.SameRows(t, "person_period, postgres vs sqlite", b, a)

	ml, err := model.LoadFile(lite.modelPath())
	if err != nil {
		t.Fatal(err)
	}
	mp, err := model.LoadFile(pg.modelPath())
	if err != nil {
		t.Fatal(err)
	}
	if ml.Training.DataHash != mp.Training.DataHash {
		t.Errorf("training extract hashes differ: %s vs %s", ml.Training.DataHash, mp.Training.DataHash)
	}
	for j := range ml.Coef {
		if math.Abs(ml.Coef[j]-mp.Coef[j]) > 1e-12 {
			t.Errorf("coefficient %s: %v vs %v", ml.Features.Columns[j], ml.Coef[j], mp.Coef[j])
		}
	}
	_, scoresL, err := sl.TopScores(ctx, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	_, scoresP, err := sp.TopScores(ctx, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(scoresL) != len(scoresP) || len(scoresL) == 0 {
		t.Fatalf("%d scores on sqlite, %d on postgres", len(scoresL), len(scoresP))
	}
	byID := map[string]float64{}
	for _, s := range scoresP {
		byID[s.PatientID] = s.ExpectedMonths
	}
	for _, s := range scoresL {
		p, ok := byID[s.PatientID]
		if !ok || math.Abs(p-s.ExpectedMonths) > 1e-9 {
			t.Fatalf("patient %s: expected months %v on sqlite, %v on postgres", s.PatientID, s.ExpectedMonths, p)
		}
	}
	for i := range scoresL {
		if math.Abs(scoresL[i].HazardNext-scoresP[i].HazardNext) > 1e-9 || scoresL[i].PatientID != scoresP[i].PatientID {
			t.Fatalf("score %d differs: %+v vs %+v", i, scoresL[i], scoresP[i])
		}
	}

	// The evaluation layer reads both alike: parity holds, and the two
	// reports carry the same figures (drift and parity; no follow-up yet).
	figures := map[string]map[string]float64{}
	for name, args := range map[string][]string{"sqlite": {"--data-dir", dirLite}, "postgres": {"--data-dir", dirPG, "--db", dsn}} {
		if out := mustRun(t, append([]string{"evaluate", "parity"}, args...)...); !strings.Contains(out, "all equal") {
			t.Errorf("%s parity: %s", name, out)
		}
		mustRun(t, append([]string{"evaluate", "report", "--bootstrap", "0"}, args...)...)
		var rep struct{ Figures map[string]float64 }
		if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(args[1], "report.json"))), &rep); err != nil {
			t.Fatal(err)
		}
		figures[name] = rep.Figures
	}
	if len(figures["sqlite"]) < 5 || len(figures["sqlite"]) != len(figures["postgres"]) {
		t.Errorf("figures differ: %v vs %v", figures["sqlite"], figures["postgres"])
	}
	for k, v := range figures["sqlite"] {
		if w, ok := figures["postgres"][k]; !ok || math.Abs(v-w) > 1e-9 {
			t.Errorf("figure %s: %v on sqlite, %v on postgres", k, v, w)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runCmd(t, "", "frobnicate"); !errors.Is(err, errUsage) {
		t.Errorf("unknown command: %v", err)
	}
	if _, _, err := runCmd(t, "", "train", "--lambda", "abc"); err == nil || !strings.Contains(err.Error(), "--lambda must be a number or cv") {
		t.Errorf("bad flag value: %v", err)
	}
	if _, _, err := runCmd(t, "", "train", "--penalty", "lasso", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), `unknown penalty "lasso"`) {
		t.Errorf("bad penalty: %v", err)
	}
	if _, _, err := runCmd(t, "", "train", "--baseline", "spline:x", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "--baseline") {
		t.Errorf("bad baseline: %v", err)
	}
	if _, _, err := runCmd(t, "", "etl", "stray"); !errors.Is(err, errUsage) {
		t.Errorf("stray argument: %v", err)
	}
	if _, _, err := runCmd(t, "", "etl", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "source tables are empty") {
		t.Errorf("etl on an empty database: %v", err)
	}
	if _, _, err := runCmd(t, "", "serve", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "cannot open model file") {
		t.Errorf("serve without a model: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"format": "caresignal-model", "format_version": 2, "checksum": "sha256:00", "model": {}}`), 0o644)
	if _, _, err := runCmd(t, "{}", "predict", "--model", bad); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("predict with a corrupt model: %v", err)
	}
	if _, _, err := runCmd(t, "", "predict"); !errors.Is(err, errUsage) {
		t.Errorf("predict without --model: %v", err)
	}
	if _, _, err := runCmd(t, "", "generate", "--data-dir", dir, "--patients", "-5"); err == nil || !strings.Contains(err.Error(), "patients must be between") {
		t.Errorf("negative patients: %v", err)
	}
	if _, _, err := runCmd(t, "", "serve", "--mode", "prod", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "--trusted-proxy") {
		t.Errorf("prod mode: %v", err)
	}
	if _, _, err := runCmd(t, "", "train", "--data-dir", dir, "--spec", filepath.Join(dir, "nope.json")); err == nil {
		t.Error("train with a missing spec file succeeded")
	}
	if _, _, err := runCmd(t, "", "etl", "--db", "host=localhost password=secret"); caresignal.ErrorField(err) != "db" || strings.Contains(err.Error(), "secret") {
		t.Errorf("key=value --db: %v", err)
	}
	if matches, _ := filepath.Glob("host=*"); len(matches) > 0 {
		t.Errorf("a file was created for the bad --db: %v", matches)
	}
	mustRun(t, "generate", "--data-dir", dir, "--patients", "50", "--seed", "0")
	if _, _, err := runCmd(t, "", "train", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "caresignal etl") {
		t.Errorf("train before etl: %v", err)
	}
}

func TestHelp(t *testing.T) {
	for _, c := range commands() {
		_, errOut, err := runCmd(t, "", c.name, "-h")
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut, "Usage: caresignal "+c.name) {
			t.Errorf("%s -h: %v\n%s", c.name, err, errOut)
		}
	}
	out, _, err := runCmd(t, "", "help")
	if err != nil || !strings.Contains(out, "Start here:  caresignal demo") {
		t.Errorf("help: %v\n%s", err, out)
	}
	out, _, _ = runCmd(t, "", "version")
	if !strings.HasPrefix(out, "caresignal ") {
		t.Errorf("version: %q", out)
	}
}
