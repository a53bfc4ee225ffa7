package web

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sqlite"
)

// TestWorklistCallsStaleScoresStale: the worklist says its scores are
// stale once their as-of date is older than the scheduled run's cadence
// plus a day, and not before.
func TestWorklistCallsStaleScoresStale(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m := testModel(t)
	asOf := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	run := caresignal.ScoreRun{Model: m.Info(), AsOf: asOf, ScoredAt: asOf.Add(2 * time.Hour), Horizon: 12}
	if err := store.ReplaceScores(ctx, run, []caresignal.Score{{PatientID: "P1", MonthsEnrolled: 3, HazardNext: 0.1, SurvivalEnd: 0.5, ExpectedMonths: 8}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cadence time.Duration
		now     time.Time
		stale   string
	}{
		{0, asOf.Add(36 * time.Hour), ""},
		{0, asOf.Add(49 * time.Hour), "2 days ago, and the scheduled run (caresignal run) is meant to score daily"},
		{7 * 24 * time.Hour, asOf.Add(5 * 24 * time.Hour), ""},
		{7 * 24 * time.Hour, asOf.Add(35 * 24 * time.Hour), "35 days ago, and the scheduled run (caresignal run) is meant to score weekly"},
		{12 * time.Hour, asOf.Add(37 * time.Hour), "every 12h0m0s"},
	} {
		now := tc.now
		srv := httptest.NewServer(NewHandler(Config{Model: m, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Mode: "dev",
			Cadence: tc.cadence, Now: func() time.Time { return now }}))
		code, _, body := getBody(t, srv, "/worklist")
		srv.Close()
		if code != 200 || !strings.Contains(body, "P1") {
			t.Fatalf("worklist: %d", code)
		}
		if got := strings.Contains(body, "Stale."); got != (tc.stale != "") || !strings.Contains(body, tc.stale) {
			t.Errorf("cadence %v, %v after the as-of date: stale %v, want %q", tc.cadence, tc.now.Sub(asOf), got, tc.stale)
		}
	}
}
