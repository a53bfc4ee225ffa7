package caresignal

import (
	"context"
	"math"
	"time"
)

// Band is a score's risk band within its run, by rank of the risk of
// dropping off within the next 30 days (Risk30): the top tenth of the run's patients is high, the next fifth
// medium, the rest low. Bands by rank keep the high band the size a care
// team can call, whatever the program's overall drop-off rate.
type Band string

// Risk bands, from the highest.
const (
	BandHigh   Band = "high"
	BandMedium Band = "medium"
	BandLow    Band = "low"
)

// Bands lists the risk bands, highest first.
var Bands = []Band{BandHigh, BandMedium, BandLow}

// BandOfRank is the band of the patient ranked rank (0: the highest
// hazard) among n.
func BandOfRank(rank, n int) Band {
	switch {
	case rank*10 < n:
		return BandHigh
	case rank*10 < 3*n:
		return BandMedium
	}
	return BandLow
}

// Level orders bands: 1 high, 2 medium, 3 low, 0 for an unknown band.
func (b Band) Level() int {
	switch b {
	case BandHigh:
		return 1
	case BandMedium:
		return 2
	case BandLow:
		return 3
	}
	return 0
}

// BandOfLevel is the band of a Level.
func BandOfLevel(level int) Band {
	if level >= 1 && level <= len(Bands) {
		return Bands[level-1]
	}
	return ""
}

// Driver is one reason a score is as high as it is, stored with the score
// when it is computed so that lists need not recompute explanations: a
// feature's contribution to the log-odds (or log-hazard) of next month's
// drop-off, and the same in words.
type Driver struct {
	Feature      string  `json:"feature"`
	Value        string  `json:"value"`
	Contribution float64 `json:"contribution"`
	Words        string  `json:"words"` // "no session for 45 days"
}

// Contact outcomes: what came of a care team's call.
const (
	ContactReached   = "reached"
	ContactNoAnswer  = "no_answer"
	ContactDeclined  = "declined"
	ContactReengaged = "re_engaged"
)

// ContactOutcomes lists the outcomes a contact may record.
var ContactOutcomes = []string{ContactReached, ContactNoAnswer, ContactDeclined, ContactReengaged}

// ContactOutcomeWords reads an outcome for people ("no answer").
func ContactOutcomeWords(outcome string) string {
	switch outcome {
	case ContactNoAnswer:
		return "no answer"
	case ContactReengaged:
		return "re-engaged"
	}
	return outcome
}

// Risk30 is the probability of dropping off within the next MonthDays
// days, from a prediction's hazards (hazard[0] covering the rest of the
// month in progress, daysElapsed of whose days have passed, as
// MonthInProgress gives it): the rest of this month, then the first
// daysElapsed days of the next under its hazard, constant within the
// month. Scores made on different days of patients' months are then
// comparable, which the month in progress's hazard alone is not (a day
// before a month ends it is nearly 0). Without a next month's hazard the
// month in progress's full-month hazard stands for it.
func Risk30(hazard []float64, daysElapsed int) float64 {
	if len(hazard) == 0 {
		return 0
	}
	h0 := hazard[0]
	if daysElapsed <= 0 || daysElapsed >= MonthDays {
		return h0
	}
	var next float64 // full-month hazard of the month after
	if len(hazard) > 1 {
		next = hazard[1]
	} else {
		next = WholeMonth(h0, daysElapsed)
	}
	// Survive the rest of this month, then daysElapsed days of the next.
	logS := math.Log1p(-h0) + float64(daysElapsed)/MonthDays*math.Log1p(-next)
	return -math.Expm1(logS)
}

// MaxContactNote bounds a contact's note, in characters.
const MaxContactNote = 2000

// Contact is one attempt of a care team to reach a patient, and its outcome.
type Contact struct {
	ID        int64     `json:"id"`
	PatientID string    `json:"patient_id"`
	At        time.Time `json:"at"`
	Outcome   string    `json:"outcome"` // one of ContactOutcomes
	Note      string    `json:"note,omitempty"`
	By        string    `json:"by"` // the name of the key or login that recorded it
}

