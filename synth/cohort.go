// Package synth generates a deterministic synthetic care-program cohort whose
// drop-off follows a known discrete-time hazard (see TrueBaseline and
// TrueCoef), shaped like a real program's source tables: patients, engagement
// events and disenrolments. Because the true hazard is known, the whole
// pipeline — ELT, features, fit, scores — can be checked against it.
//
// Time is counted in 30-day months from each patient's enrolment date: month
// t covers days [30(t−1), 30t) after enrolment, and the onboarding window is
// the 30 days before it. Censoring is of two kinds: administrative (the data
// end the day before AsOf, and patients enrolled at different dates have
// been followed for different lengths) and random (a monthly chance of a
// transfer to another program, recorded as a disenrolment that is not a
// drop-off). Within a month, drop-off is drawn first and a transfer only for
// those who did not drop off, so a transfer month counts as survived: the
// usual discrete-time convention of censoring at the end of the interval.
//
// # Drift
//
// By default the world is the same throughout. Config.Drift (see Drift and
// DefaultDrift) changes it from a calendar date From on, so that a model
// trained at a date before From and scored at it can be evaluated over the
// follow-up window from that date to AsOf, where the data already run
// because every patient is simulated until AsOf. Patients enrolled on or
// after From can be drawn from another population (a covariate shift: the
// mix of DriftLevels, older ages, lower baseline scores, and optionally a
// program level no earlier patient has), and every person-month starting on
// or after From, whoever it belongs to, can have its true log-odds of
// drop-off raised by Drift.HazardShift (a concept shift). TruthRow.Hazard is
// always the hazard the month was drawn with, shift included. Without a
// drift the generator draws exactly the random numbers it always has, so
// the cohorts of earlier configurations are unchanged.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/caresignal/caresignal"
)

// Config sizes and seeds a cohort. Start from DefaultConfig or Sized.
type Config struct {
	Patients        int       // number of patients, 1..MaxPatients
	Seed            uint64    // the same config always gives the same cohort
	AsOf            time.Time // the first day not in the data
	EnrolmentMonths int       // enrolment dates spread over this many months before AsOf, 1..240
	TransferRate    float64   // monthly probability of a transfer out (random censoring), in [0, 1)
	MissingBaseline float64   // share of patients with no baseline score recorded, in [0, 1)
	Drift           *Drift    // a change of the world from a date on; nil for none
}

// DefaultAsOf is the as-of date of the default cohort.
var DefaultAsOf = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// MaxPatients bounds Config.Patients so that a mistyped size fails fast
// rather than filling the disk.
const MaxPatients = 5_000_000

// DefaultConfig is the demo cohort: 10,000 patients, seed 42, enrolled over
// the three years before 2026-11-01, 2% monthly transfers, 3% without a
// baseline score.
func DefaultConfig() Config {
	return Config{Patients: 10_000, Seed: 42, AsOf: DefaultAsOf, EnrolmentMonths: 36, TransferRate: 0.02, MissingBaseline: 0.03}
}

// Sized is DefaultConfig with another size and seed.
func Sized(patients int, seed uint64) Config {
	c := DefaultConfig()
	c.Patients, c.Seed = patients, seed
	return c
}

// Validate reports the first setting that is out of range.
func (c Config) Validate() error {
	switch {
	case c.Patients < 1 || c.Patients > MaxPatients:
		return caresignal.Invalidf("patients", "patients must be between 1 and %d, got %d", MaxPatients, c.Patients)
	case c.EnrolmentMonths < 1 || c.EnrolmentMonths > 240:
		return caresignal.Invalidf("enrolment-months", "enrolment months must be between 1 and 240, got %d", c.EnrolmentMonths)
	case !(c.TransferRate >= 0 && c.TransferRate < 1):
		return caresignal.Invalidf("transfer-rate", "transfer rate must be at least 0 and below 1, got %g", c.TransferRate)
	case !(c.MissingBaseline >= 0 && c.MissingBaseline < 1):
		return caresignal.Invalidf("missing-baseline", "missing-baseline share must be at least 0 and below 1, got %g", c.MissingBaseline)
	case c.AsOf.IsZero():
		return caresignal.Invalidf("as-of", "the as-of date is not set")
	case c.Drift != nil:
		return c.Drift.validate(c)
	}
	return nil
}

