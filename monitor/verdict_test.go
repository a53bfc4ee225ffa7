package monitor

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal/eval"
)

func ptr[T any](v T) *T { return &v }

// measuredReport is a report in which every check was measured and passed:
// parity clean, two resolved months inside their intervals, both
// calibration slopes near 1, and no input drifting.
func measuredReport() *Report {
	may, jun := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	row := func(at time.Time, group string, realised int, expected float64, lo, hi int) ExpectedMonth {
		return ExpectedMonth{AsOf: at, Month: 1, Group: group, AtRisk: 900, Resolved: 900, Expected: expected, ExpectedResolved: expected,
			Realised: ptr(realised), Lower: ptr(lo), Upper: ptr(hi), PValue: ptr(0.5), Level: 0.95}
	}
	return &Report{
		Parity: &ParityReport{Checked: 1200, Matched: 1200},
		Expected: []ExpectedMonth{
			row(may, "all", 20, 20.4, 12, 29), row(may, "program=hypertension", 6, 5.2, 2, 10),
			row(jun, "all", 22, 20.1, 12, 29), row(jun, "program=hypertension", 5, 5.1, 2, 10),
		},
		Outcomes: &OutcomeSection{AsOf: may, Metrics: eval.SurvivalMetrics{N: 900, Events: 120, CalibrationSlope: ptr(0.97),
			CI: map[string][2]float64{"calibration_slope": {0.85, 1.1}}}},
		NextMonth: &eval.SurvivalMetrics{N: 1800, Events: 42, CalibrationSlope: ptr(1.04)},
		Drift: &eval.DriftReport{Features: []eval.FeatureDrift{
			{Name: "age", Type: eval.TypeNumeric, Status: eval.DriftOK, PSI: ptr(0.01)},
			{Name: "program", Type: eval.TypeCategorical, Status: eval.DriftOK, PSI: ptr(0.02)},
		}},
	}
}

func TestAssessPassed(t *testing.T) {
	r := measuredReport()
	v := Assess(r)
	if v.State != Passed || len(v.Findings) != 0 || len(v.Unmeasured) != 0 || !strings.Contains(v.Headline, "Every check was measured and passed") {
		t.Errorf("a clean report: %+v", v)
	}
	// parity, four expected rows, two slopes, two inputs
	if v.Measured != 9 {
		t.Errorf("measured %d checks, want 9", v.Measured)
	}
	if f := flags(r.checks()); len(f) != 0 {
		t.Errorf("flags of a clean report: %q", f)
	}
}

// TestAssessNotMeasurable: before any scored month is over nothing about
// outcomes is known: grey, never green, even though nothing failed.
func TestAssessNotMeasurable(t *testing.T) {
	r := measuredReport()
	r.Outcomes, r.NextMonth = nil, nil
	for i := range r.Expected {
		e := &r.Expected[i]
		e.Realised, e.Lower, e.Upper, e.PValue, e.Resolved, e.ExpectedResolved, e.Pending = nil, nil, nil, nil, 0, 0, e.AtRisk
	}
	v := Assess(r)
	if v.State != Unmeasured || !strings.HasPrefix(v.Headline, "Not yet measurable") || len(v.Findings) != 0 {
		t.Errorf("no outcomes: %+v", v)
	}
	if len(v.Unmeasured) != 3 || !strings.Contains(strings.Join(v.Unmeasured, "|"), "no scored month is over yet") {
		t.Errorf("unmeasured: %q", v.Unmeasured)
	}
	// Outcomes measured, but the model keeps no reference: still not
	// green, and it says what is missing.
	r = measuredReport()
	r.Drift = nil
	if v := Assess(r); v.State != Unmeasured || !strings.Contains(v.Headline, "no training reference") {
		t.Errorf("no drift section: %+v", v)
	}
}

// TestAssessSlope: a follow-up calibration slope of 0.59 with an interval
// away from 1 fails (red), in words with its size; one outside the band
// whose interval holds 1 does not; one inside the band never does.
func TestAssessSlope(t *testing.T) {
	for _, c := range []struct {
		slope  float64
		ci     *[2]float64
		failed bool
	}{
		{0.59, &[2]float64{0.49, 0.69}, true},
		{0.59, nil, true},
		{0.59, &[2]float64{0.3, 1.2}, false},
		{1.4, &[2]float64{1.3, 1.5}, true},
		{0.85, &[2]float64{0.81, 0.9}, false},
		{SlopeLow, nil, false},
	} {
		r := measuredReport()
		r.Outcomes.Metrics.CalibrationSlope = ptr(c.slope)
		r.Outcomes.Metrics.CI = nil
		if c.ci != nil {
			r.Outcomes.Metrics.CI = map[string][2]float64{"calibration_slope": *c.ci}
		}
		v := Assess(r)
		if got := v.State == Failed; got != c.failed {
			t.Errorf("slope %g interval %v: state %s", c.slope, c.ci, v.State)
			continue
		}
		if !c.failed {
			continue
		}
		if len(v.Findings) != 1 || v.Findings[0].Check != "calibration.slope" || !strings.Contains(v.Findings[0].Text, fmt.Sprintf("Calibration slope %.2f over the follow-up", c.slope)) {
			t.Errorf("slope %g: findings %+v", c.slope, v.Findings)
		}
		want := "spread more widely than the outcomes"
		if c.slope > 1 {
			want = "too timid"
		}
		if !strings.Contains(v.Headline, want) || !strings.Contains(v.Headline, "calibration slope") {
			t.Errorf("slope %g: headline %q", c.slope, v.Headline)
		}
	}
}

