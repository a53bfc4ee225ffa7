package web

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/monitor"
	"github.com/caresignal/caresignal/synth"
)

func fptr(x float64) *float64 { return &x }
func iptr(n int) *int         { return &n }

// evaluationReport is a report of the test model with two resolved months
// in the hypertension program, its drift section clean. With drifting,
// hypertension's drop-offs run far above their range and the follow-up's
// calibration slope is 0.59; without outcomes, no month is resolved and
// there is no outcome metric.
func evaluationReport(version string, state monitor.State) *monitor.Report {
	may, jun := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	row := func(at time.Time, group string, realised int, expected float64, flag bool) monitor.ExpectedMonth {
		return monitor.ExpectedMonth{AsOf: at, Month: 1, Group: group, AtRisk: 800, Resolved: 800, Expected: expected, ExpectedResolved: expected,
			Realised: iptr(realised), Lower: iptr(int(expected) - 8), Upper: iptr(int(expected) + 9), PValue: fptr(0.4), Level: 0.95, Flag: flag}
	}
	r := &monitor.Report{Model: "engagement", Version: version, GeneratedAt: jun.AddDate(0, 1, 0), Flags: []string{}, Figures: map[string]float64{},
		Parity: &monitor.ParityReport{Checked: 500, Matched: 500},
		Expected: []monitor.ExpectedMonth{
			row(may, "all", 80, 82.5, false), row(may, "program=hypertension", 20, 19.6, false),
			row(jun, "all", 85, 81.0, false), row(jun, "program=hypertension", 18, 19.9, false),
		},
		Outcomes: &monitor.OutcomeSection{AsOf: may, Metrics: eval.SurvivalMetrics{N: 800, Events: 90, CalibrationSlope: fptr(0.96),
			CI: map[string][2]float64{"calibration_slope": {0.84, 1.1}}}},
		NextMonth: &eval.SurvivalMetrics{N: 1600, Events: 165, CalibrationSlope: fptr(1.02)},
		Drift:     &eval.DriftReport{Features: []eval.FeatureDrift{{Name: "age", Type: eval.TypeNumeric, Status: eval.DriftOK, PSI: fptr(0.02)}}},
	}
	switch state {
	case monitor.Failed:
		// 28 and 31 against 19.6 and 19.9: (28+31)/(19.6+19.9) = 1.494,
		// 49% above, since May.
		r.Expected[1].Realised, r.Expected[1].Flag = iptr(28), true
		r.Expected[3].Realised, r.Expected[3].Flag = iptr(31), true
		r.Outcomes.Metrics.CalibrationSlope = fptr(0.59)
		r.Outcomes.Metrics.CI = map[string][2]float64{"calibration_slope": {0.49, 0.69}}
	case monitor.Unmeasured:
		r.Outcomes, r.NextMonth = nil, nil
		for i := range r.Expected {
			e := &r.Expected[i]
			e.Realised, e.Lower, e.Upper, e.PValue, e.Resolved, e.ExpectedResolved, e.Pending = nil, nil, nil, nil, 0, 0, e.AtRisk
		}
	}
	// The figures, as BuildReport copies them from the sections.
	if r.Outcomes != nil {
		r.Figures["calibration.slope"] = *r.Outcomes.Metrics.CalibrationSlope
	}
	if r.NextMonth != nil {
		r.Figures["next_month.calibration.slope"] = *r.NextMonth.CalibrationSlope
	}
	return r
}

// saveReport stores a report as caresignal evaluate report does: its
// figures, the flags of its checks, its JSON and its HTML.
func saveReport(t *testing.T, s caresignal.Store, r *monitor.Report) {
	t.Helper()
	dir := t.TempDir()
	if err := r.Save(context.Background(), s, filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")); err != nil {
		t.Fatal(err)
	}
}

func openStore(t *testing.T) caresignal.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// text is a page's text without tags, scripts' worth of whitespace
// folded, entities decoded.
func text(page string) string {
	page = regexp.MustCompile(`(?s)<svg.*?</svg>`).ReplaceAllString(page, " ")
	page = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(page, " ")
	return strings.Join(strings.Fields(html.UnescapeString(page)), " ")
}

