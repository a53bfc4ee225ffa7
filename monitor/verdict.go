package monitor

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caresignal/caresignal/eval"
)

// The calibration slope's tolerance: a slope outside [SlopeLow, SlopeHigh]
// fails its check when its bootstrap interval, if it has one, leaves out 1.
// The band is symmetric on the log scale (0.8 = 1/1.25): predicted log-odds
// a fifth too spread out or a quarter too timid are a material
// miscalibration, while smaller slips are within what a refit would move.
// The demo's follow-up slope of about 0.59, with its interval far from 1,
// fails.
const (
	SlopeLow  = 0.8
	SlopeHigh = 1.25
)

// State is an evaluation report's overall verdict.
type State string

const (
	// Passed (green): every check was measured and passed.
	Passed State = "passed"
	// Unmeasured (grey): nothing failed, but not every check could be
	// measured, most often because no outcome is known yet.
	Unmeasured State = "unmeasured"
	// Warning (amber): only warnings failed (inputs that drift moderately).
	Warning State = "warning"
	// Failed (red): a check failed that says the predictions are off.
	Failed State = "failed"
)

// Finding is one failed check in words.
type Finding struct {
	// Check is the check's id, as in Report.Flags, e.g.
	// "expected.2026-05-01.program=hypertension".
	Check string `json:"check"`
	Text  string `json:"text"`
	// Severe findings make the verdict Failed; the others Warning.
	Severe bool `json:"severe"`
}

// Verdict is what an evaluation report says, for people: a state, a
// plain-language headline with the direction and size of what failed, each
// failed check in words, and what could not be measured.
type Verdict struct {
	State    State     `json:"state"`
	Headline string    `json:"headline"`
	Findings []Finding `json:"findings"`
	// Unmeasured says which checks could not be measured, and why.
	Unmeasured []string `json:"unmeasured"`
	// Measured counts the checks measured, passed or not.
	Measured int `json:"measured"`
}

// Label is the state in a word or two, for a badge.
func (v Verdict) Label() string {
	switch v.State {
	case Passed:
		return "every check measured and passed"
	case Unmeasured:
		return "not yet measurable"
	case Warning:
		return "warning"
	case Failed:
		if len(v.Findings) == 1 {
			return "check failed"
		}
		return "checks failed"
	}
	return string(v.State)
}

// check is one check of a report: whether it could be measured, whether it
// failed, and its text (what failed, or why it was not measured).
type check struct {
	id       string
	measured bool
	failed   bool
	severe   bool
	outcome  bool // needs outcomes (realised drop-offs)
	text     string
}

// checks lists every check of the report from its data, in the order of
// its flags: parity, expected against realised drop-offs, calibration
// slopes, drift. BuildReport derives Flags from them and Assess its
// verdict, so the two cannot disagree.
func (r *Report) checks() []check {
	var cs []check
	// Parity: the served answers are the model's.
	switch p := r.Parity; {
	case p == nil || p.Checked == 0:
		cs = append(cs, check{id: "parity", text: "online against offline: no logged prediction could be rescored"})
	default:
		c := check{id: "parity", measured: true, failed: !p.OK(), severe: true}
		if c.failed {
			c.text = fmt.Sprintf("%s of %s logged predictions differ from the model's own when rescored offline (largest difference %.3g): the served answers are not the model's",
				count(p.Mismatched), count(p.Checked), p.MaxAbsDiff)
		}
		cs = append(cs, c)
	}
	// Expected against realised drop-offs, by run and group.
	realised := 0
	for _, e := range r.Expected {
		if e.Realised == nil {
			continue
		}
		realised++
		c := check{id: fmt.Sprintf("expected.%s.%s", e.AsOf.Format(time.DateOnly), e.Group), measured: true, failed: e.Flag, severe: true, outcome: true}
		if c.failed {
			c.text = expectedText(e)
		}
		cs = append(cs, c)
	}
	if realised == 0 {
		cs = append(cs, check{id: "expected", outcome: true, text: "expected against realised drop-offs: no scored month is over yet"})
	}
	// Calibration slopes: the follow-up's, and the worklist's month.
	if o := r.Outcomes; o != nil && o.Metrics.CalibrationSlope != nil && !math.IsNaN(*o.Metrics.CalibrationSlope) {
		cs = append(cs, slopeCheck("calibration.slope", &o.Metrics, fmt.Sprintf("over the follow-up of the run scored %s (%s patients, %s drop-offs)",
			o.AsOf.Format(time.DateOnly), count(o.Metrics.N), count(o.Metrics.Events))))
	} else {
		cs = append(cs, check{id: "calibration.slope", outcome: true, text: "accuracy against outcomes: no scoring run has a complete month of follow-up yet"})
	}
	if m := r.NextMonth; m != nil && m.CalibrationSlope != nil && !math.IsNaN(*m.CalibrationSlope) {
		cs = append(cs, slopeCheck("next_month.calibration.slope", m, fmt.Sprintf("in the worklist's month (%s patient-runs, %s drop-offs)", count(m.N), count(m.Events))))
	} else {
		cs = append(cs, check{id: "next_month.calibration.slope", outcome: true, text: "the worklist's month: no scored month is over yet"})
	}
	// Drift of inputs and predictions.
	if d := r.Drift; d == nil {
		cs = append(cs, check{id: "drift", text: "drift: the model keeps no training reference to compare with"})
	} else {
		for _, f := range append(slices.Clone(d.Features), derefDrift(d.Prediction)...) {
			c := check{id: "drift." + f.Status + "." + f.Name, measured: f.Status != eval.DriftTooFew}
			switch f.Status {
			case eval.DriftWarn, eval.DriftBreach:
				c.failed, c.severe, c.text = true, f.Status == eval.DriftBreach, driftText(f)
			case eval.DriftTooFew:
				c.id, c.text = "drift."+f.Name, fmt.Sprintf("drift of %s: too few live values to judge", f.Name)
			}
			cs = append(cs, c)
		}
	}
	return cs
}

