package monitor

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/wire"
)

// ScoreRun is one batch scoring run as the prediction log holds it.
type ScoreRun struct {
	ID       string    `json:"id"`
	AsOf     time.Time `json:"as_of"`
	Model    string    `json:"model"`
	Version  string    `json:"version"`
	Patients []Scored  `json:"-"`
}

// Scored is one patient of a scoring run.
type Scored struct {
	PatientID      string // as logged: pseudonymised when the log is
	MonthsEnrolled int
	// DaysElapsed is how far into the month in progress the patient was
	// scored (caresignal.Instance.DaysElapsed): Hazard[0] covers the rest
	// of that month.
	DaysElapsed int
	Hazard      []float64
	Features    map[string]caresignal.Value
}

// MidMonth reports whether the run's patients were scored part-way
// through their month in progress with the rest of the month as the first
// hazard (days_elapsed, which batch scoring fills from the as-of date):
// its expected drop-offs can then be counted from the scoring date. Runs
// logged before (every patient at 0 days) are counted from the end of the
// month in progress (FullMonths).
func (r *ScoreRun) MidMonth() bool {
	for i := range r.Patients {
		if r.Patients[i].DaysElapsed > 0 {
			return true
		}
	}
	return false
}

// Survival returns S(t) for t = 1..len(Hazard): the product of 1 − h.
func (s *Scored) Survival() []float64 {
	out := make([]float64, len(s.Hazard))
	surv := 1.0
	for i, h := range s.Hazard {
		surv *= 1 - h
		out[i] = surv
	}
	return out
}