// TestMonitoringVerdict: the monitoring page, the report's HTML and the
// what-if page's banner give the same verdict, in its three states.
func TestMonitoringVerdict(t *testing.T) {
	m := testModel(t)
	for _, c := range []struct {
		state           monitor.State
		want, notWanted []string
		banner          bool
	}{
		{monitor.Failed, []string{
			`class="status st-failed"`,
			"Drop-offs have run 49% above what the model expects since May 2026 in the hypertension program: 59 against 40 expected over 2 monthly runs. The model may be out of date. 3 checks failed in all.",
			"After the run scored 2026-05-01 in the hypertension program: 28 drop-offs against 19.6 expected, 43% above; the model's 95% range is 11 to 28",
			"Calibration slope 0.59 over the follow-up",
			"3 checks failed",
		}, []string{"Every check", "status st-passed"}, true},
		{monitor.Unmeasured, []string{
			`class="status st-unmeasured"`, "not yet measurable", "Not yet measurable: no scored month is over yet",
			"Not measured", "accuracy against outcomes: no scoring run has a complete month of follow-up yet",
		}, []string{"Every check", "status st-passed", "checks failed"}, false},
		{monitor.Passed, []string{
			`class="status st-passed"`, "every check measured and passed", "Every check was measured and passed (8 checks).",
		}, []string{"Not measured", "checks failed"}, false},
	} {
		t.Run(string(c.state), func(t *testing.T) {
			store := openStore(t)
			saveReport(t, store, evaluationReport(m.Version, c.state))
			srv := httptest.NewServer(NewHandler(Config{Model: m, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Mode: "dev"}))
			defer srv.Close()
			code, _, page := getBody(t, srv, "/monitoring")
			if code != 200 {
				t.Fatalf("/monitoring: %d", code)
			}
			_, _, report := getBody(t, srv, "/monitoring/report")
			status := regexp.MustCompile(`(?s)<div class="status.*?</div>`).FindString(page)
			for _, want := range c.want {
				if !strings.Contains(page, want) && !strings.Contains(text(page), want) {
					t.Errorf("the monitoring page lacks %q:\n%s", want, text(status))
				}
			}
			for _, not := range c.notWanted {
				if strings.Contains(page, not) || strings.Contains(report, not) {
					t.Errorf("the monitoring page or report says %q", not)
				}
			}
			// The report's page carries the same state and headline.
			head := regexp.MustCompile(`<p class="headline"><b class="badge">[^<]*</b> ([^<]*)</p>`).FindStringSubmatch(page)
			if head == nil || !strings.Contains(report, `class="status st-`+string(c.state)+`"`) || !strings.Contains(report, head[1]) {
				t.Errorf("the report's verdict differs from the page's %q", head)
			}
			// Failed checks are sentences; the ids appear only in the
			// list of ids kept for operators.
			if strings.Contains(status, "expected.2026") {
				t.Errorf("the status lists raw check ids:\n%s", status)
			}
			_, _, index := getBody(t, srv, "/")
			hasBanner := strings.Contains(index, `<div class="checks st-failed" role="status">`) && strings.Contains(index, `href="/monitoring"`) &&
				strings.Contains(text(index), "Drop-offs have run 49% above what the model expects since May 2026")
			if hasBanner != c.banner || c.banner != strings.Contains(index, `class="checks`) {
				t.Errorf("what-if page banner: %v, want %v", hasBanner, c.banner)
			}
		})
	}
}

// TestChecksNotice: nil without a database, without an evaluation and when
// every check passed; the failed checks' headline otherwise.
func TestChecksNotice(t *testing.T) {
	m := testModel(t)
	req := httptest.NewRequest("GET", "/", nil)
	s := newServerForTest(t, Config{Model: m})
	if n := s.checksNotice(req); n != nil {
		t.Errorf("without a database: %+v", n)
	}
	store := openStore(t)
	s = newServerForTest(t, Config{Model: m, Store: store})
	if n := s.checksNotice(req); n != nil {
		t.Errorf("without an evaluation: %+v", n)
	}
	saveReport(t, store, evaluationReport(m.Version, monitor.Passed))
	s = newServerForTest(t, Config{Model: m, Store: store})
	if n := s.checksNotice(req); n != nil {
		t.Errorf("every check passed: %+v", n)
	}
	saveReport(t, store, evaluationReport(m.Version, monitor.Failed))
	s = newServerForTest(t, Config{Model: m, Store: store})
	n := s.checksNotice(req)
	if n == nil || n.State != monitor.Failed || n.Failed != 3 || !strings.HasPrefix(n.Headline, "Drop-offs have run 49% above") {
		t.Errorf("failed checks: %+v", n)
	}
}

