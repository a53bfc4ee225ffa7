// Package sqlite is the embedded data layer: caresignal.Store on a SQLite
// file through the pure-Go modernc.org/sqlite driver, so the binary builds
// with CGO_ENABLED=0 and needs nothing installed. Its SQL lives in sql/.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	msqlite "modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sqlstore"
)

//go:embed sql
var files embed.FS

// Open opens (creating if needed) the database file at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	if path == "" {
		return nil, caresignal.Invalidf("db", "sqlite: no database file given")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sqlite: creating the folder of %s: %w", path, err)
	}
	file := "file:" + (&url.URL{Path: path}).EscapedPath()
	size, err := prepare(file, path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	// Checkpoints copy the WAL into the database every walBytes or so,
	// whatever the page size: SQLite counts pages (1,000 by default).
	checkpoint := fmt.Sprintf("wal_autocheckpoint(%d)", max(1, walBytes/size))
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)", checkpoint} {
		q.Add("_pragma", p)
	}
	// Write transactions take the lock when they begin, so two writers
	// wait for each other instead of failing midway.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", file+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	sub, _ := fs.Sub(files, "sql")
	s, err := sqlstore.Open(ctx, db, sqlstore.Dialect{
		Name:       "sqlite",
		FS:         sub,
		Bind:       func(int) string { return "?" },
		LoadSource: loadSource,
		IsConflict: isConflict,
		IsRefused:  isRefused,
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return s, nil
}

// pageSize is the page size of databases this package creates. Against
// SQLite's default of 4 KiB, 16 KiB pages store a prediction log record
// in about a fifth less time when records are stored a thousand at a
// time, as the prediction log's writer does under load (a quarter of the
// system calls: the WAL and its checkpoints write page by page), and the
// demo's loads and queries are no slower.
const pageSize = 16384

// walBytes is how much the WAL grows between automatic checkpoints: what
// SQLite's default of 1,000 pages is with 4 KiB pages. Larger checkpoints
// are rarer but hold the writer longer each time.
const walBytes = 4 << 20

// prepare makes a new database file with pageSize pages in WAL mode and
// returns the page size of the file, new or not. The page size must be
// set before anything is written, and the driver runs its connection
// pragmas in alphabetical order (journal_mode first), so it is done here,
// on a connection of its own. An existing file keeps the page size it
// was made with.
func prepare(file, path string) (int, error) {
	db, err := sql.Open("sqlite", file)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		for _, p := range []string{fmt.Sprintf("PRAGMA page_size = %d", pageSize), "PRAGMA journal_mode = WAL"} {
			if _, err := db.Exec(p); err != nil {
				return 0, fmt.Errorf("sqlite: creating %s: %w", path, err)
			}
		}
	}
	var size int
	if err := db.QueryRow("PRAGMA page_size").Scan(&size); err != nil {
		return 0, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	return size, nil
}

// isConflict reports a primary-key or unique-index violation.
func isConflict(err error) bool {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return true
	}
	return false
}

// isRefused reports a value SQLite will never take: a failed CHECK or
// NOT NULL, a type a STRICT table refuses, a string or blob too big.
func isRefused(err error) bool {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_DATATYPE:
		return true
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
		return true
	}
	return false
}

// loadSource replaces the source tables with multi-row INSERTs in one
// transaction.
func loadSource(ctx context.Context, db *sql.DB, src *caresignal.Source, progress caresignal.Progress) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range []string{"person_period", "elt_runs", "scores", "score_runs", "disenrolments", "engagement_events", "patients"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return err
		}
	}
	if err := sqlstore.InsertSource(ctx, tx, func(int) string { return "?" }, src, progress); err != nil {
		return err
	}
	return tx.Commit()
}