// Cohort is a generated cohort: the source tables and, for checking the ELT,
// the person-period rows the generator itself derived, with the true hazard
// of each.
type Cohort struct {
	Config Config
	Source caresignal.Source
	Truth  []TruthRow
}

// TruthRow is one person-period row as the generator saw it.
type TruthRow struct {
	PatientID            string
	Month                int
	Status               caresignal.Status
	SessionsLastMonth    int
	DaysSinceLastSession int
	MessagesLastMonth    int
	Hazard               float64 // the true hazard of this month
	patient              int     // index into Source.Patients
}

// Generate draws a cohort. The same Config always gives the same cohort.
// progress, if not nil, is told how many patients are done.
func Generate(cfg Config, progress caresignal.Progress) (*Cohort, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Drift != nil {
		d := *cfg.Drift // the cohort keeps its own copy
		cfg.Drift = &d
	}
	g := &generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x63617265 /* "care" */))}
	c := &Cohort{Config: cfg}
	c.Source.Patients = make([]caresignal.Patient, 0, cfg.Patients)
	for i := 0; i < cfg.Patients; i++ {
		g.patient(c, i)
		if progress != nil && (i+1)%1000 == 0 {
			progress(i+1, cfg.Patients)
		}
	}
	if progress != nil {
		progress(cfg.Patients, cfg.Patients)
	}
	return c, nil
}

type generator struct {
	cfg Config
	rng *rand.Rand
}

func (g *generator) category(name string) string {
	return pick(Levels[name], g.rng.Float64())
}

// pick returns the level that u, uniform on [0, 1), falls in.
func pick(levels []Level, u float64) string {
	for _, l := range levels {
		if u < l.P {
			return l.Name
		}
		u -= l.P
	}
	return levels[len(levels)-1].Name
}

