package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrate applies the dialect's migrations that have not been applied yet,
// each in its own transaction, and refuses to run against a database whose
// applied migrations were changed since (their checksum is recorded), or
// that a newer build has migrated further than this one knows.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("%s: creating schema_migrations: %w", s.d.Name, err)
	}
	files, err := fs.Glob(s.d.FS, "migrations/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(files)
	known := map[int]bool{}
	for _, f := range files {
		name := path.Base(f)
		num, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("%s: migration file %s is not named NNNN_name.sql", s.d.Name, name)
		}
		known[version] = true
		body, err := fs.ReadFile(s.d.FS, f)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		if err := s.apply(ctx, version, name, string(body), hex.EncodeToString(sum[:])); err != nil {
			return fmt.Errorf("%s: migration %s: %w", s.d.Name, name, err)
		}
	}
	var newest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&newest); err != nil {
		return err
	}
	if newest.Valid && !known[int(newest.Int64)] {
		return fmt.Errorf("%s: the database schema is at version %d, which this build does not know: use a newer caresignal", s.d.Name, newest.Int64)
	}
	return nil
}

func (s *Store) apply(ctx context.Context, version int, name, body, sum string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.LockMigrations != "" {
			if _, err := tx.ExecContext(ctx, s.d.LockMigrations); err != nil {
				return err
			}
		}
		var have string
		err := tx.QueryRowContext(ctx, "SELECT checksum FROM schema_migrations WHERE version = "+s.d.Bind(1), version).Scan(&have)
		switch {
		case err == nil && have == sum:
			return nil // already applied
		case err == nil:
			return fmt.Errorf("was changed after it was applied (recorded checksum %.12s, file %.12s): migrations are append-only", have, sum)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.ExecContext(ctx, body); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ("+
			s.d.Bind(1)+", "+s.d.Bind(2)+", "+s.d.Bind(3)+", "+s.d.Bind(4)+")",
			version, name, sum, time.Now().UTC().Format(time.RFC3339))
		return err
	})
}