func newServerForTest(t *testing.T, cfg Config) *server {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Mode = "dev"
	return NewHandler(cfg).s
}

// TestWhatIfDefaults: the form starts from values a patient can have: the
// commonest level of each category and whole numbers for counts, checked
// against the training extract itself; each numeric input shows its
// training range.
func TestWhatIfDefaults(t *testing.T) {
	srv, _ := testServer(t)
	m := testModel(t)
	_, _, page := getBody(t, srv, "/")
	cohort, err := synth.Generate(synth.Sized(2000, 9), nil)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := cohort.Training()
	value := func(name string) string {
		if mm := regexp.MustCompile(`id="f-` + name + `" name="` + name + `" type="number" step="any" value="([^"]*)"`).FindStringSubmatch(page); mm != nil {
			return mm[1]
		}
		sel := regexp.MustCompile(`(?s)<select id="f-` + name + `".*?</select>`).FindString(page)
		if mm := regexp.MustCompile(`<option selected>([^<]*)</option>`).FindStringSubmatch(sel); mm != nil {
			return mm[1]
		}
		t.Fatalf("no input %s on the page", name)
		return ""
	}
	for _, f := range m.Features.Features {
		col := x.Column(f.Name)
		got := value(f.Name)
		if f.Type == "categorical" {
			counts := map[string]int{}
			for _, r := range x.Rows {
				counts[r.Values[col].String()]++
			}
			best := ""
			for l, n := range counts {
				if best == "" || n > counts[best] {
					best = l
				}
			}
			// The fit's rows are four fifths of the extract's: the
			// commonest level agrees unless two levels nearly tie.
			if got != best && float64(counts[got]) < 0.95*float64(counts[best]) {
				t.Errorf("%s defaults to %q (%d rows), the commonest level is %q (%d)", f.Name, got, counts[got], best, counts[best])
			}
			continue
		}
		var vals []float64
		whole := true
		for _, r := range x.Rows {
			if v := r.Values[col]; !v.Missing() {
				vals = append(vals, v.Num)
				whole = whole && v.Num == math.Trunc(v.Num)
			}
		}
		slices.Sort(vals)
		median := vals[len(vals)/2]
		d, err := strconv.ParseFloat(got, 64)
		if err != nil {
			t.Fatalf("%s defaults to %q", f.Name, got)
		}
		if whole && d != math.Trunc(d) {
			t.Errorf("%s takes whole values but defaults to %s", f.Name, got)
		}
		if math.Abs(d-median) > 1+0.05*math.Abs(median) {
			t.Errorf("%s defaults to %s, the extract's median is %g", f.Name, got, median)
		}
		if lo, hi, ok := m.TrainingRange(f.Name); !ok || lo < vals[0] || hi > vals[len(vals)-1] || !strings.Contains(page, "Training range ") {
			t.Errorf("%s: training range %g to %g (%v), the extract's %g to %g", f.Name, lo, hi, ok, vals[0], vals[len(vals)-1])
		}
	}
	if v := value("prior_no_shows"); v != "1" {
		t.Errorf("prior_no_shows defaults to %s", v)
	}
}

