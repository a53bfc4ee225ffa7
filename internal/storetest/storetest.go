// Package storetest is the conformance suite every caresignal.Store adapter
// must pass, against a real database: the ELT must build exactly the
// person-period rows the synthetic generator derived on its own, extracts
// must come back in order with their types, failed writes must leave
// the tables as they were, the model registry must keep one production
// version per name through activations, rollbacks and concurrent writers
// and refuse corrupted artifacts, every change to what servers answer
// with must be one transaction that clears what it made stale and
// increases the name's generation, and API keys and the audit log must
// round-trip.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/synth"
)

// Opener opens a store on the adapter's test database. Calling it twice in
// one test must open the same database (to check migrations are idempotent).
type Opener func(t *testing.T) caresignal.Store

// Run runs the whole suite. newDB returns an Opener for a fresh, empty
// database (or schema) that the test owns.
func Run(t *testing.T, newDB func(t *testing.T) Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"ELTMatchesGenerator", testELTMatchesGenerator},
		{"DefaultAsOf", testDefaultAsOf},
		{"ELTIsRepeatable", testELTIsRepeatable},
		{"MigrationsAreIdempotent", testMigrationsIdempotent},
		{"FailedLoadKeepsOldRows", testFailedLoadKeepsOldRows},
		{"RejectsExitBeforeEnrolment", testRejectsExitBeforeEnrolment},
		{"EmptySource", testEmptySource},
		{"Scores", testScores},
		{"Worklist", testWorklist},
		{"PatientNow", testPatientNow},
		{"ReplaceSourceClearsDerived", testReplaceSourceClearsDerived},
		{"RefusesAsOfOutsideData", testRefusesAsOfOutsideData},
		{"Publish", testPublish},
		{"ModelVersionsOrder", testModelVersionsOrder},
		{"Activate", testActivate},
		{"OneProductionUnderConcurrency", testOneProduction},
		{"Rollback", testRollback},
		{"RollbackSkipsDeletedVersions", testRollbackSkipsDeleted},
		{"CorruptArtifact", testCorruptArtifact},
		{"FailedChangeKeepsRegistry", testFailedChangeKeepsRegistry},
		{"ServingConfig", testServingConfig},
		{"ChangesClearNamedVersions", testChangesClearNamedVersions},
		{"ServingState", testServingState},
		{"MigrationClearsProductionCanary", testMigrationClearsProductionCanary},
		{"Keys", testKeys},
		{"KeyConflictKeepsFirst", testKeyConflictKeepsFirst},
		{"Audit", testAudit},
		{"PredictionLog", testPredictionLog},
		{"Evaluations", testEvaluations},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newDB(t))
		})
	}
}

