package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/caresignal/caresignal"
)

// encodeDrivers writes a score's drivers as the JSON array the scores
// table keeps.
func encodeDrivers(ds []caresignal.Driver) string {
	if len(ds) == 0 {
		return "[]"
	}
	b, err := json.Marshal(ds)
	if err != nil { // a Driver holds strings and a float from a prediction
		return "[]"
	}
	return string(b)
}

func decodeDrivers(s string) ([]caresignal.Driver, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var ds []caresignal.Driver
	if err := json.Unmarshal([]byte(s), &ds); err != nil {
		return nil, fmt.Errorf("a score's drivers are not the JSON array stored: %w", err)
	}
	return ds, nil
}

// scoreRead lists the columns of a score that follow its patient id, as
// scoreScan receives them.
const scoreRead = "s.months_enrolled, s.hazard_next, s.risk_30d, s.survival_end, s.expected_months, s.median_months, s.band, s.drivers"

// scoreScan receives scoreRead's columns into a Score.
type scoreScan struct {
	median  sql.NullInt64
	band    int
	drivers string
}

// dest lists where Scan puts scoreRead's columns.
func (x *scoreScan) dest(sc *caresignal.Score) []any {
	return []any{&sc.MonthsEnrolled, &sc.HazardNext, &sc.Risk30, &sc.SurvivalEnd, &sc.ExpectedMonths, &x.median, &x.band, &x.drivers}
}

// finish sets the score's fields that need converting after Scan.
func (x *scoreScan) finish(sc *caresignal.Score) error {
	sc.MedianMonths = nil
	if x.median.Valid {
		m := int(x.median.Int64)
		sc.MedianMonths = &m
	}
	sc.Band = caresignal.BandOfLevel(x.band)
	var err error
	sc.Drivers, err = decodeDrivers(x.drivers)
	return err
}

// runRow is a score run and its id.
type runRow struct {
	id  int64
	run caresignal.ScoreRun
}

const runSelect = "SELECT id, model_name, model_version, as_of, scored_at, horizon FROM score_runs "

// runScan receives runSelect's columns into a run and its id.
type runScan struct {
	id             int64
	run            *caresignal.ScoreRun
	asOf, scoredAt any
}

func (x *runScan) dest() []any {
	return []any{&x.id, &x.run.Model.Name, &x.run.Model.Version, &x.asOf, &x.scoredAt, &x.run.Horizon}
}

func (x *runScan) finish() error {
	var err error
	if x.run.AsOf, err = parseDate(x.asOf); err != nil {
		return err
	}
	x.run.ScoredAt, err = parseTime(x.scoredAt)
	return err
}

func scanRun(row interface{ Scan(...any) error }) (runRow, error) {
	var r runRow
	x := runScan{run: &r.run}
	if err := row.Scan(x.dest()...); err != nil {
		return r, err
	}
	r.id = x.id
	return r, x.finish()
}

// latestRuns returns the latest run (of the latest as-of date, the last
// scored of them) and the one before it (the latest with an earlier as-of
// date), nil when there is none.
func (s *Store) latestRuns(ctx context.Context) (runRow, *runRow, error) {
	cur, err := scanRun(s.db.QueryRowContext(ctx, runSelect+"ORDER BY as_of DESC, id DESC LIMIT 1"))
	if errors.Is(err, sql.ErrNoRows) {
		return cur, nil, caresignal.Errorf(caresignal.ENOTFOUND, "no scores yet: run caresignal score")
	}
	if err != nil {
		return cur, nil, fmt.Errorf("%s: reading score runs: %w", s.d.Name, err)
	}
	prev, err := scanRun(s.db.QueryRowContext(ctx, runSelect+"WHERE as_of < "+s.d.Bind(1)+" ORDER BY as_of DESC, id DESC LIMIT 1", FormatDate(cur.run.AsOf)))
	if errors.Is(err, sql.ErrNoRows) {
		return cur, nil, nil
	}
	if err != nil {
		return cur, nil, fmt.Errorf("%s: reading score runs: %w", s.d.Name, err)
	}
	return cur, &prev, nil
}