// flags returns the ids of the failed checks.
func flags(cs []check) []string {
	out := []string{}
	for _, c := range cs {
		if c.failed {
			out = append(out, c.id)
		}
	}
	return out
}

// Assess gives the report's verdict. The monitoring page and the report's
// HTML both show it, so they say the same thing.
func Assess(r *Report) Verdict {
	cs := r.checks()
	v := Verdict{Findings: []Finding{}, Unmeasured: []string{}}
	outcomeMeasured := false
	for _, c := range cs {
		if c.measured {
			v.Measured++
			outcomeMeasured = outcomeMeasured || c.outcome
		} else {
			v.Unmeasured = append(v.Unmeasured, c.text)
		}
		if c.failed {
			v.Findings = append(v.Findings, Finding{Check: c.id, Text: upperFirst(c.text), Severe: c.severe})
		}
	}
	switch {
	case len(v.Findings) > 0:
		v.State = Warning
		if slices.ContainsFunc(v.Findings, func(f Finding) bool { return f.Severe }) {
			v.State = Failed
		}
		v.Headline = r.headline(cs)
		if !outcomeMeasured {
			v.Headline += " Whether the predictions match what happens is not yet measurable: no scored month is over."
		}
	case !outcomeMeasured:
		v.State = Unmeasured
		v.Headline = "Not yet measurable: no scored month is over yet, so the model's predictions cannot be compared with what happened. The checks that could be made passed."
	case len(v.Unmeasured) > 0:
		v.State = Unmeasured
		v.Headline = fmt.Sprintf("No check failed, but not every check could be measured (%s).", strings.Join(v.Unmeasured, "; "))
	default:
		v.State = Passed
		v.Headline = fmt.Sprintf("Every check was measured and passed (%s checks).", count(v.Measured))
	}
	return v
}

// AssessFlags is the verdict of a stored evaluation whose report cannot be
// read: its failed checks' ids put in words, without sizes.
func AssessFlags(ids []string) Verdict {
	v := Verdict{Findings: []Finding{}, Unmeasured: []string{}}
	if len(ids) == 0 {
		v.State = Unmeasured
		v.Headline = "The evaluation's details could not be read, so whether every check was measured is not known; none is recorded as failed."
		v.Unmeasured = append(v.Unmeasured, "the report's details could not be read")
		return v
	}
	v.State = Failed
	for _, id := range ids {
		v.Findings = append(v.Findings, Finding{Check: id, Text: upperFirst(DescribeCheck(id)), Severe: !strings.HasPrefix(id, "drift.warn.")})
	}
	if !slices.ContainsFunc(v.Findings, func(f Finding) bool { return f.Severe }) {
		v.State = Warning
	}
	v.Headline = fmt.Sprintf("%s failed: %s.", plural(len(ids), "check"), DescribeCheck(ids[0]))
	return v
}

