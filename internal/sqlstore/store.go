// Package sqlstore implements caresignal.Store over database/sql for any
// SQL dialect that supplies its schema migrations, its queries and a bulk
// loader. The SQLite and PostgreSQL adapters are thin: they own their SQL
// files and driver details, and this package owns the logic, so both run
// the same code path and the conformance suite in internal/storetest holds
// them to the same rows.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/caresignal/caresignal"
)

// Dialect is what an adapter supplies.
type Dialect struct {
	// Name names the database kind in messages and metadata ("sqlite").
	Name string
	// FS holds migrations/NNNN_name.sql, applied in name order, and the
	// queries in queries/*.sql (see the constants below).
	FS fs.FS
	// Bind returns the placeholder of the n-th parameter (1-based).
	Bind func(n int) string
	// LockMigrations, if set, is run first in the migration transaction to
	// keep two processes from migrating at once.
	LockMigrations string
	// LockModel, if set, is run first in every transaction that changes a
	// model name's registry rows, with the name as its one parameter, to
	// keep two writers from interleaving on one name (SQLite needs none:
	// its writers already take turns).
	LockModel string
	// Notify, if set, is run last in every transaction that changes a
	// model name's serving state, with the name as its one parameter, to
	// tell the servers watching the registry when the transaction commits.
	Notify string
	// Watch, if set, is Store.WatchRegistry: it signals the changes Notify
	// announces.
	Watch func(ctx context.Context, name string) <-chan struct{}
	// IsConflict, if set, reports whether a driver error is a unique-key
	// violation or another clash with a concurrent transaction, which
	// the store reports as caresignal.ECONFLICT.
	IsConflict func(error) bool
	// IsRefused, if set, reports whether a driver error is the database
	// refusing the data itself (an encoding it does not accept, a failed
	// CHECK, a value too large), which no retry will change; AppendRequests
	// reports it as caresignal.EINVALID, so that the prediction log can
	// set the record aside instead of retrying it.
	IsRefused func(error) bool
	// ByteOrder, if set, follows a text column in ORDER BY to sort it
	// byte-wise, as Go and SQLite do, whatever the database's locale
	// (PostgreSQL: ` COLLATE "C"`).
	ByteOrder string
	// LoadSource replaces the source tables' rows in one transaction.
	LoadSource func(ctx context.Context, db *sql.DB, src *caresignal.Source, progress caresignal.Progress) error
}

// The query files every dialect provides.
const (
	qValidate     = "queries/validate_source.sql"    // one row: patients, disenrolments dated before enrolment
	qSourceEnd    = "queries/source_end.sql"         // one row: the day after the latest source date
	qELT          = "queries/elt_person_period.sql"  // INSERT … SELECT, one parameter: as_of
	qPersonPeriod = "queries/person_period.sql"      // the whole table
	qTraining     = "queries/training_extract.sql"   // rows with known outcome
	qPrediction   = "queries/prediction_extract.sql" // the month in progress of enrolled patients
	qPatient      = "queries/patient_extract.sql"    // the same for one patient, the one parameter: patient_id
	qCheckSource  = "queries/check_source.sql"       // rows (item, count), one parameter: as_of
	qRanges       = "queries/source_ranges.sql"      // one row: first and last date of each source table
	qLevels       = "queries/source_levels.sql"      // rows (table, column, level, count)
	qViews        = "queries/source_views.sql"       // the source tables that are views
)

// MaxQuietDays is how far past the latest source date an as-of date may
// be. A program with no enrolment, event or disenrolment for a month is
// more likely a stale extract than a quiet month.
const MaxQuietDays = 30

// Store is a caresignal.Store on a *sql.DB.
type Store struct {
	db *sql.DB
	d  Dialect
	q  map[string]string

	predMu    sync.Mutex
	predStmts [len(stmtRows)]*sql.Stmt // the INSERTs of prediction records, by stmtRows

	levels sync.Map // a run's program and channel levels, by run (runLevels)
}

var (
	_ caresignal.Store           = (*Store)(nil)
	_ caresignal.RegistryWatcher = (*Store)(nil)
)

// Open wraps db, loads the dialect's queries and applies pending
// migrations. The Store owns db and closes it on Close.
func Open(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	s := &Store{db: db, d: d, q: map[string]string{}}
	for _, name := range []string{qValidate, qSourceEnd, qELT, qPersonPeriod, qTraining, qPrediction, qPatient, qCheckSource, qRanges, qLevels, qViews} {
		b, err := fs.ReadFile(d.FS, name)
		if err != nil {
			return nil, fmt.Errorf("%s: missing query %s: %w", d.Name, name, err)
		}
		s.q[name] = string(b)
	}
	count, err := eltCountQuery(s.q[qELT])
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", d.Name, qELT, err)
	}
	s.q[qELTCount] = count
	if err := db.PingContext(ctx); err != nil {
		return nil, unavailable(d.Name, err)
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// DB returns the underlying pool, for tests and tools.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error {
	s.predMu.Lock()
	for i, st := range s.predStmts {
		if st != nil {
			st.Close()
			s.predStmts[i] = nil
		}
	}
	s.predMu.Unlock()
	return s.db.Close()
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return unavailable(s.d.Name, err)
	}
	return nil
}