// likeEscape escapes LIKE's wildcards (with backslash as the escape).
var likeEscape = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Worklist returns a page of the latest run's worklist. Filters and order
// are applied in the database; the patients' program and channel come
// from the source table patients as it is now (a patient no longer in it
// keeps the score, with neither).
func (s *Store) Worklist(ctx context.Context, q caresignal.WorklistQuery) (caresignal.Worklist, error) {
	var out caresignal.Worklist
	if q.Offset < 0 || q.Limit < 0 {
		return out, caresignal.Invalidf("offset", "offset and limit must not be negative")
	}
	if q.Band != "" && q.Band.Level() == 0 {
		return out, caresignal.Invalidf("band", "unknown risk band %q: use high, medium or low", string(q.Band))
	}
	// Ties in patient order, byte-wise: the order the bands were given in
	// (serving.assignBands).
	byID := "s.patient_id" + s.d.ByteOrder
	order := " ORDER BY s.risk_30d DESC, " + byID
	switch q.Sort {
	case "", caresignal.SortRisk:
	case caresignal.SortLost:
		order = " ORDER BY s.expected_months, s.risk_30d DESC, " + byID
	default:
		return out, caresignal.Invalidf("sort", "unknown order %q: use risk or lost", string(q.Sort))
	}
	cur, prev, err := s.latestRuns(ctx)
	if err != nil {
		return out, err
	}
	out.Run = cur.run
	prevID := int64(-1)
	if prev != nil {
		out.Previous = &prev.run
		prevID = prev.id
	}
	// build writes the FROM and WHERE clauses and their arguments (in
	// the order of their placeholders: SQLite's are positional); the
	// count needs the joins only for the filters on them.
	build := func(joins bool) (string, []any) {
		b := s.d.Bind
		var args []any
		arg := func(v any) string {
			args = append(args, v)
			return b(len(args))
		}
		sql := " FROM scores s"
		if joins {
			sql += " LEFT JOIN patients p ON p.patient_id = s.patient_id" +
				" LEFT JOIN scores prev ON prev.run_id = " + arg(prevID) + " AND prev.patient_id = s.patient_id"
		}
		sql += " WHERE s.run_id = " + arg(cur.id)
		if q.Program != "" {
			sql += " AND p.program = " + arg(q.Program)
		}
		if q.Channel != "" {
			sql += " AND p.channel = " + arg(q.Channel)
		}
		if q.Band != "" {
			sql += " AND s.band = " + arg(q.Band.Level())
		}
		if q.New {
			if prev == nil {
				sql += " AND 1 = 0"
			} else {
				sql += " AND (prev.patient_id IS NULL OR s.band < prev.band)"
			}
		}
		if id := strings.TrimSpace(q.PatientID); id != "" {
			sql += ` AND UPPER(s.patient_id) LIKE UPPER(` + arg("%"+likeEscape.Replace(id)+"%") + `) ESCAPE '\'`
		}
		return sql, args
	}
	countFrom, countArgs := build(q.Program != "" || q.Channel != "" || q.New)
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*)"+countFrom, countArgs...).Scan(&out.Total); err != nil {
		return out, fmt.Errorf("%s: counting the worklist: %w", s.d.Name, err)
	}
	from, args := build(true)
	page := ""
	if q.Limit > 0 {
		page = " LIMIT " + strconv.Itoa(q.Limit) + " OFFSET " + strconv.Itoa(q.Offset)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT s.patient_id, "+scoreRead+
		", COALESCE(p.program, ''), COALESCE(p.channel, ''), prev.patient_id, prev.risk_30d, prev.band"+from+order+page, args...)
	if err != nil {
		return out, fmt.Errorf("%s: reading the worklist: %w", s.d.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r caresignal.WorklistRow
		var x scoreScan
		var prevPatient sql.NullString
		var prevRisk sql.NullFloat64
		var prevBand sql.NullInt64
		dest := append(append([]any{&r.PatientID}, x.dest(&r.Score)...), &r.Program, &r.Channel, &prevPatient, &prevRisk, &prevBand)
		if err := rows.Scan(dest...); err != nil {
			return out, fmt.Errorf("%s: reading the worklist: %w", s.d.Name, err)
		}
		if err := x.finish(&r.Score); err != nil {
			return out, err
		}
		if prevPatient.Valid {
			h := prevRisk.Float64
			r.PreviousRisk, r.PreviousBand = &h, caresignal.BandOfLevel(int(prevBand.Int64))
			r.New = x.band < int(prevBand.Int64)
		} else {
			r.New = prev != nil
		}
		out.Rows = append(out.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("%s: reading the worklist: %w", s.d.Name, err)
	}
	if err := s.lastContacts(ctx, out.Rows); err != nil {
		return out, err
	}
	for _, col := range []struct {
		name string
		dst  *[]string
	}{{"program", &out.Programs}, {"channel", &out.Channels}} {
		if *col.dst, err = s.runLevels(ctx, cur, col.name); err != nil {
			return out, err
		}
	}
	return out, nil
}

// runLevels lists the values of a column of patients among a run's
// scored patients. A run's levels are read at most every levelsTTL: its
// scores do not change (scoring again writes a new run, scored at another
// time), and a load clears them, but the source tables may be views over
// an organisation's tables, whose programs change when they do.
func (s *Store) runLevels(ctx context.Context, run runRow, column string) ([]string, error) {
	runID := run.id
	key := strconv.FormatInt(runID, 10) + "/" + strconv.FormatInt(run.run.ScoredAt.UnixNano(), 10) + "/" + column
	if v, ok := s.levels.Load(key); ok {
		if c := v.(cachedLevels); time.Since(c.at) < levelsTTL {
			return c.levels, nil
		}
	}
	rows, err := s.db.QueryContext(ctx, "SELECT DISTINCT p."+column+" FROM scores s JOIN patients p ON p.patient_id = s.patient_id WHERE s.run_id = "+
		s.d.Bind(1)+" ORDER BY 1", runID)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the worklist's %s levels: %w", s.d.Name, column, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v sql.NullString
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		if v.Valid {
			out = append(out, v.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.levels.Store(key, cachedLevels{levels: out, at: time.Now()})
	return out, nil
}

// levelsTTL bounds how long the worklist's filter menus may miss a level
// new in the source tables.
const levelsTTL = 5 * time.Minute

type cachedLevels struct {
	levels []string
	at     time.Time
}

const contactSelect = "SELECT id, patient_id, at, outcome, note, recorded_by FROM contacts "

func scanContact(row interface{ Scan(...any) error }) (caresignal.Contact, error) {
	var c caresignal.Contact
	var at any
	if err := row.Scan(&c.ID, &c.PatientID, &at, &c.Outcome, &c.Note, &c.By); err != nil {
		return c, err
	}
	var err error
	c.At, err = parseTime(at)
	return c, err
}

// lastContacts sets each row's latest contact. A page's patients are
// looked up by id; a longer list (an export) reads every patient's
// latest contact.
func (s *Store) lastContacts(ctx context.Context, rows []caresignal.WorklistRow) error {
	if len(rows) == 0 {
		return nil
	}
	var q string
	var args []any
	if len(rows) <= 500 {
		marks := make([]string, len(rows))
		for i, r := range rows {
			marks[i] = s.d.Bind(i + 1)
			args = append(args, r.PatientID)
		}
		q = contactSelect + "WHERE patient_id IN (" + strings.Join(marks, ", ") + ") ORDER BY patient_id, at DESC, id DESC"
	} else {
		q = contactSelect + "ORDER BY patient_id, at DESC, id DESC"
	}
	res, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: reading contacts: %w", s.d.Name, err)
	}
	defer res.Close()
	latest := map[string]*caresignal.Contact{}
	for res.Next() {
		c, err := scanContact(res)
		if err != nil {
			return fmt.Errorf("%s: reading contacts: %w", s.d.Name, err)
		}
		if _, seen := latest[c.PatientID]; !seen {
			latest[c.PatientID] = &c
		}
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("%s: reading contacts: %w", s.d.Name, err)
	}
	for i := range rows {
		rows[i].LastContact = latest[rows[i].PatientID]
	}
	return nil
}

// PatientScores returns every run's score of a patient, oldest first.
func (s *Store) PatientScores(ctx context.Context, patientID string) ([]caresignal.PatientScore, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT r.id, r.model_name, r.model_version, r.as_of, r.scored_at, r.horizon, "+scoreRead+
		" FROM scores s JOIN score_runs r ON r.id = s.run_id WHERE s.patient_id = "+s.d.Bind(1)+" ORDER BY r.as_of, r.id", patientID)
	if err != nil {
		return nil, fmt.Errorf("%s: reading a patient's scores: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []caresignal.PatientScore
	for rows.Next() {
		var ps caresignal.PatientScore
		var x scoreScan
		run := runScan{run: &ps.Run}
		if err := rows.Scan(append(run.dest(), x.dest(&ps.Score)...)...); err != nil {
			return nil, fmt.Errorf("%s: reading a patient's scores: %w", s.d.Name, err)
		}
		if err := run.finish(); err != nil {
			return nil, err
		}
		if err := x.finish(&ps.Score); err != nil {
			return nil, err
		}
		ps.PatientID = patientID
		out = append(out, ps)
	}
	return out, rows.Err()
}

// PatientNow returns a currently enrolled patient's row of the prediction
// extract, with the enrolment date and the ELT's as-of date.
func (s *Store) PatientNow(ctx context.Context, patientID string) (caresignal.PatientNow, error) {
	var out caresignal.PatientNow
	x, err := s.extract(ctx, qPatient, patientID)
	if err != nil {
		return out, err
	}
	if len(x.Rows) == 0 {
		return out, caresignal.Errorf(caresignal.ENOTFOUND, "no enrolled patient has that id")
	}
	out.Columns, out.Row = x.Columns, x.Rows[0]
	var enrolled any
	if err := s.db.QueryRowContext(ctx, "SELECT enrolled_on FROM patients WHERE patient_id = "+s.d.Bind(1), patientID).Scan(&enrolled); err != nil {
		return out, fmt.Errorf("%s: reading a patient's enrolment: %w", s.d.Name, err)
	}
	if out.EnrolledOn, err = parseDate(enrolled); err != nil {
		return out, err
	}
	out.AsOf, err = s.LastELT(ctx)
	return out, err
}

// checkContact says what is wrong with a contact to record, or nil.
func checkContact(c caresignal.Contact) error {
	if c.PatientID == "" {
		return caresignal.Invalidf("patient_id", "a contact names the patient")
	}
	if !slices.Contains(caresignal.ContactOutcomes, c.Outcome) {
		return caresignal.Invalidf("outcome", "unknown outcome %q: use reached, no_answer, declined or re_engaged", c.Outcome)
	}
	if n := utf8.RuneCountInString(c.Note); n > caresignal.MaxContactNote {
		return caresignal.Invalidf("note", "the note has %d characters; at most %d are kept", n, caresignal.MaxContactNote)
	}
	if !utf8.ValidString(c.Note) || strings.ContainsRune(c.Note, 0) {
		return caresignal.Invalidf("note", "the note is not valid text")
	}
	if c.By == "" {
		return caresignal.Invalidf("by", "a contact names who recorded it")
	}
	if c.At.IsZero() {
		return caresignal.Invalidf("at", "a contact has a time")
	}
	return nil
}

// contactTime writes a contact's time with a fixed-width fraction, so
// that SQLite, which keeps it as text, orders contacts by time.
const contactTime = "2006-01-02T15:04:05.000000000Z07:00"

// RecordContact stores a contact with a patient of the source tables.
func (s *Store) RecordContact(ctx context.Context, c caresignal.Contact) (caresignal.Contact, error) {
	if err := checkContact(c); err != nil {
		return c, err
	}
	c.At = c.At.UTC()
	b := s.d.Bind
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM patients WHERE patient_id = "+b(1), c.PatientID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return caresignal.Errorf(caresignal.ENOTFOUND, "no patient has that id")
		}
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "INSERT INTO contacts (patient_id, at, outcome, note, recorded_by) VALUES ("+b(1)+", "+b(2)+", "+b(3)+", "+b(4)+", "+b(5)+") RETURNING id",
			c.PatientID, c.At.Format(contactTime), c.Outcome, c.Note, c.By).Scan(&c.ID)
	})
	if err != nil {
		if caresignal.ErrorCode(err) != "" {
			return c, err
		}
		return c, fmt.Errorf("%s: recording a contact: %w", s.d.Name, err)
	}
	return c, nil
}

