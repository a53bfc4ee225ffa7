package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
)

// qELTCount is not a file: it is the ELT's own SELECT (elt_person_period.sql
// less its INSERT line) wrapped in a count by status, so that check-source
// counts the rows the ELT would build by the very query that builds them,
// without writing.
const qELTCount = "elt count"

// eltCountQuery derives qELTCount from the ELT's INSERT … SELECT.
func eltCountQuery(elt string) (string, error) {
	const insert = "INSERT INTO person_period"
	i := strings.Index(elt, insert)
	if i < 0 {
		return "", errors.New("no " + insert + " line")
	}
	nl := strings.IndexByte(elt[i:], '\n')
	if nl < 0 {
		return "", errors.New("nothing after the " + insert + " line")
	}
	sel := elt[i+nl+1:]
	return "WITH elt (patient_id, month, status, sessions_last_month, days_since_last_session, messages_last_month) AS (\n" +
		sel + "\n)\nSELECT status, COUNT(*) FROM elt GROUP BY status", nil
}

// sourceViews names the source tables that are views.
func (s *Store) sourceViews(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q[qViews])
	if err != nil {
		return nil, fmt.Errorf("%s: finding source views: %w", s.d.Name, err)
	}
	defer rows.Close()
	var views []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, rows.Err()
}

// CheckSource reports what RunELT would see as of asOf, with read-only
// queries: nothing is written, and no transaction is opened.
func (s *Store) CheckSource(ctx context.Context, asOf time.Time) (caresignal.SourceCheck, error) {
	c := caresignal.SourceCheck{PersonPeriod: map[caresignal.Status]int{}}
	fail := func(what string, err error) (caresignal.SourceCheck, error) {
		return c, fmt.Errorf("%s: check-source: %s: %w", s.d.Name, what, err)
	}
	var err error
	if c.Views, err = s.sourceViews(ctx); err != nil {
		return c, err
	}
	if err := s.sourceRanges(ctx, &c); err != nil {
		return fail("date ranges", err)
	}
	// Empty tables have no end: c.End stays zero.
	if c.End, err = s.sourceEnd(ctx); err != nil && !errors.Is(err, errNoDate) {
		return c, fmt.Errorf("%s: check-source: %w", s.d.Name, err)
	}
	c.AsOf = asOf
	if asOf.IsZero() {
		c.AsOf, c.DefaultAsOf = c.End, true
	}
	if err := s.sourceLevels(ctx, &c); err != nil {
		return fail("levels", err)
	}
	if c.AsOf.IsZero() {
		// Empty tables: there is no default as-of date to count against.
		c.Refusals = append(c.Refusals, "the source tables are empty: there are no patients")
		return c, nil
	}
	n := map[string]int{}
	rows, err := s.db.QueryContext(ctx, s.q[qCheckSource], FormatDate(c.AsOf))
	if err != nil {
		return fail("counts", err)
	}
	for rows.Next() {
		var item string
		var k int
		if err := rows.Scan(&item, &k); err != nil {
			rows.Close()
			return fail("counts", err)
		}
		n[item] += k
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail("counts", err)
	}
	c.Patients.Rows = n["patients.rows"]
	c.Events.Rows = n["events.rows"]
	c.Disenrolments.Rows = n["disenrolments.rows"]
	c.PatientsWithoutEvents = n["patients.without_events"]

	rows, err = s.db.QueryContext(ctx, s.q[qELTCount], FormatDate(c.AsOf))
	if err != nil {
		return fail("person-period rows", err)
	}
	for rows.Next() {
		var st string
		var k int
		if err := rows.Scan(&st, &k); err != nil {
			rows.Close()
			return fail("person-period rows", err)
		}
		c.PersonPeriod[caresignal.Status(st)] = k
		c.PersonPeriodRows += k
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail("person-period rows", err)
	}

	asOfText := FormatDate(c.AsOf)
	ignore := func(table, item, reason string) {
		if k := n[item]; k > 0 {
			c.Ignored = append(c.Ignored, caresignal.IgnoredRows{Table: table, Rows: k, Reason: reason})
		}
	}
	ignore("patients", "patients.missing_enrolled_on", "no enrolled_on: never in the person-period table")
	ignore("patients", "patients.enrolled_on_or_after_as_of", "enrolled on or after the as-of date "+asOfText+": not yet at risk")
	ignore("engagement_events", "events.unknown_patient", "names a patient_id that patients does not have")
	ignore("engagement_events", "events.missing_date", "no occurred_on")
	ignore("engagement_events", "events.patient_not_enrolled", "its patient enrolled on or after the as-of date (or has no enrolled_on)")
	ignore("engagement_events", "events.on_or_after_as_of", "on or after the as-of date "+asOfText)
	ignore("engagement_events", "events.after_disenrolment", "after its patient's disenrolment: no month at risk follows")
	ignore("engagement_events", "events.other_kind", "kind is neither session nor message: counted as neither")
	ignore("disenrolments", "disenrolments.unknown_patient", "names a patient_id that patients does not have")
	ignore("disenrolments", "disenrolments.missing_date", "no disenrolled_on: the patient counts as still enrolled")
	ignore("disenrolments", "disenrolments.on_or_after_as_of", "on or after the as-of date "+asOfText+": the patient counts as still enrolled")
	if k := n["patients.missing_value"]; k > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d patients have a missing age, sex, program, channel, prior_no_shows or enrolled_via: "+
			"the ELT keeps them, and training and scoring impute the value where the model's spec says so and refuse it otherwise", k))
	}

	// The ELT's refusals (RunELT), and the data that would make it fail on
	// person_period's primary key.
	if c.Patients.Rows == 0 {
		c.Refusals = append(c.Refusals, "the source tables are empty: there are no patients")
	}
	if k := n["disenrolments.before_enrolment"]; k > 0 {
		c.Refusals = append(c.Refusals, fmt.Sprintf("%d disenrolments are dated before their patient's enrolment", k))
	}
	if !c.DefaultAsOf && !c.End.IsZero() && c.AsOf.After(c.End.AddDate(0, 0, MaxQuietDays)) {
		c.Refusals = append(c.Refusals, fmt.Sprintf("as-of %s is more than %d days after the source data end (latest date %s): the months in between would count as survived; use an as-of up to %s",
			asOfText, MaxQuietDays, FormatDate(c.End.AddDate(0, 0, -1)), FormatDate(c.End.AddDate(0, 0, MaxQuietDays))))
	}
	if c.Patients.Rows > 0 && c.PersonPeriodRows == 0 {
		c.Refusals = append(c.Refusals, fmt.Sprintf("as-of %s is on or before every enrolment: the person-period table would be empty", asOfText))
	}
	if k := c.Patients.Rows - n["patients.ids"] - n["patients.missing_id"]; k > 0 {
		c.Refusals = append(c.Refusals, fmt.Sprintf("%d patients rows repeat a patient_id: the ELT would build their months twice and fail on person_period's primary key", k))
	}
	if k := n["disenrolments.duplicate"]; k > 0 {
		c.Refusals = append(c.Refusals, fmt.Sprintf("%d disenrolments rows repeat a patient_id (a patient has at most one): the ELT would build that patient's months twice and fail on person_period's primary key", k))
	}
	if k := n["patients.missing_id_in_period"]; k > 0 {
		c.Refusals = append(c.Refusals, fmt.Sprintf("%d patients enrolled before the as-of date have no patient_id: the ELT would fail on person_period's NOT NULL patient_id", k))
	}
	return c, nil
}

