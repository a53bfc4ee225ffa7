// Package postgres is the production data layer: caresignal.Store on
// PostgreSQL through pgx. Source tables are loaded with COPY; the ELT runs
// inside the database; registry changes are announced with NOTIFY to the
// servers that LISTEN (watch.go). Its SQL lives in sql/.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sqlstore"
)

//go:embed sql
var files embed.FS

// IsDSN reports whether s names a PostgreSQL database (a postgres:// or
// postgresql:// URL).
func IsDSN(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database named by dsn (a URL or key=value string;
// a search_path parameter selects the schema) and applies pending
// migrations.
func Open(ctx context.Context, dsn string) (*sqlstore.Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, caresignal.Invalidf("db", "postgres: cannot parse the connection string: %v", err)
	}
	db := stdlib.OpenDB(*cfg)
	sub, _ := fs.Sub(files, "sql")
	s, err := sqlstore.Open(ctx, db, sqlstore.Dialect{
		Name:           "postgres",
		FS:             sub,
		Bind:           func(n int) string { return fmt.Sprintf("$%d", n) },
		LockMigrations: "SELECT pg_advisory_xact_lock(7274417)",
		// One lock per schema and model name, in the two-key space.
		LockModel:  "SELECT pg_advisory_xact_lock(7274418, hashtext(current_schema() || '/' || $1))",
		Notify:     notifyChange,
		Watch:      watcher(cfg),
		LoadSource: loadSource,
		IsConflict: isConflict,
		IsRefused:  isRefused,
		ByteOrder:  ` COLLATE "C"`,
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening postgres database %s@%s/%s: %w", cfg.User, cfg.Host, cfg.Database, err)
	}
	return s, nil
}

// isRefused reports an error about the data itself, which no retry will
// change: a data exception (class 22: bytes that are not UTF-8, a NUL,
// a value out of range), an integrity constraint other than a unique key
// (class 23: CHECK, NOT NULL), or a value past a limit (54000, a key too
// large for its index).
func isRefused(err error) bool {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return false
	}
	switch {
	case strings.HasPrefix(e.Code, "22"), e.Code == "54000":
		return true
	case strings.HasPrefix(e.Code, "23"):
		return e.Code != "23505"
	}
	return false
}

// isConflict reports a unique-key violation, or a transaction the server
// aborted because of a concurrent one (serialization failure, deadlock).
func isConflict(err error) bool {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case "23505", "40001", "40P01": // unique_violation, serialization_failure, deadlock_detected
		return true
	}
	return false
}

// loadSource replaces the source tables with COPY in one transaction.
func loadSource(ctx context.Context, db *sql.DB, src *caresignal.Source, progress caresignal.Progress) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("not a pgx connection")
		}
		tx, err := c.Conn().Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "TRUNCATE person_period, elt_runs, scores, score_runs, disenrolments, engagement_events, patients"); err != nil {
			return err
		}
		total := len(src.Patients) + len(src.Events) + len(src.Disenrolments)
		done := 0
		copyRows := func(table string, cols []string, n int, row func(i int) []any) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
				if done%10000 == 0 && progress != nil {
					progress(done, total)
				}
				if n == 0 {
					return nil, nil
				}
				n--
				done++
				return row(n), nil
			}))
			if err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
			return nil
		}
		// Rows are copied last-first (the callback counts down); the
		// tables have no order, and every extract sorts.
		if err := copyRows("patients", sqlstore.PatientColumns, len(src.Patients), func(i int) []any {
			return sqlstore.PatientValues(nil, &src.Patients[i], func(t time.Time) any { return t })
		}); err != nil {
			return err
		}
		if err := copyRows("engagement_events", sqlstore.EventColumns, len(src.Events), func(i int) []any {
			e := &src.Events[i]
			return []any{e.PatientID, e.OccurredOn, e.Kind}
		}); err != nil {
			return err
		}
		if err := copyRows("disenrolments", sqlstore.DisenrolmentColumns, len(src.Disenrolments), func(i int) []any {
			d := &src.Disenrolments[i]
			return []any{d.PatientID, d.DisenrolledOn, d.Reason}
		}); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		if progress != nil {
			progress(total, total)
		}
		return nil
	})
}
