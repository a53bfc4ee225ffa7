package monitor

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/synth"
	"github.com/caresignal/caresignal/wire"
)

// TestBatchScoresTheMonthInProgress: batch scoring scores each patient as
// of the as-of date, part-way through the month in progress: its first
// month's hazard is the whole month's with the days already passed taken
// off (counted here from the source's enrolment dates, by hand), and
// rescoring the logged records gives the same hazards (parity).
func TestBatchScoresTheMonthInProgress(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := synth.DefaultConfig()
	cfg.Patients = 800
	asOf := time.Date(2026, 9, 17, 0, 0, 0, 0, time.UTC)
	m := trainPublished(t, s, cfg, asOf)
	c, err := synth.Generate(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	enrolled := map[string]time.Time{}
	for _, p := range c.Source.Patients {
		enrolled[p.ID] = p.EnrolledOn
	}
	b, err := serving.ScoreBatch(ctx, s, m, serving.BatchOptions{Horizon: 3, KeepPredictions: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	days0 := map[string]int{} // each patient's days into the month, counted by hand
	for i, sc := range b.Scores {
		days := int(asOf.Sub(enrolled[sc.PatientID]).Hours() / 24)
		d := days - 30*sc.MonthsEnrolled
		if d < 0 || d > 29 {
			t.Fatalf("patient %s: %d days into month %d", sc.PatientID, d, sc.MonthsEnrolled+1)
		}
		seen[d] = true
		if p := b.Predictions[i]; sc.HazardNext != p.Hazard[0] {
			t.Fatalf("patient %s: stored %v, predicted %v", sc.PatientID, sc.HazardNext, p.Hazard[0])
		}
		days0[sc.PatientID] = d
	}
	if len(seen) < 25 {
		t.Errorf("only %d distinct days into the month among %d patients", len(seen), len(b.Scores))
	}
	if err := b.Store(ctx, s); err != nil {
		t.Fatal(err)
	}
	// Every logged record carries its days and rescores to its hazards.
	rep, err := Parity(ctx, s, RegistryLoader(s), ParityOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Checked != len(b.Scores) {
		t.Fatalf("parity: %+v", rep)
	}
	var withDays, checked int
	err = s.ScanPredictions(ctx, caresignal.PredictionFilter{}, func(r *caresignal.PredictionRecord) error {
		rec := wire.Read(r)
		inst, err := rec.DecodePatient()
		if err != nil {
			return err
		}
		if inst.DaysElapsed != days0[inst.PatientID] {
			t.Errorf("record %s: days_elapsed %d, counted by hand %d", r.ID, inst.DaysElapsed, days0[inst.PatientID])
		}
		if inst.DaysElapsed > 0 {
			withDays++
		}
		whole := inst
		whole.DaysElapsed = 0
		pw, err := m.Predict(&whole)
		if err != nil {
			return err
		}
		pr, err := m.Predict(&inst)
		if err != nil {
			return err
		}
		if pr.Hazard[0] != caresignal.MonthInProgress(pw.Hazard[0], inst.DaysElapsed) || pr.Hazard[1] != pw.Hazard[1] {
			t.Errorf("record %s: %v, whole months %v, %d days", r.ID, pr.Hazard, pw.Hazard, inst.DaysElapsed)
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked != len(b.Scores) || withDays < checked/2 {
		t.Errorf("%d records, %d of them part-way through the month", checked, withDays)
	}
}