// ScoreRuns reads the batch scoring runs that the prediction log holds
// for f, oldest as-of date first. Records that do not decode are counted
// in skipped.
func ScoreRuns(ctx context.Context, log caresignal.PredictionLog, f caresignal.PredictionFilter) (runs []*ScoreRun, skipped int, err error) {
	byID := map[string]*ScoreRun{}
	err = log.ScanPredictions(ctx, f, func(rec *caresignal.PredictionRecord) error {
		if rec.Route != wire.ScoreRoute {
			return nil
		}
		asOf, ok := wire.ParseScoreRunID(rec.RequestID)
		if !ok {
			skipped++
			return nil
		}
		p, ok := decodeScored(rec)
		if !ok {
			skipped++
			return nil
		}
		r := byID[rec.RequestID]
		if r == nil {
			r = &ScoreRun{ID: rec.RequestID, AsOf: asOf, Model: rec.Model, Version: rec.Version}
			byID[rec.RequestID] = r
		}
		r.Patients = append(r.Patients, p)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	for _, r := range byID {
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool {
		if !runs[i].AsOf.Equal(runs[j].AsOf) {
			return runs[i].AsOf.Before(runs[j].AsOf)
		}
		return runs[i].ID < runs[j].ID
	})
	return runs, skipped, nil
}

// Outcome is what became of a scored patient, counted in months from the
// month in progress at scoring (month 1 of the prediction).
type Outcome struct {
	// Time is the number of prediction months the patient was followed
	// through: the month of a drop-off, the month of a transfer out
	// (censored at its end, as in training), or the last month complete at
	// the follow-up's as-of date (censored). 0: the first month is not yet
	// complete, so nothing is known.
	Time  int
	Event bool
	// Open: the patient was still enrolled at the follow-up's as-of date
	// (censored by the end of follow-up, not by a transfer or drop-off), so
	// month Time+1 is still in progress.
	Open bool
}

// FollowUp finds each scored patient's outcome in a person-period extract
// built at a later as-of date (the ELT's rows of every month of every
// patient). Patient ids are matched through key when the log is
// pseudonymised. A patient absent from the extract has Time 0.
//
// Following the ELT's conventions: a month with status event ends in a
// drop-off; censored is a transfer at the end of the month; survived
// continues; current and incomplete are months still in progress, which
// end the follow-up at the month before.
func FollowUp(pp *caresignal.Extract, patients []Scored, key []byte) ([]Outcome, error) {
	type row struct {
		month  int
		status caresignal.Status
	}
	want := make(map[string]int, len(patients))
	for i := range patients {
		want[patients[i].PatientID] = i
	}
	rows := make([][]row, len(patients))
	for _, r := range pp.Rows {
		id := wire.Pseudonym(key, r.PatientID)
		i, ok := want[id]
		if !ok {
			continue
		}
		rows[i] = append(rows[i], row{r.Month, r.Status})
	}
	out := make([]Outcome, len(patients))
	for i := range patients {
		rs := rows[i]
		sort.Slice(rs, func(a, b int) bool { return rs[a].month < rs[b].month })
		first := patients[i].MonthsEnrolled + 1
		next := first
		for _, r := range rs {
			if r.month < first {
				continue
			}
			if r.month != next {
				return nil, caresignal.Errorf(caresignal.EINVALID, "the person-period extract skips month %d of a scored patient", next)
			}
			k := r.month - first + 1
			stop := true
			switch r.status {
			case caresignal.StatusEvent:
				out[i] = Outcome{Time: k, Event: true}
			case caresignal.StatusCensored:
				out[i] = Outcome{Time: k}
			case caresignal.StatusSurvived:
				out[i] = Outcome{Time: k}
				stop = false
			case caresignal.StatusCurrent, caresignal.StatusIncomplete:
				// An incomplete month (left while it was in progress) is
				// pending too: the ELT counts it once it is over.
				out[i] = Outcome{Time: k - 1, Open: true}
			default:
				return nil, caresignal.Errorf(caresignal.EINVALID, "person-period status %q is not one the ELT writes", r.status)
			}
			if stop {
				break
			}
			next++
		}
	}
	return out, nil
}

// MonthStatus is what a follow-up says about one predicted month.
type MonthStatus int

// Month statuses.
const (
	NotAtRisk MonthStatus = iota // gone before the month began
	Pending                      // at risk, the month still in progress
	Stayed                       // completed the month (or transferred out at its end)
	Dropped                      // dropped off in it
)

// Month returns the status of predicted month k (from 1).
func (o Outcome) Month(k int) MonthStatus {
	switch {
	case o.Time < 0 && o.Open && k == 1:
		return Pending // see FullMonths
	case o.Time < 0:
		return NotAtRisk
	case o.Time >= k:
		if o.Time == k && o.Event {
			return Dropped
		}
		return Stayed
	case o.Time == k-1 && o.Open:
		return Pending
	default:
		return NotAtRisk
	}
}

// describeRun is a run's one-line name for messages.
func describeRun(r *ScoreRun) string {
	return fmt.Sprintf("%s@%s scored as of %s (%d patients)", r.Model, r.Version, r.AsOf.Format(time.DateOnly), len(r.Patients))
}

// FullMonths drops the month in progress at scoring from a run and its
// outcomes, so that time zero is the end of that month.
//
// A patient scored in a month already partly over was at risk of its
// first predicted hazard for only part of it (those who had left earlier
// in the month were not there to be scored), so realised drop-offs in
// that month run well below the hazards' sum whatever the model's quality.
// Counted from the end of that month, the patients still enrolled then are
// at risk of whole months: their hazards are Hazard[1:], their survival
// S(t+1)/S(1), and their follow-up one month shorter. Patients who left
// during the month in progress are not at risk at the new time zero;
// those whose month in progress is not over yet are pending.
func FullMonths(r *ScoreRun, outcomes []Outcome) (*ScoreRun, []Outcome) {
	out := &ScoreRun{ID: r.ID, AsOf: r.AsOf, Model: r.Model, Version: r.Version, Patients: make([]Scored, 0, len(r.Patients))}
	var oc []Outcome
	if outcomes != nil {
		oc = make([]Outcome, 0, len(r.Patients))
	}
	for i, p := range r.Patients {
		if len(p.Hazard) < 2 {
			continue
		}
		q := p
		q.MonthsEnrolled++
		q.Hazard = p.Hazard[1:]
		out.Patients = append(out.Patients, q)
		if outcomes == nil {
			continue
		}
		o := outcomes[i]
		switch o.Month(1) {
		case Stayed:
			o.Time--
		case Pending:
			// Still in the month in progress: not known to be at risk of
			// the next one yet, so pending at its start.
			o = Outcome{Time: -1, Open: true}
		default:
			o = Outcome{Time: -1}
		}
		oc = append(oc, o)
	}
	return out, oc
}

// APIRequests reads the patients of the API requests that the prediction
// log holds for f: the patients of /api/engagement and Open Inference
// Protocol requests as production answered them; not batch scores,
// /invocations rows, what-if forms (hypothetical patients) nor a shadow
// model's answers (the same patients again). Records that do not decode
// are left out.
func APIRequests(ctx context.Context, log caresignal.PredictionLog, f caresignal.PredictionFilter) ([]Scored, error) {
	var out []Scored
	err := log.ScanPredictions(ctx, f, func(rec *caresignal.PredictionRecord) error {
		if rec.Route == wire.ScoreRoute || wire.IsShadow(rec.Route) || wire.ParseKind(rec.Kind, rec.Route) != wire.KindPatient {
			return nil
		}
		if p, ok := decodeScored(rec); ok {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// decodeScored reads one patient's record: its request object as the
// server decodes it, and its logged hazards. ok is false for a record that
// does not decode.
func decodeScored(row *caresignal.PredictionRecord) (Scored, bool) {
	rec := wire.Read(row)
	inst, err := rec.DecodePatient()
	if err != nil {
		return Scored{}, false
	}
	out, err := rec.DecodeOutputs()
	if err != nil || len(out.Hazard) == 0 {
		return Scored{}, false
	}
	return Scored{PatientID: rec.PatientID, MonthsEnrolled: inst.MonthsEnrolled, DaysElapsed: inst.DaysElapsed, Hazard: out.Hazard, Features: inst.Features}, true
}
