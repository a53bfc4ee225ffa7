package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
)

// KnownPatients returns every source patient's enrolment date by id.
func (s *Store) KnownPatients(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT patient_id, enrolled_on FROM patients")
	if err != nil {
		return nil, fmt.Errorf("%s: reading patients: %w", s.d.Name, err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var on any
		if err := rows.Scan(&id, &on); err != nil {
			return nil, err
		}
		t, err := parseDate(on)
		if err != nil {
			return nil, err
		}
		out[id] = t
	}
	return out, rows.Err()
}

// AppendSource adds the patients, events and disenrolments of src that
// the source tables lack, in one transaction (see caresignal.AppendResult).
func (s *Store) AppendSource(ctx context.Context, src *caresignal.Source, progress caresignal.Progress) (caresignal.AppendResult, error) {
	var res caresignal.AppendResult
	if err := s.refuseViews(ctx); err != nil {
		return res, err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := loadedPatients(ctx, tx)
		if err != nil {
			return err
		}
		var add caresignal.Source // what is not loaded yet
		fresh := map[string]bool{}
		for i := range src.Patients {
			p := &src.Patients[i]
			was, ok := old[p.ID]
			if !ok {
				add.Patients = append(add.Patients, *p)
				fresh[p.ID] = true
				continue
			}
			if diff := patientDiff(&was, p); diff != "" {
				return caresignal.Invalidf("patients", "patient %q was loaded before with %s: an append adds patients, events and disenrolments, and changes none; load the whole export without --append to correct it", p.ID, diff)
			}
			res.SamePatients++
		}
		left := map[string]caresignal.Disenrolment{}
		rows, err := tx.QueryContext(ctx, "SELECT patient_id, disenrolled_on, reason FROM disenrolments")
		if err != nil {
			return err
		}
		for rows.Next() {
			var d caresignal.Disenrolment
			var on any
			if err := rows.Scan(&d.PatientID, &on, &d.Reason); err != nil {
				rows.Close()
				return err
			}
			if d.DisenrolledOn, err = parseDate(on); err != nil {
				rows.Close()
				return err
			}
			left[d.PatientID] = d
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range src.Disenrolments {
			d := &src.Disenrolments[i]
			was, ok := left[d.PatientID]
			switch {
			case !ok:
				add.Disenrolments = append(add.Disenrolments, *d)
			case was.DisenrolledOn.Equal(d.DisenrolledOn) && was.Reason == d.Reason:
				res.SameDisenrolments++
			default:
				return caresignal.Invalidf("disenrolments", "patient %q was loaded before as disenrolled on %s (%s), now on %s (%s): an append changes nothing loaded; load the whole export without --append to correct it",
					d.PatientID, FormatDate(was.DisenrolledOn), was.Reason, FormatDate(d.DisenrolledOn), d.Reason)
			}
		}
		var through any
		if err := tx.QueryRowContext(ctx, "SELECT MAX(occurred_on) FROM engagement_events").Scan(&through); err != nil {
			return err
		}
		if through != nil {
			if res.Through, err = parseDate(through); err != nil {
				return err
			}
		}
		for i := range src.Events {
			e := &src.Events[i]
			if fresh[e.PatientID] || res.Through.IsZero() || e.OccurredOn.After(res.Through) {
				add.Events = append(add.Events, *e)
			} else {
				res.OldEvents++
			}
		}
		if err := InsertSource(ctx, tx, s.d.Bind, &add, progress); err != nil {
			return err
		}
		res.Patients, res.Events, res.Disenrolments = len(add.Patients), len(add.Events), len(add.Disenrolments)
		return nil
	})
	if err != nil {
		if caresignal.ErrorCode(err) == caresignal.EINVALID {
			return caresignal.AppendResult{}, err
		}
		return caresignal.AppendResult{}, fmt.Errorf("%s: appending to the source tables: %w", s.d.Name, err)
	}
	return res, nil
}

// loadedPatients reads the source patients by id.
func loadedPatients(ctx context.Context, tx *sql.Tx) (map[string]caresignal.Patient, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+strings.Join(PatientColumns, ", ")+" FROM patients")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]caresignal.Patient{}
	for rows.Next() {
		var p caresignal.Patient
		var on any
		var score sql.NullFloat64
		if err := rows.Scan(&p.ID, &on, &p.Age, &p.Sex, &p.Program, &p.Channel, &score, &p.PriorNoShows, &p.EnrolledVia); err != nil {
			return nil, err
		}
		if p.EnrolledOn, err = parseDate(on); err != nil {
			return nil, err
		}
		p.BaselineScore = caresignal.NullFloat{Float: score.Float64, Valid: score.Valid}
		out[p.ID] = p
	}
	return out, rows.Err()
}

// patientDiff names the first field in which b differs from a, with both
// values, or is "" when they agree.
func patientDiff(a, b *caresignal.Patient) string {
	score := func(s caresignal.NullFloat) string {
		if !s.Valid {
			return "none"
		}
		return fmt.Sprint(s.Float)
	}
	switch {
	case !a.EnrolledOn.Equal(b.EnrolledOn):
		return fmt.Sprintf("enrolled_on %s, now %s", FormatDate(a.EnrolledOn), FormatDate(b.EnrolledOn))
	case a.Age != b.Age:
		return fmt.Sprintf("age %d, now %d", a.Age, b.Age)
	case a.Sex != b.Sex:
		return fmt.Sprintf("sex %q, now %q", a.Sex, b.Sex)
	case a.Program != b.Program:
		return fmt.Sprintf("program %q, now %q", a.Program, b.Program)
	case a.Channel != b.Channel:
		return fmt.Sprintf("channel %q, now %q", a.Channel, b.Channel)
	case a.BaselineScore.Valid != b.BaselineScore.Valid || (a.BaselineScore.Valid && a.BaselineScore.Float != b.BaselineScore.Float):
		return fmt.Sprintf("baseline_score %s, now %s", score(a.BaselineScore), score(b.BaselineScore))
	case a.PriorNoShows != b.PriorNoShows:
		return fmt.Sprintf("prior_no_shows %d, now %d", a.PriorNoShows, b.PriorNoShows)
	case a.EnrolledVia != b.EnrolledVia:
		return fmt.Sprintf("enrolled_via %q, now %q", a.EnrolledVia, b.EnrolledVia)
	}
	return ""
}
