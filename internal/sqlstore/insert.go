package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
)

// InsertRows inserts n rows into table with multi-row INSERT statements of
// up to batch rows each, inside tx. row(i, dst) appends the values of row i
// to dst. progress, if set, is called with the rows done so far.
func InsertRows(ctx context.Context, tx *sql.Tx, bind func(int) string, table string, cols []string, n, batch int,
	row func(i int, dst []any) []any, progress func(done int)) error {
	var stmt *sql.Stmt
	stmtRows := 0
	defer func() {
		if stmt != nil {
			stmt.Close()
		}
	}()
	args := make([]any, 0, batch*len(cols))
	for start := 0; start < n; start += batch {
		k := min(batch, n-start)
		if k != stmtRows {
			if stmt != nil {
				stmt.Close()
			}
			var err error
			stmt, err = tx.PrepareContext(ctx, insertSQL(bind, table, cols, k))
			if err != nil {
				return err
			}
			stmtRows = k
		}
		args = args[:0]
		for i := start; i < start+k; i++ {
			args = row(i, args)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
		if progress != nil {
			progress(start + k)
		}
	}
	return nil
}

func insertSQL(bind func(int) string, table string, cols []string, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	p := 1
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteString(bind(p))
			p++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Columns of the source tables, in the order loaders write them.
var (
	PatientColumns      = []string{"patient_id", "enrolled_on", "age", "sex", "program", "channel", "baseline_score", "prior_no_shows", "enrolled_via"}
	EventColumns        = []string{"patient_id", "occurred_on", "kind"}
	DisenrolmentColumns = []string{"patient_id", "disenrolled_on", "reason"}
)

// PatientValues appends p's values to dst in PatientColumns' order, its
// date as date renders it (a driver's date type, or text); a missing
// baseline score is NULL.
func PatientValues(dst []any, p *caresignal.Patient, date func(time.Time) any) []any {
	var score any
	if p.BaselineScore.Valid {
		score = p.BaselineScore.Float
	}
	return append(dst, p.ID, date(p.EnrolledOn), p.Age, p.Sex, p.Program, p.Channel, score, p.PriorNoShows, p.EnrolledVia)
}

// DateText renders a date as the text the embedded database stores.
func DateText(t time.Time) any { return FormatDate(t) }

// InsertSource inserts src's rows into the three source tables within tx
// with multi-row INSERTs (bind renders the dialect's placeholders),
// telling progress the rows written out of all of them.
func InsertSource(ctx context.Context, tx *sql.Tx, bind func(int) string, src *caresignal.Source, progress caresignal.Progress) error {
	total := len(src.Patients) + len(src.Events) + len(src.Disenrolments)
	done := 0
	report := func(n int) {
		if progress != nil {
			progress(done+n, total)
		}
	}
	err := InsertRows(ctx, tx, bind, "patients", PatientColumns, len(src.Patients), 100,
		func(i int, dst []any) []any { return PatientValues(dst, &src.Patients[i], DateText) }, report)
	if err != nil {
		return fmt.Errorf("patients: %w", err)
	}
	done += len(src.Patients)
	err = InsertRows(ctx, tx, bind, "engagement_events", EventColumns, len(src.Events), 300,
		func(i int, dst []any) []any {
			e := &src.Events[i]
			return append(dst, e.PatientID, FormatDate(e.OccurredOn), e.Kind)
		}, report)
	if err != nil {
		return fmt.Errorf("engagement_events: %w", err)
	}
	done += len(src.Events)
	err = InsertRows(ctx, tx, bind, "disenrolments", DisenrolmentColumns, len(src.Disenrolments), 300,
		func(i int, dst []any) []any {
			d := &src.Disenrolments[i]
			return append(dst, d.PatientID, FormatDate(d.DisenrolledOn), d.Reason)
		}, report)
	if err != nil {
		return fmt.Errorf("disenrolments: %w", err)
	}
	return nil
}