// Cohort is the small cohort the suite loads: with missing baseline scores
// and transfers, so every status and the NULL path occur.
func Cohort(t testing.TB) *synth.Cohort {
	cfg := synth.Sized(1500, 11)
	cfg.MissingBaseline, cfg.TransferRate = 0.05, 0.03
	c, err := synth.Generate(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// loaded opens a store and loads the suite's cohort into it.
func loaded(t *testing.T, open Opener) (caresignal.Store, *synth.Cohort) {
	t.Helper()
	s, c := open(t), Cohort(t)
	load(t, s, c)
	return s, c
}

func load(t *testing.T, s caresignal.Store, c *synth.Cohort) {
	t.Helper()
	if err := s.ReplaceSource(context.Background(), &c.Source, nil); err != nil {
		t.Fatalf("ReplaceSource: %v", err)
	}
}

func testELTMatchesGenerator(t *testing.T, open Opener) {
	ctx := context.Background()
	s, c := loaded(t, open)
	res, err := s.RunELT(ctx, c.Config.AsOf)
	if err != nil {
		t.Fatalf("RunELT: %v", err)
	}
	want := c.PersonPeriod()
	if res.Rows != len(want.Rows) {
		t.Errorf("RunELT reports %d rows, generator has %d", res.Rows, len(want.Rows))
	}
	for _, st := range []caresignal.Status{caresignal.StatusEvent, caresignal.StatusSurvived, caresignal.StatusCensored, caresignal.StatusCurrent, caresignal.StatusIncomplete} {
		if res.ByStatus[st] == 0 {
			t.Errorf("no %q rows: the cohort should exercise every status", st)
		}
	}
	got, err := s.PersonPeriod(ctx)
	if err != nil {
		t.Fatal(err)
	}
	SameRows(t, "person_period", got, want)

	tr, err := s.TrainingExtract(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantTr, _ := c.Training()
	SameRows(t, "training extract", tr, wantTr)

	pr, err := s.PredictionExtract(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantPr := &caresignal.Extract{Columns: want.Columns}
	for _, r := range want.Rows {
		if r.Status == caresignal.StatusCurrent {
			wantPr.Rows = append(wantPr.Rows, r)
		}
	}
	SameRows(t, "prediction extract", pr, wantPr)
	asOf, err := s.LastELT(ctx)
	if err != nil || !asOf.Equal(c.Config.AsOf) {
		t.Errorf("LastELT = %v, %v; want %v", asOf, err, c.Config.AsOf)
	}
}

func testDefaultAsOf(t *testing.T, open Opener) {
	ctx := context.Background()
	s, c := loaded(t, open)
	var latest time.Time
	for _, p := range c.Source.Patients {
		latest = later(latest, p.EnrolledOn)
	}
	for _, e := range c.Source.Events {
		latest = later(latest, e.OccurredOn)
	}
	for _, d := range c.Source.Disenrolments {
		latest = later(latest, d.DisenrolledOn)
	}
	res, err := s.RunELT(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := latest.AddDate(0, 0, 1); !res.AsOf.Equal(want) {
		t.Errorf("default as-of = %v, want the day after the latest source date, %v", res.AsOf, want)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func testELTIsRepeatable(t *testing.T, open Opener) {
	ctx := context.Background()
	s, c := loaded(t, open)
	// An earlier as-of first, then the real one: the second run must not
	// keep anything from the first.
	if _, err := s.RunELT(ctx, c.Config.AsOf.AddDate(0, -6, 0)); err != nil {
		t.Fatal(err)
	}
	early, err := s.PersonPeriod(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunELT(ctx, c.Config.AsOf); err != nil {
		t.Fatal(err)
	}
	got, err := s.PersonPeriod(ctx)
	if err != nil {
		t.Fatal(err)
	}
	SameRows(t, "person_period after a second ELT", got, c.PersonPeriod())
	if len(early.Rows) >= len(got.Rows) {
		t.Errorf("ELT six months earlier gave %d rows, not fewer than %d", len(early.Rows), len(got.Rows))
	}
}

func testMigrationsIdempotent(t *testing.T, open Opener) {
	s, c := loaded(t, open)
	s.Close()
	s2 := open(t) // applies migrations again: must be a no-op
	if _, err := s2.RunELT(context.Background(), c.Config.AsOf); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
}

func testFailedLoadKeepsOldRows(t *testing.T, open Opener) {
	ctx := context.Background()
	s, c := loaded(t, open)
	if _, err := s.RunELT(ctx, c.Config.AsOf); err != nil {
		t.Fatal(err)
	}
	bad := c.Source
	bad.Patients = append([]caresignal.Patient(nil), c.Source.Patients...)
	bad.Patients = append(bad.Patients, bad.Patients[0]) // duplicate key: must fail
	if err := s.ReplaceSource(ctx, &bad, nil); err == nil {
		t.Fatal("ReplaceSource with a duplicate patient id succeeded")
	}
	got, err := s.PersonPeriod(ctx)
	if err != nil {
		t.Fatal(err)
	}
	SameRows(t, "person_period after a failed load", got, c.PersonPeriod())
}

func testRejectsExitBeforeEnrolment(t *testing.T, open Opener) {
	s := open(t)
	c := Cohort(t)
	d := &c.Source.Disenrolments[0]
	for _, p := range c.Source.Patients {
		if p.ID == d.PatientID {
			d.DisenrolledOn = p.EnrolledOn.AddDate(0, 0, -1)
		}
	}
	load(t, s, c)
	_, err := s.RunELT(context.Background(), c.Config.AsOf)
	if caresignal.ErrorCode(err) != caresignal.EINVALID {
		t.Fatalf("RunELT with a disenrolment before enrolment: err = %v, want an EINVALID error", err)
	}
}

func testEmptySource(t *testing.T, open Opener) {
	s := open(t)
	_, err := s.RunELT(context.Background(), time.Time{})
	if caresignal.ErrorCode(err) != caresignal.EINVALID {
		t.Fatalf("RunELT on empty tables: err = %v, want EINVALID", err)
	}
	if _, err := s.LastELT(context.Background()); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		t.Fatalf("LastELT before any ELT: err = %v, want ENOTFOUND", err)
	}
	if _, _, err := s.TopScores(context.Background(), 10); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		t.Fatalf("TopScores before any scores: err = %v, want ENOTFOUND", err)
	}
}

func testScores(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	two := 2
	run := caresignal.ScoreRun{Model: caresignal.ModelInfo{Name: "engagement", Version: "abc"},
		AsOf: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ScoredAt: time.Date(2026, 11, 2, 3, 4, 5, 0, time.UTC), Horizon: 12}
	var scores []caresignal.Score
	for i := range 1200 { // more than one insert batch
		sc := caresignal.Score{PatientID: fmt.Sprintf("P%05d", i), MonthsEnrolled: i % 7,
			HazardNext: float64(i%100) / 1000, SurvivalEnd: 0.5, ExpectedMonths: 8.25}
		if i%2 == 0 {
			sc.MedianMonths = &two
		}
		scores = append(scores, sc)
	}
	if err := s.ReplaceScores(ctx, run, scores); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceScores(ctx, run, scores[:50]); err != nil { // same run again: replaces
		t.Fatal(err)
	}
	gotRun, top, err := s.TopScores(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if gotRun.Model != run.Model || !gotRun.AsOf.Equal(run.AsOf) || !gotRun.ScoredAt.Equal(run.ScoredAt) || gotRun.Horizon != 12 {
		t.Errorf("TopScores run = %+v, want %+v", gotRun, run)
	}
	if len(top) != 5 || top[0].PatientID != "P00049" || top[0].HazardNext != 0.049 || top[4].PatientID != "P00045" {
		t.Fatalf("TopScores = %+v, want P00049…P00045 by descending hazard from the replacing run", top)
	}
	if top[0].MedianMonths != nil || top[1].MedianMonths == nil || *top[1].MedianMonths != 2 || top[0].ExpectedMonths != 8.25 {
		t.Errorf("TopScores lost values: %+v", top[:2])
	}
}

func testReplaceSourceClearsDerived(t *testing.T, open Opener) {
	ctx := context.Background()
	s, c := loaded(t, open)
	if _, err := s.RunELT(ctx, c.Config.AsOf); err != nil {
		t.Fatal(err)
	}
	run := caresignal.ScoreRun{Model: caresignal.ModelInfo{Name: "engagement", Version: "v"}, AsOf: c.Config.AsOf, ScoredAt: time.Now(), Horizon: 12}
	if err := s.ReplaceScores(ctx, run, []caresignal.Score{{PatientID: c.Source.Patients[0].ID}}); err != nil {
		t.Fatal(err)
	}
	load(t, s, c)
	if _, err := s.LastELT(ctx); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		t.Errorf("LastELT after replacing the source: %v, want ENOTFOUND", err)
	}
	if _, _, err := s.TopScores(ctx, 5); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		t.Errorf("TopScores after replacing the source: %v, want ENOTFOUND", err)
	}
	if x, err := s.PersonPeriod(ctx); err != nil || len(x.Rows) != 0 {
		t.Errorf("person_period after replacing the source: %v, %d rows", err, len(x.Rows))
	}
}

func testRefusesAsOfOutsideData(t *testing.T, open Opener) {
	ctx := context.Background()
	s, c := loaded(t, open)
	if _, err := s.RunELT(ctx, c.Config.AsOf.AddDate(0, 2, 0)); caresignal.ErrorCode(err) != caresignal.EINVALID || caresignal.ErrorField(err) != "as-of" {
		t.Errorf("as-of two months after the data: %v, want EINVALID on as-of", err)
	}
	if _, err := s.RunELT(ctx, c.Config.AsOf.AddDate(-20, 0, 0)); caresignal.ErrorCode(err) != caresignal.EINVALID {
		t.Errorf("as-of before every enrolment: %v, want EINVALID", err)
	}
	if _, err := s.LastELT(ctx); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		t.Errorf("a refused ELT was recorded: %v", err)
	}
}

// SameRows fails t unless got and want hold the same rows in the same order
// with the same values, comparing feature columns by name.
func SameRows(t testing.TB, what string, got, want *caresignal.Extract) {
	t.Helper()
	if len(got.Rows) != len(want.Rows) {
		t.Errorf("%s: %d rows, want %d", what, len(got.Rows), len(want.Rows))
	}
	idx := make([]int, len(want.Columns))
	for j, c := range want.Columns {
		idx[j] = got.Column(c)
		if idx[j] < 0 {
			t.Fatalf("%s: no column %q in %v", what, c, got.Columns)
		}
	}
	bad := 0
	for i := 0; i < min(len(got.Rows), len(want.Rows)) && bad < 5; i++ {
		g, w := got.Rows[i], want.Rows[i]
		if err := sameRow(g, w, want.Columns, idx); err != nil {
			t.Errorf("%s row %d (%s month %d): %v", what, i, w.PatientID, w.Month, err)
			bad++
		}
	}
}

func sameRow(g, w caresignal.ExtractRow, cols []string, idx []int) error {
	if g.PatientID != w.PatientID || g.Month != w.Month || g.Status != w.Status || g.Event != w.Event {
		return fmt.Errorf("got %s/%d/%s/%v, want %s/%d/%s/%v", g.PatientID, g.Month, g.Status, g.Event, w.PatientID, w.Month, w.Status, w.Event)
	}
	var errs []error
	for j, c := range cols {
		gv, wv := g.Values[idx[j]], w.Values[j]
		if gv.Kind != wv.Kind || gv.Str != wv.Str || !(gv.Num == wv.Num || math.IsNaN(gv.Num) && math.IsNaN(wv.Num)) {
			errs = append(errs, fmt.Errorf("%s = %v, want %v", c, gv, wv))
		}
	}
	return errors.Join(errs...)
}
