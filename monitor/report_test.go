package monitor

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/internal/storetest"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/synth"
)

// scoreNow scores the patients enrolled as of the store's last ELT and logs
// them as one scoring run, as caresignal score does.
func scoreNow(t *testing.T, s caresignal.Store, m *model.Model) int {
	t.Helper()
	ctx := context.Background()
	b, err := serving.ScoreBatch(ctx, s, m, serving.BatchOptions{Horizon: 12})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Refused) > 0 {
		t.Fatalf("the model refused patients: %v", b.Refused)
	}
	if err := b.Store(ctx, s); err != nil {
		t.Fatal(err)
	}
	return len(b.Scores)
}

// trainPublished loads the cohort cfg describes into s, trains the
// engagement model on the data up to trainAt and publishes it.
func trainPublished(t *testing.T, s caresignal.Store, cfg synth.Config, trainAt time.Time) *model.Model {
	t.Helper()
	ctx := context.Background()
	c, err := synth.Generate(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceSource(ctx, &c.Source, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunELT(ctx, trainAt); err != nil {
		t.Fatal(err)
	}
	x, err := s.TrainingExtract(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := feature.ParseSpecBytes(caresignal.EngagementSpec)
	m, err := model.Train(ctx, spec, x, model.TrainOptions{Penalty: model.PenaltyL2, Lambda: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishModel(ctx, caresignal.ModelVersion{Name: m.Name, Version: m.Version}, b, "test"); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestReportCatchesDrift runs the evaluation layer on a synthetic program
// whose drop-off hazard rises after the model is trained: parity holds,
// the outcome metrics are there, realised drop-offs run above the
// expected ones and are flagged, and the report renders as well-formed
// HTML. (TestExpectedCoverage shows calibrated hazards are rarely flagged.)
func TestReportCatchesDrift(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model on a synthetic program")
	}
	storetest.Both(t, func(t *testing.T, s caresignal.Store) {
		ctx := context.Background()
		end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		trainAt := end.AddDate(0, -4, 0)
		cfg := synth.Sized(6000, 3)
		cfg.AsOf = end
		cfg.Drift = &synth.Drift{From: trainAt, HazardShift: 0.7}
		m := trainPublished(t, s, cfg, trainAt)
		scored := scoreNow(t, s, m)
		for k := 1; k <= 4; k++ {
			if _, err := s.RunELT(ctx, trainAt.AddDate(0, k, 0)); err != nil {
				t.Fatal(err)
			}
			scored += scoreNow(t, s, m)
		}
		// The care team calls three patients of the newest run's high
		// band; a fourth was called before that run, which does not
		// count for it.
		high, err := s.Worklist(ctx, caresignal.WorklistQuery{Band: caresignal.BandHigh, Limit: 4})
		if err != nil || len(high.Rows) != 4 {
			t.Fatalf("the high band: %v", err)
		}
		for i, r := range high.Rows {
			at, outcome := time.Now(), caresignal.ContactReached
			if i == 1 {
				outcome = caresignal.ContactNoAnswer
			}
			if i == 3 {
				at = high.Run.ScoredAt.Add(-time.Hour)
			}
			if _, err := s.RecordContact(ctx, caresignal.Contact{PatientID: r.PatientID, At: at, Outcome: outcome, By: "nurse"}); err != nil {
				t.Fatal(err)
			}
		}
		var stages []string
		rep, err := BuildReport(ctx, s, ReportOptions{Bootstrap: 20, Seed: 3, Progress: func(st string) { stages = append(stages, st) }})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Outreach) != 5 || rep.Outreach[0].Contacted != 3 || rep.Outreach[0].ByOutcome[caresignal.ContactReached] != 2 ||
			rep.Outreach[0].ByOutcome[caresignal.ContactNoAnswer] != 1 || rep.Outreach[0].Flagged != high.Total || rep.Figures["outreach.contacted"] != 3 {
			t.Errorf("outreach: %+v, want 3 of the newest run's %d contacted (2 reached, 1 no answer)", rep.Outreach, high.Total)
		}
		if rep.Model != m.Name || rep.Version != m.Version || len(rep.Runs) != 5 || !rep.Parity.OK() || rep.Parity.Checked != scored || len(stages) < 4 {
			t.Fatalf("report of %s@%s, %d runs, parity %s, stages %q", rep.Model, rep.Version, len(rep.Runs), rep.Parity.Summary(), stages)
		}
		o := rep.Outcomes
		if o == nil || o.AsOf != trainAt || o.Metrics.HarrellC == nil || *o.Metrics.HarrellC < 0.55 || o.Metrics.N < 500 || o.Metrics.Events < 50 {
			t.Fatalf("outcomes %+v", o)
		}
		if nm := rep.NextMonth; nm == nil || nm.N < scored/2 || nm.TDAUC["1"] < 0.6 || nm.CalibrationSlope == nil {
			t.Errorf("the worklist's month: %+v", nm)
		}
		// The hazard rose by 0.7 on the log-odds scale: the calibration
		// intercept sees it, and the resolved months run above their
		// intervals.
		if ci := o.Metrics.CalibrationIntercept; ci == nil || *ci < 0.3 {
			t.Errorf("calibration intercept %v under a +0.7 shift", ci)
		}
		flagged, resolved := 0, 0
		for _, e := range rep.Expected {
			if e.Group != "all" || e.Realised == nil || e.Pending > e.Resolved {
				continue
			}
			resolved++
			if e.Flag && *e.Realised > *e.Upper {
				flagged++
			}
		}
		if resolved < 3 || flagged < resolved-1 {
			t.Errorf("%d of %d resolved months flagged above their interval", flagged, resolved)
		}
		if len(rep.Flags) == 0 || rep.Figures["flags"] != float64(len(rep.Flags)) || rep.Figures["parity.mismatched"] != 0 {
			t.Errorf("flags %q, figures %v", rep.Flags, rep.Figures)
		}
		if _, err := json.Marshal(rep); err != nil {
			t.Fatalf("the report does not encode: %v", err)
		}
		html := RenderHTML(rep)
		checkHTML(t, html)
		for _, want := range []string{"Accuracy against outcomes", "Expected against realised", "Drift of inputs", "Online against offline",
			"Outreach to the high band", "reached 2, no answer 1",
			// The verdict first, with its direction: drop-offs above what
			// the model expects, in red.
			`class="status st-failed"`, "Drop-offs have run", "above what the model expects since", "Failed checks"} {
			if !strings.Contains(html, want) {
				t.Errorf("the report lacks %q", want)
			}
		}
	})
}

// checkHTML fails on a page that is not well-formed enough for an XML
// tokenizer in its non-strict mode, or that prints NaN.
func checkHTML(t *testing.T, page string) {
	t.Helper()
	if strings.Contains(page, "NaN") || strings.Contains(page, "could not be rendered") {
		t.Errorf("bad page: %.300s", page)
	}
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Errorf("the page does not parse: %v", err)
			}
			return
		}
	}
}

// TestReportWithoutFollowUp: a single run scored today has nothing to
// measure yet; the report says so and still shows the expected count.
func TestReportWithoutFollowUp(t *testing.T) {
	m, artifact := testModel(t)
	storetest.Both(t, func(t *testing.T, s caresignal.Store) {
		ctx := context.Background()
		if _, err := BuildReport(ctx, s, ReportOptions{}); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
			t.Errorf("an empty log: %v", err)
		}
		since := time.Now().Add(-time.Second)
		api := serveAndLog(t, s, m) - 1 // one is an /invocations row
		c, err := synth.Generate(synth.Sized(800, 4), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ReplaceSource(ctx, &c.Source, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RunELT(ctx, c.Config.AsOf); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PublishModel(ctx, caresignal.ModelVersion{Name: m.Name, Version: m.Version}, artifact, "test"); err != nil {
			t.Fatal(err)
		}
		n := scoreNow(t, s, m)
		rep, err := BuildReport(ctx, s, ReportOptions{Bootstrap: -1})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Outcomes != nil || len(rep.Expected) == 0 || rep.Expected[0].Realised != nil || rep.Expected[0].Pending == 0 || rep.Drift == nil || rep.Parity.Checked != n+api+1 {
			t.Errorf("report without follow-up: outcomes %v, expected %+v", rep.Outcomes, rep.Expected)
		}
		if !strings.Contains(strings.Join(rep.Notes, " "), "no outcome metrics") {
			t.Errorf("notes %q", rep.Notes)
		}
		checkHTML(t, RenderHTML(rep))
		// The API's inputs instead of the run's.
		rep, err = BuildReport(ctx, s, ReportOptions{Bootstrap: -1, DriftSince: since})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Drift == nil || rep.Drift.Rows != api || !strings.Contains(rep.DriftWindow, "API requests since") || rep.Parity.Checked != n+api+1 {
			t.Errorf("drift of the API window: %v rows, window %q, parity %d", rep.Drift, rep.DriftWindow, rep.Parity.Checked)
		}
		if _, err := BuildReport(ctx, s, ReportOptions{Run: "no-such-run"}); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
			t.Errorf("an unknown run: %v", err)
		}
	})
}

// TestReportCountsUnseenLevels: patients who joined a program after the
// model was trained are scored by batch scoring as the reference program
// (not refused), and the report counts them for each categorical input,
// a figure /metrics exports.
func TestReportCountsUnseenLevels(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model on a synthetic program")
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "u.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	trainAt := end.AddDate(0, -6, 0)
	cfg := synth.Sized(3000, 5)
	cfg.AsOf = end
	cfg.Drift = &synth.Drift{From: trainAt, UnseenProgram: true}
	m := trainPublished(t, s, cfg, trainAt)
	if _, err := s.RunELT(ctx, end); err != nil {
		t.Fatal(err)
	}
	batch, err := serving.ScoreBatch(ctx, s, m, serving.BatchOptions{Horizon: 12})
	if err != nil {
		t.Fatal(err)
	}
	if len(batch.Refused) > 0 || batch.Unseen["program"] == 0 || len(batch.Unseen) != 1 {
		t.Fatalf("batch scoring: refused %v, unseen %v; want the new program's patients scored and counted", batch.Refused, batch.Unseen)
	}
	if err := batch.Store(ctx, s); err != nil {
		t.Fatal(err)
	}
	rep, err := BuildReport(ctx, s, ReportOptions{Bootstrap: 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Figures["unseen.program"]; got != float64(batch.Unseen["program"]) || rep.Figures["unseen.channel"] != 0 {
		t.Errorf("report figures unseen.program %v (batch counted %d), unseen.channel %v", got, batch.Unseen["program"], rep.Figures["unseen.channel"])
	}
}