// sourceRanges fills each table's date range.
func (s *Store) sourceRanges(ctx context.Context, c *caresignal.SourceCheck) error {
	raw := make([]any, 6)
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if err := s.db.QueryRowContext(ctx, s.q[qRanges]).Scan(ptrs...); err != nil {
		return err
	}
	dst := []*time.Time{&c.Patients.First, &c.Patients.Last, &c.Events.First, &c.Events.Last, &c.Disenrolments.First, &c.Disenrolments.Last}
	for i, v := range raw {
		if v == nil {
			continue
		}
		t, err := parseDate(v)
		if err != nil {
			return err
		}
		*dst[i] = t
	}
	return nil
}

// sourceLevels fills the levels of the categorical columns, each column's
// levels sorted by name (byte order, the same on both databases) with a
// missing value last.
func (s *Store) sourceLevels(ctx context.Context, c *caresignal.SourceCheck) error {
	rows, err := s.db.QueryContext(ctx, s.q[qLevels])
	if err != nil {
		return err
	}
	defer rows.Close()
	byCol := map[string]int{} // index into c.Levels
	for rows.Next() {
		var table, col string
		var level *string
		var k int
		if err := rows.Scan(&table, &col, &level, &k); err != nil {
			return err
		}
		i, ok := byCol[col]
		if !ok {
			i = len(c.Levels)
			byCol[col] = i
			c.Levels = append(c.Levels, caresignal.SourceLevels{Table: table, Column: col})
		}
		lc := caresignal.LevelCount{Rows: k, Missing: level == nil}
		if level != nil {
			lc.Level = *level
		}
		c.Levels[i].Levels = append(c.Levels[i].Levels, lc)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	order := map[string]int{"sex": 0, "program": 1, "channel": 2, "enrolled_via": 3, "kind": 4, "reason": 5}
	slices.SortFunc(c.Levels, func(a, b caresignal.SourceLevels) int { return cmp.Compare(order[a.Column], order[b.Column]) })
	for i := range c.Levels {
		slices.SortFunc(c.Levels[i].Levels, func(a, b caresignal.LevelCount) int {
			if a.Missing != b.Missing {
				if a.Missing {
					return 1
				}
				return -1
			}
			return strings.Compare(a.Level, b.Level)
		})
	}
	return nil
}