// DescribeCheck puts a check's id in words, without its figures.
func DescribeCheck(id string) string {
	switch {
	case id == "parity":
		return "logged predictions differ from the model's own when rescored offline"
	case id == "calibration.slope":
		return "the calibration slope over the follow-up is outside its tolerance"
	case id == "next_month.calibration.slope":
		return "the calibration slope of the worklist's month is outside its tolerance"
	case strings.HasPrefix(id, "expected."):
		date, group, _ := strings.Cut(strings.TrimPrefix(id, "expected."), ".")
		return fmt.Sprintf("drop-offs after the run scored %s%s fell outside the range the model expects", date, groupPhrase(group))
	case strings.HasPrefix(id, "drift."):
		status, name, _ := strings.Cut(strings.TrimPrefix(id, "drift."), ".")
		return fmt.Sprintf("%s differs from the training data (%s)", name, status)
	}
	return id
}

// headline is the plain-language status of a report with failed checks:
// the most telling failure, with its direction and size.
func (r *Report) headline(cs []check) string {
	failed := func(prefix string) bool {
		return slices.ContainsFunc(cs, func(c check) bool { return c.failed && strings.HasPrefix(c.id, prefix) })
	}
	n := 0
	for _, c := range cs {
		if c.failed {
			n++
		}
	}
	var lead string
	switch {
	case failed("parity"):
		lead = fmt.Sprintf("The served predictions differ from the model's own (%s of %s rescored logged predictions): fix this before trusting any score.",
			count(r.Parity.Mismatched), count(r.Parity.Checked))
	case failed("expected."):
		lead = r.expectedHeadline()
	case failed("calibration.slope") || failed("next_month.calibration.slope"):
		m, where := r.NextMonth, "In the worklist's month"
		if failed("calibration.slope") {
			m, where = &r.Outcomes.Metrics, "Over the follow-up of the run scored "+r.Outcomes.AsOf.Format("January 2006")
		}
		lead = fmt.Sprintf("%s, %s (calibration slope %.2f, where 1 is ideal). The model may need recalibrating.", where, slopeMeaning(*m.CalibrationSlope), *m.CalibrationSlope)
	default:
		lead = r.driftHeadline()
	}
	lead = upperFirst(lead)
	if n > 1 {
		lead += fmt.Sprintf(" %s failed in all.", plural(n, "check"))
	}
	return lead
}

// expectedHeadline describes the group whose drop-offs left the model's
// range: all patients when they did, else the group with the most flagged
// months. Counted from its first flagged run to the latest realised one.
func (r *Report) expectedHeadline() string {
	flagged := map[string]int{}
	for _, e := range r.Expected {
		if e.Flag && e.Realised != nil {
			flagged[e.Group]++
		}
	}
	group := "all"
	if flagged[group] == 0 {
		group = ""
		for g, n := range flagged {
			if group == "" || n > flagged[group] || n == flagged[group] && g < group {
				group = g
			}
		}
	}
	var since time.Time
	for _, e := range r.Expected {
		if e.Group == group && e.Flag && e.Realised != nil && (since.IsZero() || e.AsOf.Before(since)) {
			since = e.AsOf
		}
	}
	realised, expected, runs := 0, 0.0, 0
	for _, e := range r.Expected {
		if e.Group == group && e.Realised != nil && !e.AsOf.Before(since) {
			realised += *e.Realised
			expected += e.ExpectedResolved
			runs++
		}
	}
	where := ""
	if group != "all" {
		where = groupPhrase(group)
		if others := len(flagged) - 1; others > 0 {
			where += fmt.Sprintf(" (and %s)", plural(others, "other group"))
		}
	}
	return fmt.Sprintf("Drop-offs have run %s what the model expects since %s%s: %s against %.0f expected over %s. The model may be out of date.",
		sizeWord(float64(realised), expected), since.Format("January 2006"), where, count(realised), expected, plural(runs, "monthly run"))
}

// driftHeadline names the inputs that drifted, the largest shift first.
func (r *Report) driftHeadline() string {
	var drifted []eval.FeatureDrift
	for _, f := range append(slices.Clone(r.Drift.Features), derefDrift(r.Drift.Prediction)...) {
		if f.Status == eval.DriftWarn || f.Status == eval.DriftBreach {
			drifted = append(drifted, f)
		}
	}
	psi := func(f eval.FeatureDrift) float64 {
		if f.PSI == nil {
			return 0
		}
		return *f.PSI
	}
	slices.SortStableFunc(drifted, func(a, b eval.FeatureDrift) int { return cmp.Compare(psi(b), psi(a)) })
	names := make([]string, len(drifted))
	for i, f := range drifted {
		names[i] = f.Name
		if f.Type == eval.TypePrediction {
			names[i] = "the predicted next-month risk"
		}
	}
	return fmt.Sprintf("The patients scored now differ from those the model learned from, most in %s; its predictions may be less reliable for them. %s.",
		strings.Join(names, ", "), upperFirst(driftText(drifted[0])))
}