// Contacts returns a patient's contacts, newest first.
func (s *Store) Contacts(ctx context.Context, patientID string) ([]caresignal.Contact, error) {
	rows, err := s.db.QueryContext(ctx, contactSelect+"WHERE patient_id = "+s.d.Bind(1)+" ORDER BY at DESC, id DESC", patientID)
	if err != nil {
		return nil, fmt.Errorf("%s: reading contacts: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []caresignal.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: reading contacts: %w", s.d.Name, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ContactFollowUp says what followed the contacts with the high band of
// the latest run as of asOf or earlier: which flagged patients were
// contacted after the run was scored, their latest outcome, and who
// dropped off since the run's as-of date.
func (s *Store) ContactFollowUp(ctx context.Context, asOf time.Time) (caresignal.ContactFollowUp, error) {
	var out caresignal.ContactFollowUp
	r, err := scanRun(s.db.QueryRowContext(ctx, runSelect+"WHERE as_of <= "+s.d.Bind(1)+" ORDER BY as_of DESC, id DESC LIMIT 1", FormatDate(asOf)))
	if errors.Is(err, sql.ErrNoRows) {
		return out, caresignal.Errorf(caresignal.ENOTFOUND, "no scoring run as of %s or earlier", FormatDate(asOf))
	}
	if err != nil {
		return out, fmt.Errorf("%s: reading score runs: %w", s.d.Name, err)
	}
	out.Run, out.ByOutcome = r.run, map[string]int{}
	rows, err := s.db.QueryContext(ctx, "SELECT s.patient_id, c.at, c.outcome, c.id, d.disenrolled_on"+
		" FROM scores s LEFT JOIN contacts c ON c.patient_id = s.patient_id"+
		" LEFT JOIN disenrolments d ON d.patient_id = s.patient_id AND d.reason = 'disengaged'"+
		" WHERE s.run_id = "+s.d.Bind(1)+" AND s.band = 1 ORDER BY s.patient_id", r.id)
	if err != nil {
		return out, fmt.Errorf("%s: following up contacts: %w", s.d.Name, err)
	}
	defer rows.Close()
	type patient struct {
		dropped  bool
		latestAt time.Time
		latestID int64
		outcome  string
	}
	flagged := map[string]*patient{}
	for rows.Next() {
		var id string
		var at, dropped any
		var outcome sql.NullString
		var cid sql.NullInt64
		if err := rows.Scan(&id, &at, &outcome, &cid, &dropped); err != nil {
			return out, fmt.Errorf("%s: following up contacts: %w", s.d.Name, err)
		}
		p := flagged[id]
		if p == nil {
			p = &patient{}
			flagged[id] = p
		}
		if dropped != nil {
			d, err := parseDate(dropped)
			if err != nil {
				return out, err
			}
			p.dropped = !d.Before(r.run.AsOf)
		}
		if at == nil {
			continue
		}
		t, err := parseTime(at)
		if err != nil {
			return out, err
		}
		if t.Before(r.run.ScoredAt) {
			continue
		}
		if t.After(p.latestAt) || (t.Equal(p.latestAt) && cid.Int64 > p.latestID) {
			p.latestAt, p.latestID, p.outcome = t, cid.Int64, outcome.String
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("%s: following up contacts: %w", s.d.Name, err)
	}
	out.Flagged = len(flagged)
	for _, p := range flagged {
		switch {
		case p.outcome != "":
			out.Contacted++
			out.ByOutcome[p.outcome]++
			if p.dropped {
				out.DroppedContacted++
			}
		case p.dropped:
			out.DroppedOthers++
		}
	}
	return out, nil
}
