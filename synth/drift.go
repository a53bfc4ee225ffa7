package synth

import (
	"math"
	"time"

	"github.com/caresignal/caresignal"
)

// Drift is an optional change of the world from a calendar date on, for
// showing monitoring catch it. Set Config.Drift to a *Drift to enable it;
// start from DefaultDrift.
//
// Two kinds of change can be switched on separately:
//
//   - A covariate shift (Covariates): patients enrolled on or after From are
//     drawn from another population — the program and channel mix of
//     DriftLevels, older ages and lower baseline scores — while the true
//     hazard given the features stays the same.
//   - A concept shift (HazardShift): every person-month that starts on or
//     after From, whenever its patient enrolled, has its true log-odds of
//     drop-off raised by HazardShift, so a model fitted on earlier data
//     under-predicts drop-off.
//
// UnseenProgram further gives a share of the patients enrolled on or after
// From a program level (UnseenProgramLevel) that no earlier patient has. A
// Drift with a zero HazardShift and neither option set changes nothing.
type Drift struct {
	From          time.Time // the first calendar date of the drift (midnight UTC)
	HazardShift   float64   // added to the true log-odds of each person-month starting on or after From; |shift| ≤ MaxHazardShift
	Covariates    bool      // draw patients enrolled on or after From from the drifted population
	UnseenProgram bool      // give UnseenProgramShare of patients enrolled on or after From the program UnseenProgramLevel
}

// MaxHazardShift bounds |Drift.HazardShift|: a log-odds shift of 3 already
// multiplies the odds of drop-off by 20.
const MaxHazardShift = 3.0

// DefaultDriftHazardShift is the concept shift of DefaultDrift: log-odds
// +0.4, odds ×1.49, which turns a monthly hazard of 10% into about 14%.
const DefaultDriftHazardShift = 0.4

// The program level that only patients enrolled under a drift with
// UnseenProgram set can have, the share of those patients that have it, and
// its true effect on the log-odds of drop-off against the reference program
// (it is not in TrueCoef, which holds the effects a model can learn from
// data without drift).
const (
	UnseenProgramLevel = "cardiac"
	UnseenProgramShare = 0.10
	UnseenProgramCoef  = 0.30
)

// DriftLevels are the category shares of patients enrolled on or after
// Drift.From when Drift.Covariates is set, for the categories whose mix
// drifts; the levels and their order are those of Levels. The story is a new
// referral partner serving an older, sicker population: more hypertension
// and COPD and less weight management, and more phone and fewer app
// patients. Against Levels, the population stability index is about 0.24
// for channel and 0.20 for program.
var DriftLevels = map[string][]Level{
	"program": {{"diabetes", 0.25}, {"hypertension", 0.35}, {"weight", 0.10}, {"copd", 0.20}, {"behavioral", 0.10}},
	"channel": {{"app", 0.30}, {"sms", 0.30}, {"phone", 0.40}},
}

// DefaultDrift is the drift of the demo from the given date on: the
// covariate shift, a concept shift of DefaultDriftHazardShift and no unseen
// program.
//
// Under the covariate shift, ages are the older of two uniform draws over
// 18..90 (mean 66 rather than 54; Kolmogorov–Smirnov distance 0.25,
// population stability index about 0.45 to 0.5 over deciles) and baseline scores
// follow Beta(2, 3) rather than Beta(2, 2) (mean 0.4 rather than 0.5;
// Kolmogorov–Smirnov distance 0.19), on top of the category mix of
// DriftLevels. Lower baseline scores also mean less engagement, and so
// fewer sessions and messages.
func DefaultDrift(from time.Time) *Drift {
	return &Drift{From: from, HazardShift: DefaultDriftHazardShift, Covariates: true}
}

// validate reports the first setting of d that is out of range for cfg.
// Enrolment dates run from cfg.AsOf minus EnrolmentMonths·30 days to the day
// before cfg.AsOf; From must fall after the first of them, so that some
// patients enrolled before the drift, and on or before the last, so that
// some may enrol after it.
func (d *Drift) validate(cfg Config) error {
	first := cfg.AsOf.AddDate(0, 0, -cfg.EnrolmentMonths*30)
	last := cfg.AsOf.AddDate(0, 0, -1)
	switch {
	case d.From.IsZero():
		return caresignal.Invalidf("drift-from", "the drift start date is not set")
	case !d.From.Equal(d.From.Truncate(24 * time.Hour)):
		return caresignal.Invalidf("drift-from", "the drift start must be a calendar date (midnight UTC), got %s", d.From.Format(time.RFC3339))
	case !d.From.After(first) || d.From.After(last):
		return caresignal.Invalidf("drift-from", "the drift start must be after %s and no later than %s (the enrolment span), got %s",
			first.Format(time.DateOnly), last.Format(time.DateOnly), d.From.Format(time.DateOnly))
	case math.IsNaN(d.HazardShift) || math.Abs(d.HazardShift) > MaxHazardShift:
		return caresignal.Invalidf("drift-hazard-shift", "the drift hazard shift must be a log-odds between %g and %g, got %g", -MaxHazardShift, MaxHazardShift, d.HazardShift)
	}
	return nil
}

// population reports whether a patient enrolled on the given date is drawn
// from the drifted population, and whether they may have the unseen program.
func (d *Drift) population(enrolled time.Time) (shifted, unseen bool) {
	if d == nil || enrolled.Before(d.From) {
		return false, false
	}
	return d.Covariates, d.UnseenProgram
}

// concept returns, for a patient enrolled on the given date, the first day
// of enrolment on or after From (so months starting on or after it are
// shifted) and the log-odds shift; without a concept shift, math.MaxInt and
// 0.
func (d *Drift) concept(enrolled time.Time) (from int, shift float64) {
	if d == nil || d.HazardShift == 0 {
		return math.MaxInt, 0
	}
	const day = 24 * time.Hour
	diff := d.From.Sub(enrolled)
	from = int(diff / day)
	if diff > time.Duration(from)*day { // round up to a whole day
		from++
	}
	return from, d.HazardShift
}
