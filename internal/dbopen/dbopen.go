// Package dbopen opens the store a setting names: a postgres:// (or
// postgresql://) URL, or a SQLite file path (an optional "sqlite:" prefix
// dropped). Every entry point reads its database setting through it.
package dbopen

import (
	"context"
	"net/url"
	"strings"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/postgres"
	"github.com/caresignal/caresignal/internal/sqlite"
)

// Open opens db, or the SQLite file at defaultPath when db is empty, and
// says where for people ("postgres host/db", "sqlite path"; never a
// password). setting names the flag or variable db came from, for the
// error refusing a value that is neither: a key=value connection string or
// another scheme must not become a SQLite file of that name.
func Open(ctx context.Context, db, defaultPath, setting string) (caresignal.Store, string, error) {
	if postgres.IsDSN(db) {
		s, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, "", err // not a nil *Store in a non-nil interface
		}
		return s, describe(db), nil
	}
	if strings.Contains(db, "://") || strings.Contains(db, "=") {
		return nil, "", caresignal.Invalidf("db", "%s must be a postgres:// (or postgresql://) URL or a SQLite file path; this looks like neither", setting)
	}
	path := strings.TrimPrefix(db, "sqlite:")
	if path == "" {
		path = defaultPath
	}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, "", err
	}
	return s, "sqlite " + path, nil
}

// describe names a PostgreSQL database by host and name, without the
// credentials.
func describe(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres"
	}
	return "postgres " + u.Host + u.Path
}
