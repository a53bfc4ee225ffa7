package monitor

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
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

	// Followed up 30 days later, the report counts expected against
	// realised drop-offs from the scoring date: every scored patient is at
	// risk of the month in progress, whose hazards it sums.
	if _, err := s.RunELT(ctx, asOf.AddDate(0, 0, 30)); err != nil {
		t.Fatal(err)
	}
	report, err := BuildReport(ctx, s, ReportOptions{Bootstrap: -1, GroupBy: "-"})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, sc := range b.Scores {
		sum += sc.HazardNext
	}
	var all *ExpectedMonth
	for i := range report.Expected {
		if report.Expected[i].Group == "all" {
			all = &report.Expected[i]
		}
	}
	if all == nil || all.AtRisk != len(b.Scores) || math.Abs(all.Expected-sum) > 1e-9*sum || all.Pending != 0 {
		t.Errorf("the report's expected drop-offs: %+v; want all %d patients at risk, %v expected", all, len(b.Scores), sum)
	}
	// The predictions' drift compares whole months' hazards with the
	// training reference's: the rest of a month is not a drift down.
	if report.Drift == nil || report.Drift.Prediction == nil || report.Drift.Prediction.PSI == nil {
		t.Fatal("the report has no drift of the prediction")
	}
	if p := report.Drift.Prediction; p.Status != eval.DriftOK {
		t.Errorf("the prediction drifted (%s, PSI %.3f) with no drift in the program: the rest-of-month hazards were compared with whole months'", p.Status, *p.PSI)
	}
}

// TestMonthInProgressCoverage measures, on simulated programs, how often
// the realised drop-offs of the month in progress at scoring fall within
// the 95% Poisson-binomial interval of the scored hazards, counted from
// the scoring date: with the first month covering only the rest of the
// month (days_elapsed from the as-of date), and, for comparison, as whole
// months (each first hazard put back to the whole month's). Each of the
// replicates is a cohort of its own (seed), trained on the data up to the
// scoring date and followed up 30 days later.
func TestMonthInProgressCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("trains and scores 30 synthetic programs")
	}
	ctx := context.Background()
	const reps = 30
	var in, inWhole int
	var expected, expectedWhole, realised float64
	for seed := 1; seed <= reps; seed++ {
		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), fmt.Sprintf("c%d.db", seed)))
		if err != nil {
			t.Fatal(err)
		}
		cfg := synth.DefaultConfig()
		cfg.Patients, cfg.Seed = 1500, uint64(seed)
		asOf := time.Date(2026, 7, 1+seed%28, 0, 0, 0, 0, time.UTC)
		m := trainPublished(t, s, cfg, asOf)
		b, err := serving.ScoreBatch(ctx, s, m, serving.BatchOptions{Horizon: 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Store(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RunELT(ctx, asOf.AddDate(0, 0, 30)); err != nil {
			t.Fatal(err)
		}
		runs, _, err := ScoreRuns(ctx, s, caresignal.PredictionFilter{})
		if err != nil || len(runs) != 1 {
			t.Fatalf("score runs: %v (%d)", err, len(runs))
		}
		pp, err := s.PersonPeriod(ctx)
		if err != nil {
			t.Fatal(err)
		}
		outcomes, err := FollowUp(pp, runs[0].Patients, nil)
		if err != nil {
			t.Fatal(err)
		}
		count := func(run *ScoreRun) (ExpectedMonth, bool) {
			rows, err := ExpectedVsRealised(run, outcomes, 1, "", 0.95)
			if err != nil {
				t.Fatal(err)
			}
			r := rows[0]
			if r.Pending > 0 {
				t.Fatalf("seed %d: %d patients still pending 30 days after scoring", seed, r.Pending)
			}
			if r.Realised == nil || r.Lower == nil || r.Upper == nil {
				t.Fatalf("seed %d: no realised count or interval: %+v", seed, r)
			}
			return r, *r.Realised >= *r.Lower && *r.Realised <= *r.Upper
		}
		r, ok := count(runs[0])
		if ok {
			in++
		}
		// The same patients scored as whole months.
		whole := *runs[0]
		whole.Patients = make([]Scored, len(runs[0].Patients))
		enrolledOn := map[string]time.Time{}
		known, err := s.KnownPatients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for id, on := range known {
			enrolledOn[id] = on
		}
		for i, p := range runs[0].Patients {
			d := int(asOf.Sub(enrolledOn[p.PatientID]).Hours()/24) - 30*p.MonthsEnrolled
			q := p
			q.Hazard = append([]float64(nil), p.Hazard...)
			left := float64(30-d) / 30
			q.Hazard[0] = -math.Expm1(math.Log1p(-p.Hazard[0]) / left)
			whole.Patients[i] = q
		}
		rw, okWhole := count(&whole)
		if okWhole {
			inWhole++
		}
		expected += r.Expected
		expectedWhole += rw.Expected
		realised += float64(*r.Realised)
		s.Close()
	}
	t.Logf("month in progress from the scoring date, %d programs: realised %.0f drop-offs; expected %.1f with the rest of the month (interval covers %d of %d), %.1f as whole months (covers %d of %d)",
		reps, realised, expected, in, reps, expectedWhole, inWhole, reps)
	if in < reps*8/10 {
		t.Errorf("the 95%% interval covers the realised drop-offs in %d of %d programs", in, reps)
	}
	if inWhole >= in {
		t.Errorf("whole months covered as often (%d) as the rest of the month (%d): the rule makes no difference here", inWhole, in)
	}
}