// WorklistSort orders the worklist.
type WorklistSort string

// Worklist orders.
const (
	// SortRisk ranks by the risk of dropping off within the next 30
	// days, highest first.
	SortRisk WorklistSort = "risk"
	// SortLost ranks by expected months lost within the horizon
	// (horizon − expected months), most first.
	SortLost WorklistSort = "lost"
)

// WorklistQuery selects rows of the latest scoring run's worklist.
type WorklistQuery struct {
	Sort      WorklistSort // "" is SortRisk
	Program   string       // "" for every program
	Channel   string       // "" for every channel
	Band      Band         // "" for every band
	New       bool         // only patients new to the list (WorklistRow.New)
	PatientID string       // a patient id or its beginning; "" for every patient
	Offset    int          // rows to skip
	Limit     int          // rows to return; 0 for every row
}

// WorklistRow is one enrolled patient on the worklist.
type WorklistRow struct {
	Score
	Program, Channel string
	// PreviousRisk is the patient's Risk30 in the previous run; nil when
	// that run did not score the patient.
	PreviousRisk *float64
	PreviousBand Band
	// New: the previous run did not score the patient (enrolled since),
	// or scored them in a lower band. Never set when there is no
	// previous run.
	New bool
	// LastContact is the latest contact recorded for the patient, if any.
	LastContact *Contact
}

// Worklist is a page of the latest scoring run's worklist.
type Worklist struct {
	Run ScoreRun
	// Previous is the run before Run (the latest with an earlier as-of
	// date); nil when there is none.
	Previous *ScoreRun
	Total    int // rows the query's filters select
	Rows     []WorklistRow
	// Programs and Channels are the levels present in the run, for filters.
	Programs, Channels []string
}

// PatientScore is one run's score of a patient.
type PatientScore struct {
	Run ScoreRun
	Score
}

// PatientNow is what the data layer holds of a patient today: the
// features known at the start of the month in progress (one row of the
// prediction extract) and the enrolment date.
type PatientNow struct {
	Columns    []string
	Row        ExtractRow
	EnrolledOn time.Time
	// AsOf is the as-of date of the person-period table the row is from.
	AsOf time.Time
}

// ContactFollowUp says what followed the contacts made with the patients
// in the high band of one run, for the evaluation report (outreach is an
// intervention: patients contacted no longer follow the model's
// prediction alone).
type ContactFollowUp struct {
	Run     ScoreRun
	Flagged int // patients in the run's high band
	// Contacted counts the flagged patients with a contact recorded after
	// the run was scored; ByOutcome counts their latest contact's outcome.
	Contacted int
	ByOutcome map[string]int
	// DroppedContacted and DroppedOthers count the flagged patients who
	// dropped off since the run's as-of date, contacted or not.
	DroppedContacted, DroppedOthers int
}

// WorklistStore is the part of the data layer behind the care team's
// pages: the worklist, each patient's scores over time, and contacts.
type WorklistStore interface {
	// Worklist returns a page of the latest run's scores with the
	// patients' program and channel, their previous score and last
	// contact; ENOTFOUND when nothing was scored yet.
	Worklist(ctx context.Context, q WorklistQuery) (Worklist, error)
	// PatientScores returns every run's score of a patient, oldest run
	// first (empty when none).
	PatientScores(ctx context.Context, patientID string) ([]PatientScore, error)
	// PatientNow returns a currently enrolled patient's features as of
	// the last ELT; ENOTFOUND when the patient is not enrolled then.
	PatientNow(ctx context.Context, patientID string) (PatientNow, error)
	// RecordContact stores a contact and returns it with its id;
	// EINVALID for an unknown outcome or a note that is too long,
	// ENOTFOUND for a patient not in the source tables.
	RecordContact(ctx context.Context, c Contact) (Contact, error)
	// Contacts returns a patient's contacts, newest first.
	Contacts(ctx context.Context, patientID string) ([]Contact, error)
	// ContactFollowUp says what followed the contacts with the high band
	// of the latest run scored as of asOf or earlier.
	ContactFollowUp(ctx context.Context, asOf time.Time) (ContactFollowUp, error)
}
