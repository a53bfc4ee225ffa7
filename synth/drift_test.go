package synth

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
)

// cohortHash is a digest of a cohort's source tables and truth rows. Hazards
// enter rounded to six significant digits, so that the last-bit differences
// of floating point between platforms do not change it.
func cohortHash(c *Cohort) string {
	h := sha256.New()
	for _, p := range c.Source.Patients {
		fmt.Fprintf(h, "P|%s|%s|%d|%s|%s|%s|%v|%t|%d|%s\n", p.ID, p.EnrolledOn.Format(time.DateOnly), p.Age, p.Sex, p.Program, p.Channel,
			p.BaselineScore.Float, p.BaselineScore.Valid, p.PriorNoShows, p.EnrolledVia)
	}
	for _, e := range c.Source.Events {
		fmt.Fprintf(h, "E|%s|%s|%s\n", e.PatientID, e.OccurredOn.Format(time.DateOnly), e.Kind)
	}
	for _, d := range c.Source.Disenrolments {
		fmt.Fprintf(h, "D|%s|%s|%s\n", d.PatientID, d.DisenrolledOn.Format(time.DateOnly), d.Reason)
	}
	for _, r := range c.Truth {
		fmt.Fprintf(h, "T|%s|%d|%s|%d|%d|%d|%s\n", r.PatientID, r.Month, r.Status, r.SessionsLastMonth, r.DaysSinceLastSession, r.MessagesLastMonth,
			fmt.Sprintf("%.6g", r.Hazard))
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestNoDriftUnchanged pins the cohorts without drift to the digests they
// had before drift existed: adding the option must not move the random
// stream of existing configurations.
func TestNoDriftUnchanged(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Sized(2000, 7), "142aee9bbcc9fe7699ae6eeb39a0f0c1958f1f45af2c8b2f83f01c7d1b3251c1"},
		{DefaultConfig(), "adf8c23028903a39056f39175943a2283ea5e2e7dfb7943840a1a66ec492c3f9"},
	} {
		if testing.Short() && tc.cfg.Patients > 2000 {
			continue
		}
		c, err := Generate(tc.cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := cohortHash(c); got != tc.want {
			t.Errorf("Sized(%d, %d): digest %s, want %s", tc.cfg.Patients, tc.cfg.Seed, got, tc.want)
		}
	}
}

// TestNoOpDrift checks that a drift which changes nothing gives the cohort
// of no drift: the drift code path draws the same random numbers.
func TestNoOpDrift(t *testing.T) {
	cfg := Sized(1000, 3)
	want, err := Generate(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Drift = &Drift{From: cfg.AsOf.AddDate(0, -12, 0)}
	got, err := Generate(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Source, want.Source) || !reflect.DeepEqual(got.Truth, want.Truth) {
		t.Fatal("a drift with no shift changed the cohort")
	}
}

func TestDriftCopied(t *testing.T) {
	cfg := Sized(50, 1)
	cfg.Drift = DefaultDrift(cfg.AsOf.AddDate(0, -6, 0))
	c, err := Generate(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Drift.HazardShift = 2
	if c.Config.Drift.HazardShift != DefaultDriftHazardShift {
		t.Fatal("the cohort's drift changed with the caller's")
	}
}

// driftFrom is the drift start of the tests: a year before the default
// as-of date, so about a third of the default three-year enrolment falls
// after it.
var driftFrom = DefaultAsOf.AddDate(-1, 0, 0)

// split returns the patients enrolled before and on or after from.
func split(c *Cohort, from time.Time) (before, after []caresignal.Patient) {
	for _, p := range c.Source.Patients {
		if p.EnrolledOn.Before(from) {
			before = append(before, p)
		} else {
			after = append(after, p)
		}
	}
	return before, after
}

// shares returns the share of each value of a categorical field.
func shares(ps []caresignal.Patient, field func(caresignal.Patient) string) map[string]float64 {
	m := map[string]float64{}
	for _, p := range ps {
		m[field(p)] += 1 / float64(len(ps))
	}
	return m
}

// psi is the population stability index of actual against expected shares;
// a level missing on one side counts with a share of 0.0001.
func psi(expected, actual map[string]float64) float64 {
	keys := map[string]bool{}
	for k := range expected {
		keys[k] = true
	}
	for k := range actual {
		keys[k] = true
	}
	s := 0.0
	for k := range keys {
		e, a := max(expected[k], 1e-4), max(actual[k], 1e-4)
		s += (a - e) * math.Log(a/e)
	}
	return s
}

func levelShares(levels []Level) map[string]float64 {
	m := map[string]float64{}
	for _, l := range levels {
		m[l.Name] = l.P
	}
	return m
}

// ks is the two-sample Kolmogorov–Smirnov distance of two integer samples.
func ks(a, b []int) float64 {
	cdf := func(xs []int) map[int]float64 {
		m := map[int]float64{}
		for _, x := range xs {
			m[x]++
		}
		return m
	}
	ca, cb := cdf(a), cdf(b)
	d, fa, fb := 0.0, 0.0, 0.0
	for x := 0; x <= 200; x++ {
		fa += ca[x] / float64(len(a))
		fb += cb[x] / float64(len(b))
		d = max(d, math.Abs(fa-fb))
	}
	return d
}

func TestDriftCovariates(t *testing.T) {
	cfg := Sized(20_000, 3)
	cfg.Drift = DefaultDrift(driftFrom)
	c, err := Generate(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, after := split(c, driftFrom)
	if len(before) < 10_000 || len(after) < 5_000 {
		t.Fatalf("%d patients before the drift and %d after", len(before), len(after))
	}

	program := func(p caresignal.Patient) string { return p.Program }
	channel := func(p caresignal.Patient) string { return p.Channel }
	for _, f := range []struct {
		name  string
		field func(caresignal.Patient) string
	}{{"program", program}, {"channel", channel}} {
		b, a := shares(before, f.field), shares(after, f.field)
		// Before the drift the mix is that of Levels, after it that of
		// DriftLevels, over the same levels.
		if v := psi(levelShares(Levels[f.name]), b); v > 0.01 {
			t.Errorf("%s before the drift: PSI %.3f against Levels", f.name, v)
		}
		if v := psi(levelShares(DriftLevels[f.name]), a); v > 0.01 {
			t.Errorf("%s after the drift: PSI %.3f against DriftLevels", f.name, v)
		}
		for k := range a {
			if _, ok := b[k]; !ok {
				t.Errorf("%s: level %q only after the drift", f.name, k)
			}
		}
		// The shift is large enough for a population stability check.
		if v := psi(b, a); v < 0.15 {
			t.Errorf("%s: PSI %.3f across the drift, want a clear shift", f.name, v)
		}
		t.Logf("%s: PSI %.3f across the drift", f.name, psi(b, a))
	}

	// Older ages and lower baseline scores.
	var ageB, ageA []int
	var scoreB, scoreA []int
	for _, p := range before {
		ageB = append(ageB, p.Age)
		if p.BaselineScore.Valid {
			scoreB = append(scoreB, int(p.BaselineScore.Float*100))
		}
	}
	for _, p := range after {
		ageA = append(ageA, p.Age)
		if p.BaselineScore.Valid {
			scoreA = append(scoreA, int(p.BaselineScore.Float*100))
		}
		if p.Age < 18 || p.Age > 90 || p.BaselineScore.Float < 0 || p.BaselineScore.Float > 1 {
			t.Fatalf("patient out of range: %+v", p)
		}
	}
	mean := func(xs []int) float64 {
		s := 0.0
		for _, x := range xs {
			s += float64(x)
		}
		return s / float64(len(xs))
	}
	if mb, ma := mean(ageB), mean(ageA); math.Abs(mb-54) > 1 || math.Abs(ma-66) > 1 {
		t.Errorf("mean age %.1f before the drift and %.1f after, want 54 and 66", mb, ma)
	}
	if mb, ma := mean(scoreB)/100, mean(scoreA)/100; math.Abs(mb-0.5) > 0.015 || math.Abs(ma-0.4) > 0.015 {
		t.Errorf("mean baseline score %.3f before the drift and %.3f after, want 0.5 and 0.4", mb, ma)
	}
	// Kolmogorov–Smirnov distances of 0.25 and 0.19 in law; the 1%
	// critical value at these sizes is about 0.025.
	if d := ks(ageB, ageA); d < 0.2 {
		t.Errorf("age: KS distance %.3f across the drift", d)
	}
	if d := ks(scoreB, scoreA); d < 0.15 {
		t.Errorf("baseline score: KS distance %.3f across the drift", d)
	}
	// The age PSI over the deciles of the earlier ages is about 0.45 to 0.5.
	var cut []int
	sorted := slices.Clone(ageB)
	slices.Sort(sorted)
	for k := 1; k < 10; k++ {
		cut = append(cut, sorted[k*len(sorted)/10])
	}
	decile := func(ps []int) map[string]float64 {
		m := map[string]float64{}
		for _, x := range ps {
			k := 0
			for k < len(cut) && x >= cut[k] {
				k++
			}
			m[fmt.Sprint(k)] += 1 / float64(len(ps))
		}
		return m
	}
	if v := psi(decile(ageB), decile(ageA)); v < 0.3 || v > 0.6 {
		t.Errorf("age: PSI %.3f across the drift, want about 0.45", v)
	} else {
		t.Logf("age: PSI %.3f, KS %.3f; baseline score: KS %.3f", v, ks(ageB, ageA), ks(scoreB, scoreA))
	}
	for _, p := range c.Source.Patients {
		if p.Program == UnseenProgramLevel {
			t.Fatal("the unseen program appeared without the option")
		}
	}
}

func TestDriftUnseenProgram(t *testing.T) {
	for _, covariates := range []bool{false, true} {
		cfg := Sized(10_000, 4)
		cfg.Drift = &Drift{From: driftFrom, Covariates: covariates, UnseenProgram: true}
		c, err := Generate(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		before, after := split(c, driftFrom)
		for _, p := range before {
			if p.Program == UnseenProgramLevel {
				t.Fatalf("%s enrolled %s, before the drift, has the unseen program", p.ID, p.EnrolledOn.Format(time.DateOnly))
			}
		}
		n := 0
		for _, p := range after {
			if p.Program == UnseenProgramLevel {
				n++
			}
		}
		share, sd := float64(n)/float64(len(after)), math.Sqrt(UnseenProgramShare*(1-UnseenProgramShare)/float64(len(after)))
		if math.Abs(share-UnseenProgramShare) > 4*sd {
			t.Errorf("covariates %t: unseen program share %.3f after the drift, want %.2f ± %.3f", covariates, share, UnseenProgramShare, 4*sd)
		}
		// The other programs keep their relative mix.
		levels := Levels["program"]
		if covariates {
			levels = DriftLevels["program"]
		}
		rest := shares(after, func(p caresignal.Patient) string { return p.Program })
		delete(rest, UnseenProgramLevel)
		for k := range rest {
			rest[k] /= 1 - share
		}
		if v := psi(levelShares(levels), rest); v > 0.01 {
			t.Errorf("covariates %t: PSI %.3f of the other programs against their levels", covariates, v)
		}
	}
}

// trueEta recomputes a row's log-odds without drift from the truth's
// definition.
func trueEta(p caresignal.Patient, r TruthRow) float64 {
	score := p.BaselineScore.Float // the true score, recorded or not
	eta := TrueAlpha(r.Month) +
		TrueCoef["age"]*float64(p.Age) +
		TrueCoef["baseline_score"]*score +
		TrueCoef["prior_no_shows"]*float64(p.PriorNoShows) +
		TrueCoef["sex="+p.Sex] + TrueCoef["program="+p.Program] +
		TrueCoef["channel="+p.Channel] + TrueCoef["enrolled_via="+p.EnrolledVia] +
		TrueCoef["sessions_last_month"]*float64(r.SessionsLastMonth) +
		TrueCoef["days_since_last_session"]*float64(r.DaysSinceLastSession) +
		TrueCoef["messages_last_month"]*float64(r.MessagesLastMonth)
	if p.Program == UnseenProgramLevel {
		eta += UnseenProgramCoef
	}
	return eta
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// TestDriftHazard checks the concept shift: each truth row's hazard is the
// truth's with the shift added to the log-odds exactly when its month starts
// on or after the drift, and the drop-offs observed over the months after
// the drift match those shifted hazards and exceed the unshifted ones.
func TestDriftHazard(t *testing.T) {
	cfg := Sized(40_000, 5)
	cfg.Drift = DefaultDrift(driftFrom)
	cfg.Drift.UnseenProgram = true
	c, err := Generate(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	type tally struct{ rows, events, hazard, unshifted, variance float64 }
	var pre, post tally
	shiftedEnrolledBefore := 0
	for _, r := range c.Truth {
		p := c.Source.Patients[r.patient]
		monthStart := p.EnrolledOn.AddDate(0, 0, 30*(r.Month-1))
		eta := trueEta(p, r)
		want, tl := logistic(eta), &pre
		if !monthStart.Before(driftFrom) {
			want, tl = logistic(eta+cfg.Drift.HazardShift), &post
			if p.EnrolledOn.Before(driftFrom) {
				shiftedEnrolledBefore++
			}
		}
		if math.Abs(r.Hazard-want) > 1e-12 {
			t.Fatalf("%s month %d starting %s: hazard %v, want %v", r.PatientID, r.Month, monthStart.Format(time.DateOnly), r.Hazard, want)
		}
		// Only months followed to their end have a known outcome; which
		// they are depends on the enrolment date alone, not the outcome.
		switch r.Status {
		case caresignal.StatusEvent, caresignal.StatusSurvived, caresignal.StatusCensored:
		default:
			continue
		}
		tl.rows++
		if r.Status == caresignal.StatusEvent {
			tl.events++
		}
		tl.hazard += r.Hazard
		tl.variance += r.Hazard * (1 - r.Hazard)
		tl.unshifted += logistic(eta)
	}
	if shiftedEnrolledBefore == 0 {
		t.Fatal("no month of a patient enrolled before the drift was shifted")
	}
	for _, x := range []struct {
		name  string
		tally tally
		shift bool
	}{{"before", pre, false}, {"after", post, true}} {
		tl, sd := x.tally, math.Sqrt(x.tally.variance)
		if tl.rows < 50_000 {
			t.Fatalf("only %.0f person-months %s the drift", tl.rows, x.name)
		}
		t.Logf("%s the drift: %.0f person-months, %.0f drop-offs, true hazard sum %.0f ± %.0f, unshifted %.0f",
			x.name, tl.rows, tl.events, tl.hazard, sd, tl.unshifted)
		if math.Abs(tl.events-tl.hazard) > 4*sd {
			t.Errorf("%s the drift: %.0f drop-offs, want %.0f ± %.0f", x.name, tl.events, tl.hazard, 4*sd)
		}
		if x.shift && tl.events-tl.unshifted < 10*sd {
			t.Errorf("%s the drift: %.0f drop-offs, barely above the %.0f the unshifted hazard expects", x.name, tl.events, tl.unshifted)
		}
	}
}

func TestDriftValidate(t *testing.T) {
	asOf := DefaultAsOf
	first := asOf.AddDate(0, 0, -36*30) // the earliest enrolment date of DefaultConfig
	for _, tc := range []struct {
		drift Drift
		field string // "" when valid
	}{
		{Drift{From: first.AddDate(0, 0, 1), HazardShift: 0.4}, ""},
		{Drift{From: asOf.AddDate(0, 0, -1), HazardShift: -3, Covariates: true}, ""},
		{Drift{From: driftFrom, HazardShift: 3, UnseenProgram: true}, ""},
		{Drift{From: driftFrom.In(time.FixedZone("CET", 3600))}, ""}, // the same instant
		{Drift{}, "drift-from"},
		{Drift{From: driftFrom.Add(time.Hour)}, "drift-from"},
		{Drift{From: time.Date(2025, 11, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600))}, "drift-from"},
		{Drift{From: first}, "drift-from"},
		{Drift{From: first.AddDate(-1, 0, 0)}, "drift-from"},
		{Drift{From: asOf}, "drift-from"},
		{Drift{From: asOf.AddDate(1, 0, 0)}, "drift-from"},
		{Drift{From: driftFrom, HazardShift: math.NaN()}, "drift-hazard-shift"},
		{Drift{From: driftFrom, HazardShift: math.Inf(1)}, "drift-hazard-shift"},
		{Drift{From: driftFrom, HazardShift: math.Inf(-1)}, "drift-hazard-shift"},
		{Drift{From: driftFrom, HazardShift: 3.01}, "drift-hazard-shift"},
		{Drift{From: driftFrom, HazardShift: -4}, "drift-hazard-shift"},
	} {
		cfg := Sized(10, 1)
		d := tc.drift
		cfg.Drift = &d
		err := cfg.Validate()
		var e *caresignal.Error
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc.drift, err)
		case tc.field == "":
		case !errors.As(err, &e) || e.Code != caresignal.EINVALID || e.Field != tc.field:
			t.Errorf("%+v: error %v, want EINVALID on %s", tc.drift, err, tc.field)
		}
	}
	// The default drift at a date within the enrolment span is valid.
	cfg := DefaultConfig()
	cfg.Drift = DefaultDrift(driftFrom)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}
