package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/postgres"
	"github.com/caresignal/caresignal/internal/postgres/pgtest"
	"github.com/caresignal/caresignal/internal/sqlite"
)

// Both runs fn as two subtests: against a fresh embedded database, and
// against a fresh PostgreSQL schema (skipped, saying so, when
// pgtest.EnvVar is not set). Each store is closed, and the schema
// dropped, when its subtest ends.
func Both(t *testing.T, fn func(t *testing.T, s caresignal.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "cs.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := postgres.Open(context.Background(), pgtest.Schema(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		fn(t, s)
	})
}