// TestAssessExpected: drop-offs running above the model's range in one
// group since May give a red verdict whose headline names the direction,
// the size (from the first flagged run to the latest), the month and the
// group, and each failed row in words, not by id.
func TestAssessExpected(t *testing.T) {
	r := measuredReport()
	// hypertension: 12 and 14 against 5.2 and 5.1 expected, both flagged.
	r.Expected[1].Realised, r.Expected[1].Flag = ptr(12), true
	r.Expected[3].Realised, r.Expected[3].Flag = ptr(14), true
	v := Assess(r)
	if v.State != Failed {
		t.Fatalf("state %s", v.State)
	}
	// (12 + 14) / (5.2 + 5.1) = 2.524…: 152% above.
	for _, want := range []string{"Drop-offs have run 152% above what the model expects since May 2026 in the hypertension program", "26 against 10 expected over 2 monthly runs", "out of date", "2 checks failed"} {
		if !strings.Contains(v.Headline, want) {
			t.Errorf("headline %q lacks %q", v.Headline, want)
		}
	}
	if len(v.Findings) != 2 || v.Findings[0].Check != "expected.2026-05-01.program=hypertension" ||
		!strings.HasPrefix(v.Findings[0].Text, "After the run scored 2026-05-01 in the hypertension program: 12 drop-offs against 5.2 expected, 131% above; the model's 95% range is 2 to 10") {
		t.Errorf("findings %+v", v.Findings)
	}
	for _, f := range v.Findings {
		if strings.Contains(f.Text, "expected.") {
			t.Errorf("a finding shows a raw id: %q", f.Text)
		}
	}
	if got := flags(r.checks()); strings.Join(got, " ") != "expected.2026-05-01.program=hypertension expected.2026-06-01.program=hypertension" {
		t.Errorf("flags %q", got)
	}
	// Fewer drop-offs than expected overall reads "below", and the
	// overall row leads over a group.
	r.Expected[2].Realised, r.Expected[2].Flag = ptr(8), true
	if v := Assess(r); !strings.Contains(v.Headline, "Drop-offs have run 60% below what the model expects since June 2026: 8 against 20 expected over 1 monthly run.") {
		t.Errorf("headline %q", v.Headline)
	}
}

// TestAssessDrift: only a moderate drift is amber, with the input's
// direction in words; a breach is red.
func TestAssessDrift(t *testing.T) {
	r := measuredReport()
	r.Drift.Features[0] = eval.FeatureDrift{Name: "age", Type: eval.TypeNumeric, Status: eval.DriftWarn, PSI: ptr(0.12), Bins: []eval.DriftBin{
		{Label: "≤ 40", ReferenceShare: 0.5, LiveShare: 0.3}, {Label: "> 40", ReferenceShare: 0.5, LiveShare: 0.7}}}
	v := Assess(r)
	if v.State != Warning || len(v.Findings) != 1 || v.Findings[0].Check != "drift.warn.age" ||
		v.Findings[0].Text != "Drift in age: live values run higher than in training (30% of live patients in ≤ 40 against 50%) (PSI 0.12, a moderate shift)" {
		t.Errorf("a moderate drift: %+v", v)
	}
	if !strings.HasPrefix(v.Headline, "The patients scored now differ from those the model learned from, most in age; its predictions may be less reliable for them. Drift in age: live values run higher") {
		t.Errorf("headline %q", v.Headline)
	}
	r.Drift.Features[0].Status = eval.DriftBreach
	if v := Assess(r); v.State != Failed || v.Findings[0].Check != "drift.breach.age" {
		t.Errorf("a breach: %+v", v)
	}
}

// TestAssessFlags: a stored evaluation whose report cannot be read still
// shows its failed checks in words.
func TestAssessFlags(t *testing.T) {
	v := AssessFlags([]string{"expected.2026-05-01.program=hypertension", "drift.warn.age"})
	if v.State != Failed || len(v.Findings) != 2 || v.Findings[0].Text != "Drop-offs after the run scored 2026-05-01 in the hypertension program fell outside the range the model expects" {
		t.Errorf("%+v", v)
	}
	if v := AssessFlags([]string{"drift.warn.age"}); v.State != Warning {
		t.Errorf("a warning alone: %s", v.State)
	}
	if v := AssessFlags(nil); v.State != Unmeasured {
		t.Errorf("no flags and no report: %s", v.State)
	}
}

// TestReportHTMLVerdict: the report's page shows the same verdict as the
// monitoring page: grey "not yet measurable" without outcomes, never
// "Every check passed"; green only when every check was measured.
func TestReportHTMLVerdict(t *testing.T) {
	r := measuredReport()
	r.Model, r.Version = "engagement", "v1"
	r.Outcomes, r.NextMonth = nil, nil
	for i := range r.Expected {
		r.Expected[i].Realised = nil
	}
	page := RenderHTML(r)
	checkHTML(t, page)
	if !strings.Contains(page, `class="status st-unmeasured"`) || !strings.Contains(page, "Not yet measurable") || strings.Contains(page, "Every check") || strings.Contains(page, "status st-passed") {
		t.Errorf("without outcomes the report says:\n%s", page[:min(len(page), 3000)])
	}
	r = measuredReport()
	r.Model, r.Version = "engagement", "v1"
	if page := RenderHTML(r); !strings.Contains(page, `class="status st-passed"`) || !strings.Contains(page, "Every check was measured and passed (9 checks)") {
		t.Errorf("a clean report's page lacks the green verdict")
	}
}