// TestWhatIfOutsideTrainingRange: a value beyond the training range is
// scored, with a warning beside the input and above the result; values
// within it warn of nothing. A horizon of one month reads "1 month".
func TestWhatIfOutsideTrainingRange(t *testing.T) {
	srv, _ := testServer(t)
	m := testModel(t)
	_, hi, ok := m.TrainingRange("age")
	if !ok || hi >= 120 {
		t.Fatalf("age's training range ends at %g (%v)", hi, ok)
	}
	postForm := func(f url.Values) (int, string) {
		resp, err := http.PostForm(srv.URL+"/", f)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	f := whatIfForm()
	f.Set("age", "119")
	code, page := postForm(f)
	if code != 200 || !strings.Contains(page, `aria-describedby="w-age"`) || !strings.Contains(page, `<div class="inputwarn" id="w-age">Outside the training range (`) ||
		!strings.Contains(text(page), "Outside the training range: age = 119 (training range ") || !strings.Contains(page, "<svg") {
		t.Errorf("age 119: %d\n%s", code, text(page))
	}
	f = whatIfForm()
	f.Set("horizon", "1")
	code, page = postForm(f)
	if code != 200 || strings.Contains(page, "inputwarn") || strings.Contains(page, "Outside the training range") {
		t.Errorf("values within the range warn: %d", code)
	}
	if !strings.Contains(page, "over the next 1 month<") || regexp.MustCompile(`\b1 months\b`).MatchString(text(page)) {
		t.Errorf("a one-month horizon reads: %q", regexp.MustCompile(`[^.]*\b1 months?\b[^.]*`).FindAllString(text(page), -1))
	}
}

// TestModelCard: the model page says which version serves, trained when
// and on what, its held-out and live metrics, and its limits in words,
// beside the ratios it showed before.
func TestModelCard(t *testing.T) {
	m := testModel(t)
	store := openStore(t)
	srv := httptest.NewServer(NewHandler(Config{Model: m, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Mode: "dev"}))
	defer srv.Close()
	_, _, page := getBody(t, srv, "/model")
	body := text(page)
	tr := m.Training
	for _, want := range []string{
		"Serving: version " + m.Version + " answers every request.",
		"Trained 2026-11-28 00:00 UTC",
		countInt(tr.Rows) + " person-period rows (one per patient and month at risk) of " + countInt(tr.Patients) + " patients, with " + countInt(tr.Events) + " drop-offs",
		"20% of the patients were held out",
		"held-out patients' rows " + countInt(tr.Test.Rows) + " " + countInt(tr.Test.Events) + " " + strconv.FormatFloat(*tr.Test.AUC, 'f', 3, 64),
		"No evaluation report yet",
		"Known limits",
		"The fit is penalised (l2)",
		"Months after the next hold the time-varying inputs (sessions_last_month, days_since_last_session, messages_last_month) at today's values",
		"odds ratios, per unit of each input", // the ratios, as before
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the model page lacks %q", want)
		}
	}
	saveReport(t, store, evaluationReport(m.Version, monitor.Failed))
	_, _, page = getBody(t, srv, "/model")
	body = text(page)
	for _, want := range []string{"checks failed", "Drop-offs have run 49% above", "calibration slope over the follow-up (1 is ideal) 0.590", "calibration slope of the worklist's month (1 is ideal) 1.020"} {
		if !strings.Contains(body, want) {
			t.Errorf("with an evaluation, the model page lacks %q", want)
		}
	}
	// An evaluation of another version is not this one's.
	saveReport(t, store, evaluationReport("0123456789ab", monitor.Passed))
	if _, _, page := getBody(t, srv, "/model"); !strings.Contains(text(page), "The latest evaluation is of version 0123456789ab, not this one") {
		t.Errorf("another version's evaluation shown as this one's")
	}
	var ev caresignal.Evaluation
	if _, _, js := getBody(t, srv, "/api/monitoring"); json.Unmarshal([]byte(js), &ev) != nil || ev.Version != "0123456789ab" {
		t.Errorf("the latest evaluation is %q", ev.Version)
	}
}

// TestOlderReportJudgedAgain: a report stored by an older build, whose page
// said "Every check passed" beside a calibration slope of 0.59, is shown
// with this build's verdict on both the monitoring page and the report's.
func TestOlderReportJudgedAgain(t *testing.T) {
	m := testModel(t)
	store := openStore(t)
	rep := evaluationReport(m.Version, monitor.Passed)
	rep.Outcomes.Metrics.CalibrationSlope = fptr(0.59)
	rep.Outcomes.Metrics.CI = nil
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SaveEvaluation(context.Background(), caresignal.Evaluation{Model: rep.Model, Version: rep.Version, Figures: map[string]float64{},
		Flags: []string{}, Report: js, HTML: "<!doctype html><title>r</title><div class=good><b>Every check passed.</b></div>"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(Config{Model: m, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Mode: "dev"}))
	defer srv.Close()
	_, _, page := getBody(t, srv, "/monitoring")
	_, h, report := getBody(t, srv, "/monitoring/report")
	for what, p := range map[string]string{"page": page, "report": report} {
		if strings.Contains(p, "Every check passed") || !strings.Contains(p, `class="status st-failed"`) || !strings.Contains(text(p), "Calibration slope 0.59 over the follow-up") {
			t.Errorf("the %s of an older report:\n%s", what, text(p))
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("report policy %q", h.Get("Content-Security-Policy"))
	}
}
