package caresignal

import (
	"context"
	"time"
)

// Patient is one row of the source table patients: who enrolled, when, and
// the static facts recorded at enrolment.
type Patient struct {
	ID            string
	EnrolledOn    time.Time // a calendar date (UTC midnight)
	Age           int
	Sex           string
	Program       string
	Channel       string
	BaselineScore NullFloat // not every patient has a baseline assessment
	PriorNoShows  int
	EnrolledVia   string
}

// NullFloat is a float that may be missing (SQL NULL).
type NullFloat struct {
	Float float64
	Valid bool
}

// Event kinds in the source table engagement_events.
const (
	EventSession = "session"
	EventMessage = "message"
)

// Event is one row of engagement_events: a session attended or a message
// exchanged, on a date.
type Event struct {
	PatientID  string
	OccurredOn time.Time
	Kind       string // EventSession or EventMessage
}

// Disenrolment reasons in the source table disenrolments. Only
// ReasonDisengaged is a drop-off (the event the model predicts); a transfer
// ends observation without one (censoring).
const (
	ReasonDisengaged  = "disengaged"
	ReasonTransferred = "transferred"
)

// Disenrolment is one row of disenrolments: the date a patient left and why.
type Disenrolment struct {
	PatientID     string
	DisenrolledOn time.Time
	Reason        string
}

// AppendResult says what an append added and what it took as already
// loaded. Events are new when they are dated after the latest event date
// already loaded (Through), or belong to a patient new in this append;
// the others are taken as loaded before (exports cover whole days).
type AppendResult struct {
	Patients, Events, Disenrolments int // rows added
	// Already loaded: patients and disenrolments identical to rows in the
	// tables, events dated on or before Through of patients loaded before.
	SamePatients, OldEvents, SameDisenrolments int
	Through                                    time.Time // zero: no event was loaded before
}

// Source is the content of the three source tables.
type Source struct {
	Patients      []Patient
	Events        []Event
	Disenrolments []Disenrolment
}

// Status classifies a person-period row as of the ELT's as-of date.
type Status string

// Person-period row statuses. Rows with StatusEvent, StatusSurvived and
// StatusCensored form the training extract; StatusCurrent rows (the month in
// progress of a patient still enrolled) form the prediction extract.
// StatusIncomplete rows (a month in progress whose patient has already left)
// belong to neither: keeping them would count early exits of unfinished
// months and bias the hazard upward.
const (
	StatusEvent      Status = "event"      // month complete, dropped off in it
	StatusSurvived   Status = "survived"   // month complete, still enrolled
	StatusCensored   Status = "censored"   // month complete, transferred out in it
	StatusCurrent    Status = "current"    // month in progress, still enrolled
	StatusIncomplete Status = "incomplete" // month in progress, already left
)

// Extract is a table read from the data layer: one row per patient (and
// month, for person-period extracts), with feature columns by name.
type Extract struct {
	Columns []string // feature column names, in the order of Row.Values
	Rows    []ExtractRow
}

// ExtractRow is one row of an Extract.
type ExtractRow struct {
	PatientID string
	Month     int    // 1-based month of enrolment this row describes
	Status    Status // person-period status (training and person-period extracts)
	Event     bool   // dropped off in this month
	Values    []Value
}

// Column returns the index of the named column, or -1.
func (x *Extract) Column(name string) int {
	for i, c := range x.Columns {
		if c == name {
			return i
		}
	}
	return -1
}

// ELTResult summarises one run of the ELT.
type ELTResult struct {
	AsOf     time.Time
	Rows     int            // person-period rows written
	ByStatus map[Status]int // rows per status
}

// ScoreRun identifies one batch scoring run.
type ScoreRun struct {
	Model    ModelInfo
	AsOf     time.Time
	ScoredAt time.Time
	Horizon  int
}

// Score is one patient's row in the scores table.
type Score struct {
	PatientID      string
	MonthsEnrolled int
	HazardNext     float64 // hazard of the month in progress (of what is left of it)
	// Risk30 is the probability of dropping off within the next 30 days
	// (Risk30): the same window for every patient, whatever part of
	// their month has passed. The worklist ranks by it.
	Risk30         float64
	SurvivalEnd    float64 // survival to the end of the horizon
	ExpectedMonths float64
	MedianMonths   *int
	// Band is the patient's risk band within the run.
	Band Band
	// Drivers are the (at most two) features that raise the patient's
	// next-month risk most, largest first; none for models without
	// explanations, or when nothing raises it by much.
	Drivers []Driver
}