// refuseViews refuses to write into source tables that are views onto an
// organisation's own tables.
func (s *Store) refuseViews(ctx context.Context) error {
	views, err := s.sourceViews(ctx)
	if err != nil {
		return err
	}
	if len(views) > 0 {
		return caresignal.Errorf(caresignal.EINVALID, "the source tables %s are views onto other tables (docs/data.md, \"Your own tables in PostgreSQL\"): "+
			"change the data where the views read it, and run \"caresignal check-source\" and \"caresignal etl\"; generate and load write only into tables", strings.Join(views, ", "))
	}
	return nil
}

// ReplaceSource replaces the source tables' contents. What was derived
// from the old rows — the person-period table, the ELT runs, the scores —
// is emptied in the same transaction.
func (s *Store) ReplaceSource(ctx context.Context, src *caresignal.Source, progress caresignal.Progress) error {
	if err := s.refuseViews(ctx); err != nil {
		return err
	}
	if err := s.d.LoadSource(ctx, s.db, src, progress); err != nil {
		return fmt.Errorf("%s: loading source tables: %w", s.d.Name, err)
	}
	return nil
}

// RunELT rebuilds the person-period table in one transaction.
func (s *Store) RunELT(ctx context.Context, asOf time.Time) (caresignal.ELTResult, error) {
	res := caresignal.ELTResult{ByStatus: map[caresignal.Status]int{}}
	var total, before int
	if err := s.db.QueryRowContext(ctx, s.q[qValidate]).Scan(&total, &before); err != nil {
		return res, fmt.Errorf("%s: checking source tables: %w", s.d.Name, err)
	}
	if total == 0 {
		return res, caresignal.Errorf(caresignal.EINVALID, "the source tables are empty: load patients first (caresignal generate)")
	}
	if before > 0 {
		return res, caresignal.Errorf(caresignal.EINVALID, "source data: %d disenrolments are dated before their patient's enrolment; fix them before running the ELT", before)
	}
	end, err := s.sourceEnd(ctx)
	if err != nil {
		return res, fmt.Errorf("%s: %w", s.d.Name, err)
	}
	switch {
	case asOf.IsZero():
		asOf = end
	case asOf.After(end.AddDate(0, 0, MaxQuietDays)):
		// Months after the data would all count as survived and pull the
		// hazard down: refuse rather than invent them.
		return res, caresignal.Invalidf("as-of", "as-of %s is more than %d days after the source data end (latest date %s): the months in between would count as survived; use an as-of up to %s",
			FormatDate(asOf), MaxQuietDays, FormatDate(end.AddDate(0, 0, -1)), FormatDate(end.AddDate(0, 0, MaxQuietDays)))
	}
	res.AsOf = asOf
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM person_period"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q[qELT], FormatDate(asOf)); err != nil {
			return fmt.Errorf("building person_period: %w", err)
		}
		rows, err := tx.QueryContext(ctx, "SELECT status, COUNT(*) FROM person_period GROUP BY status ORDER BY status")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st string
			var n int
			if err := rows.Scan(&st, &n); err != nil {
				return err
			}
			res.ByStatus[caresignal.Status(st)] = n
			res.Rows += n
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if res.Rows == 0 {
			return caresignal.Invalidf("as-of", "as-of %s is on or before every enrolment: the person-period table would be empty", FormatDate(asOf))
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO elt_runs (as_of, person_period_rows, finished_at) VALUES ("+s.d.Bind(1)+", "+s.d.Bind(2)+", "+s.d.Bind(3)+")",
			FormatDate(asOf), res.Rows, time.Now().UTC().Format(time.RFC3339))
		return err
	})
	if err != nil {
		return res, fmt.Errorf("%s: ELT: %w", s.d.Name, err)
	}
	return res, nil
}

// LastELT returns the as-of date of the latest ELT run.
func (s *Store) LastELT(ctx context.Context) (time.Time, error) {
	var asOf any
	err := s.db.QueryRowContext(ctx, "SELECT as_of FROM elt_runs ORDER BY id DESC LIMIT 1").Scan(&asOf)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, caresignal.Errorf(caresignal.ENOTFOUND, "the ELT has not been run on this database (caresignal etl)")
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", s.d.Name, err)
	}
	return parseDate(asOf)
}

// inTx runs fn in a transaction, committing if it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func unavailable(name string, err error) error {
	return &caresignal.Error{Code: caresignal.EUNAVAILABLE, Message: name + " database is unreachable", Err: err}
}

// FormatDate formats a calendar date as the source tables store it.
func FormatDate(t time.Time) string { return t.Format(time.DateOnly) }

// errNoDate is parseDate's error for NULL, the latest date of empty tables.
var errNoDate = errors.New("no date (the table is empty)")

// sourceEnd reads the day after the latest date in the source tables, the
// default as-of date; errNoDate when the tables are empty.
func (s *Store) sourceEnd(ctx context.Context) (time.Time, error) {
	var raw any
	if err := s.db.QueryRowContext(ctx, s.q[qSourceEnd]).Scan(&raw); err != nil {
		return time.Time{}, fmt.Errorf("finding the end of the source data: %w", err)
	}
	end, err := parseDate(raw)
	if err != nil {
		return time.Time{}, fmt.Errorf("end of the source data: %w", err)
	}
	return end, nil
}

// parseDate reads a date column, which drivers return as text or time.
func parseDate(v any) (time.Time, error) {
	switch v := v.(type) {
	case time.Time:
		return time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, time.UTC), nil
	case string:
		return time.Parse(time.DateOnly, v)
	case []byte:
		return time.Parse(time.DateOnly, string(v))
	case nil:
		return time.Time{}, errNoDate
	}
	return time.Time{}, fmt.Errorf("unexpected date value of type %T", v)
}