// poisson draws a Poisson count by Knuth's multiplication method, which is
// exact and fast for the small rates used here.
func (g *generator) poisson(rate float64) int {
	l, k, p := math.Exp(-rate), 0, 1.0
	for {
		p *= g.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func (g *generator) patient(c *Cohort, idx int) {
	cfg := g.cfg
	// days from enrolment to the as-of date, 1..EnrolmentMonths·30
	d := 1 + g.rng.IntN(cfg.EnrolmentMonths*30)
	enrolled := cfg.AsOf.AddDate(0, 0, -d)
	// Patients enrolled on or after a drift's start may come from its
	// population. Without a drift the draws are those the generator has
	// always made, in the same order, so existing cohorts do not change.
	shifted, unseen := cfg.Drift.population(enrolled)
	programs, channels := Levels["program"], Levels["channel"]
	if shifted {
		programs, channels = DriftLevels["program"], DriftLevels["channel"]
	}
	p := caresignal.Patient{ID: fmt.Sprintf("P%07d", idx+1), EnrolledOn: enrolled}
	p.Age = 18 + g.rng.IntN(73)
	if shifted {
		p.Age = max(p.Age, 18+g.rng.IntN(73)) // the older of two
	}
	p.Sex = g.category("sex")
	switch u := g.rng.Float64(); {
	case unseen && u < UnseenProgramShare:
		p.Program = UnseenProgramLevel
	case unseen:
		p.Program = pick(programs, (u-UnseenProgramShare)/(1-UnseenProgramShare))
	default:
		p.Program = pick(programs, u)
	}
	p.Channel = pick(channels, g.rng.Float64())
	p.PriorNoShows = min(g.poisson(1.2), 10)
	p.EnrolledVia = g.category("enrolled_via")
	// Beta(2,2) is the law of the median of three uniforms; the drifted
	// population's Beta(2,3) is that of the second smallest of four.
	u1, u2, u3 := g.rng.Float64(), g.rng.Float64(), g.rng.Float64()
	median := max(min(u1, u2), min(max(u1, u2), u3))
	if shifted {
		u := []float64{u1, u2, u3, g.rng.Float64()}
		slices.Sort(u)
		median = u[1]
	}
	score := math.Round(median*1000) / 1000
	p.BaselineScore = caresignal.NullFloat{Float: score, Valid: g.rng.Float64() >= cfg.MissingBaseline}
	c.Source.Patients = append(c.Source.Patients, p)

	// A latent engagement level, correlated with the baseline score, drives
	// session and message counts. It affects drop-off only through those
	// observed counts, so the logistic hazard is exactly the data-generating
	// model given the features.
	latent := 1.5*(score-0.5) + 0.5*g.rng.NormFloat64()
	app, sms := 0.0, 0.0
	switch p.Channel {
	case "app":
		app = 1
	case "sms":
		sms = 1
	}
	msgRate := math.Exp(1.0 + 0.3*latent + 0.5*sms)
	sessRate := func(bucket int) float64 { return math.Exp(0.9 + 0.6*latent + 0.2*app - 0.03*float64(bucket)) }

	static := 0.0
	static += TrueCoef["age"] * float64(p.Age)
	static += TrueCoef["baseline_score"] * score
	static += TrueCoef["prior_no_shows"] * float64(p.PriorNoShows)
	static += TrueCoef["sex="+p.Sex] + TrueCoef["program="+p.Program] +
		TrueCoef["channel="+p.Channel] + TrueCoef["enrolled_via="+p.EnrolledVia]
	if p.Program == UnseenProgramLevel {
		static += UnseenProgramCoef
	}

	// emit records the events of one 30-day window starting at day `from`
	// that happen before `until`, returning the session and message counts
	// and the last session day (or lastSession unchanged).
	emit := func(from, until, sessions, messages int, lastSession int) (int, int, int) {
		ns, nm := 0, 0
		for range sessions {
			day := from + g.rng.IntN(30)
			if day < until {
				c.Source.Events = append(c.Source.Events, caresignal.Event{PatientID: p.ID, OccurredOn: enrolled.AddDate(0, 0, day), Kind: caresignal.EventSession})
				ns++
				lastSession = max(lastSession, day)
			}
		}
		for range messages {
			day := from + g.rng.IntN(30)
			if day < until {
				c.Source.Events = append(c.Source.Events, caresignal.Event{PatientID: p.ID, OccurredOn: enrolled.AddDate(0, 0, day), Kind: caresignal.EventMessage})
				nm++
			}
		}
		return ns, nm, lastSession
	}

	// Onboarding window: an intake session plus the usual activity.
	sessions, messages, last := emit(-30, 0, 1+g.poisson(sessRate(0)), g.poisson(msgRate), math.MinInt)

	// The concept shift raises the log-odds of the months starting on or
	// after day shiftFrom of enrolment.
	shiftFrom, shift := cfg.Drift.concept(enrolled)

	for t := 1; ; t++ {
		start := 30 * (t - 1)
		if start > d {
			break
		}
		row := TruthRow{PatientID: p.ID, Month: t, patient: idx,
			SessionsLastMonth:    sessions,
			MessagesLastMonth:    messages,
			DaysSinceLastSession: start - last,
		}
		eta := TrueAlpha(t) + static +
			TrueCoef["sessions_last_month"]*float64(row.SessionsLastMonth) +
			TrueCoef["days_since_last_session"]*float64(row.DaysSinceLastSession) +
			TrueCoef["messages_last_month"]*float64(row.MessagesLastMonth)
		if start >= shiftFrom {
			eta += shift
		}
		row.Hazard = 1 / (1 + math.Exp(-eta))

		exitDay, reason := math.MaxInt, ""
		if g.rng.Float64() < row.Hazard {
			exitDay, reason = start+g.rng.IntN(30), caresignal.ReasonDisengaged
		} else if g.rng.Float64() < cfg.TransferRate {
			exitDay, reason = start+g.rng.IntN(30), caresignal.ReasonTransferred
		}
		sessions, messages, last = emit(start, min(exitDay, d), g.poisson(sessRate(t)), g.poisson(msgRate), last)

		complete := 30*t <= d
		switch {
		case exitDay < d: // the exit is in the data
			c.Source.Disenrolments = append(c.Source.Disenrolments, caresignal.Disenrolment{
				PatientID: p.ID, DisenrolledOn: enrolled.AddDate(0, 0, exitDay), Reason: reason})
			switch {
			case !complete:
				row.Status = caresignal.StatusIncomplete
			case reason == caresignal.ReasonDisengaged:
				row.Status = caresignal.StatusEvent
			default:
				row.Status = caresignal.StatusCensored
			}
		case complete:
			row.Status = caresignal.StatusSurvived
		default:
			row.Status = caresignal.StatusCurrent
		}
		c.Truth = append(c.Truth, row)
		if row.Status != caresignal.StatusSurvived {
			break
		}
	}
}