// sizeWord says how far a count is from its expectation: "43% above".
func sizeWord(got, want float64) string {
	if want <= 0 {
		return "above"
	}
	d := 100 * (got/want - 1)
	switch {
	case math.Round(d) > 0:
		return fmt.Sprintf("%.0f%% above", d)
	case math.Round(d) < 0:
		return fmt.Sprintf("%.0f%% below", -d)
	}
	return "at"
}

// expectedText is one flagged run and group in words.
func expectedText(e ExpectedMonth) string {
	month := ""
	if e.Month > 1 {
		month = fmt.Sprintf(" (month %d)", e.Month)
	}
	return fmt.Sprintf("after the run scored %s%s%s: %s drop-offs against %.1f expected, %s; the model's %.0f%% range is %d to %d",
		e.AsOf.Format(time.DateOnly), month, groupPhrase(e.Group), count(*e.Realised), e.ExpectedResolved,
		sizeWord(float64(*e.Realised), e.ExpectedResolved), 100*e.Level, *e.Lower, *e.Upper)
}

// groupPhrase reads a group label for a sentence: " in the diabetes
// program", " where channel is sms", or "" for all patients.
func groupPhrase(g string) string {
	name, level, ok := strings.Cut(g, "=")
	switch {
	case !ok || g == "all":
		return ""
	case name == "program":
		return " in the " + level + " program"
	}
	return " where " + name + " is " + level
}

// slopeCheck checks a calibration slope against its tolerance.
func slopeCheck(id string, m *eval.SurvivalMetrics, where string) check {
	b := *m.CalibrationSlope
	c := check{id: id, measured: true, severe: true, outcome: true}
	outside := b < SlopeLow || b > SlopeHigh
	iv, hasCI := m.CI["calibration_slope"]
	if outside && (!hasCI || iv[0] > 1 || iv[1] < 1) {
		c.failed = true
		interval := ""
		if hasCI {
			interval = fmt.Sprintf(", interval %.2f to %.2f", iv[0], iv[1])
		}
		c.text = fmt.Sprintf("calibration slope %.2f %s%s (1 is ideal; %.2f to %.2f is tolerated): %s",
			b, where, interval, SlopeLow, SlopeHigh, slopeMeaning(b))
	}
	return c
}

// slopeMeaning says what a calibration slope far from 1 means.
func slopeMeaning(b float64) string {
	if b < 1 {
		return "predicted risks spread more widely than the outcomes do, so high risks are overstated and low ones understated"
	}
	return "predicted risks are too timid: the outcomes spread more widely than predicted"
}

// driftText says how an input's (or the prediction's) live values differ
// from training: the direction, the level or bin that moved most, and the
// population stability index.
func driftText(f eval.FeatureDrift) string {
	name := f.Name
	if f.Type == eval.TypePrediction {
		name = "the predicted next-month risk"
	}
	status := "a moderate shift"
	if f.Status == eval.DriftBreach {
		status = "a major shift"
	}
	psi := ""
	if f.PSI != nil {
		psi = fmt.Sprintf("PSI %.2f, ", *f.PSI)
	}
	var most *eval.DriftBin
	shift := 0.0
	for i := range f.Bins {
		b := &f.Bins[i]
		if b.Label == "missing" {
			continue
		}
		shift += float64(i) * (b.LiveShare - b.ReferenceShare)
		if most == nil || math.Abs(b.LiveShare-b.ReferenceShare) > math.Abs(most.LiveShare-most.ReferenceShare) {
			most = b
		}
	}
	s := "drift in " + name + ": "
	switch {
	case most == nil:
		s += "live values differ from training"
	case f.Type == eval.TypeCategorical:
		s += fmt.Sprintf("%s is %s of live patients against %s in training", most.Label, pct(most.LiveShare), pct(most.ReferenceShare))
	default:
		dir := "higher"
		if shift < 0 {
			dir = "lower"
		}
		s += fmt.Sprintf("live values run %s than in training (%s of live patients in %s against %s)", dir, pct(most.LiveShare), most.Label, pct(most.ReferenceShare))
	}
	if f.OtherLevels > 0 {
		s += fmt.Sprintf("; %s with a level training never saw", plural(f.OtherLevels, "patient"))
	}
	return fmt.Sprintf("%s (%s%s)", s, psi, status)
}

func pct(x float64) string { return strconv.FormatFloat(100*x, 'f', 0, 64) + "%" }

// count writes a whole number with thousands separators: 3,943.
func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// plural writes "1 check" or "3 checks".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return count(n) + " " + noun + "s"
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