// SourceCheck is what the ELT would see in the source tables as of a date,
// read without writing anything (Store.CheckSource).
type SourceCheck struct {
	AsOf        time.Time // the date checked: the one asked for, or the ELT's default
	DefaultAsOf bool      // AsOf is the ELT's default (the day after the latest source date)
	// End is the day after the latest date in the source tables (zero
	// when they are empty).
	End time.Time
	// Views names the source tables that are views onto other tables,
	// which generate and load refuse to write into.
	Views []string
	// Patients, Events and Disenrolments give each table's rows and the
	// range of its date column (enrolled_on, occurred_on, disenrolled_on).
	Patients, Events, Disenrolments SourceTable
	// PatientsWithoutEvents counts the patients no engagement event names.
	PatientsWithoutEvents int
	// Levels lists the values of the categorical source columns (sex,
	// program, channel, enrolled_via, kind, reason) with their rows.
	Levels []SourceLevels
	// PersonPeriod counts the person-period rows the ELT would build, by
	// status; PersonPeriodRows is their sum.
	PersonPeriod     map[Status]int
	PersonPeriodRows int
	// Ignored lists the source rows the ELT would leave out, and why.
	Ignored []IgnoredRows
	// Warnings are what the ELT accepts but a later step may not (missing
	// values in the static features).
	Warnings []string
	// Refusals say why the ELT would refuse the data as of AsOf; empty
	// when it would run.
	Refusals []string
}

// SourceTable is one source table's row count and the range of its date
// column (zero dates when it has no dated rows).
type SourceTable struct {
	Rows        int
	First, Last time.Time
}

// SourceLevels is the set of values of one categorical source column.
type SourceLevels struct {
	Table, Column string
	Levels        []LevelCount // by level; a missing value last
}

// LevelCount is one value of a categorical column and its rows.
type LevelCount struct {
	Level   string
	Missing bool // the value is NULL (Level is "")
	Rows    int
}

// IgnoredRows counts the rows of a source table the ELT leaves out for one
// reason.
type IgnoredRows struct {
	Table  string
	Rows   int
	Reason string
}

// Progress receives progress of long operations: done out of total units
// (total 0 when unknown). It may be nil.
type Progress func(done, total int)

// Store is the data layer: the source tables, the ELT that builds the
// person-period table inside the database, the extracts the model trains and
// predicts from, the scores table, the model registry, API keys with the
// audit log, and the prediction log. An adapter applies its schema migrations when it opens.
// Every write is atomic: a failed call leaves the tables as they were.
type Store interface {
	Registry
	KeyStore
	PredictionLog
	EvaluationStore
	WorklistStore
	// ReplaceSource replaces the contents of the source tables with src.
	ReplaceSource(ctx context.Context, src *Source, progress Progress) error
	// AppendSource adds what src holds that the source tables do not, in
	// one transaction, leaving the derived tables alone (see AppendResult).
	// A patient or disenrolment already loaded with other values is
	// refused (EINVALID), naming it: an append adds, it does not correct.
	AppendSource(ctx context.Context, src *Source, progress Progress) (AppendResult, error)
	// KnownPatients returns the enrolment date of every patient in the
	// source tables, by id.
	KnownPatients(ctx context.Context) (map[string]time.Time, error)
	// RunELT rebuilds the person-period table as of the given date: data on
	// or after asOf is ignored. A zero asOf means the day after the latest
	// date in the source tables.
	RunELT(ctx context.Context, asOf time.Time) (ELTResult, error)
	// PersonPeriod returns the whole person-period table joined with the
	// static features, ordered by patient and month.
	PersonPeriod(ctx context.Context) (*Extract, error)
	// TrainingExtract returns the person-period rows with a known outcome,
	// ordered by patient and month.
	TrainingExtract(ctx context.Context) (*Extract, error)
	// PredictionExtract returns one row per currently enrolled patient: the
	// features known at the start of the month in progress, ordered by
	// patient. Month is that month, so months enrolled is Month-1.
	PredictionExtract(ctx context.Context) (*Extract, error)
	// CheckSource reports what RunELT would see and do as of asOf (zero:
	// its default) without writing anything: the tables' sizes and date
	// ranges, categorical levels, the rows it would leave out and why, the
	// person-period rows it would build by status, and why it would refuse
	// the data, if it would.
	CheckSource(ctx context.Context, asOf time.Time) (SourceCheck, error)
	// LastELT returns the as-of date of the person-period table.
	LastELT(ctx context.Context) (time.Time, error)
	// ReplaceScores writes the scores of one run, replacing any earlier
	// scores of the same model version and as-of date.
	ReplaceScores(ctx context.Context, run ScoreRun, scores []Score) error
	// TopScores returns the latest run's scores with the highest next-month
	// hazard, at most limit of them.
	TopScores(ctx context.Context, limit int) (ScoreRun, []Score, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the connection pool.
	Close() error
}
