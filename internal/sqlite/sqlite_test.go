package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/internal/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		path := filepath.Join(t.TempDir(), "test.db")
		return func(t *testing.T) caresignal.Store {
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	})
}

// TestPageSize: a new database is made with 16 KiB pages in WAL mode; a
// database made elsewhere with SQLite's default 4 KiB pages opens, takes
// writes and keeps its page size.
func TestPageSize(t *testing.T) {
	pragmas := func(t *testing.T, path string) (int, string) {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var size int
		var mode string
		if err := db.QueryRow("PRAGMA page_size").Scan(&size); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		return size, mode
	}
	ctx := context.Background()
	fresh := filepath.Join(t.TempDir(), "new.db")
	s, err := sqlite.Open(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if size, mode := pragmas(t, fresh); size != 16384 || mode != "wal" {
		t.Errorf("new database: page size %d, journal mode %s", size, mode)
	}

	old := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE made_elsewhere (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if size, _ := pragmas(t, old); size != 4096 {
		t.Fatalf("the driver's default page size is %d, not 4096: this test no longer tests an old file", size)
	}
	s, err = sqlite.Open(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	rec := caresignal.RequestRecord{ID: "x-1", At: time.Now(), Model: "m", Version: "v", Route: "r", Kind: "patient",
		Instances: 1, Items: []byte(`[{"inputs":{},"outputs":{}}]`)}
	if err := s.AppendRequests(ctx, []caresignal.RequestRecord{rec}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountPredictions(ctx); err != nil || n != 1 {
		t.Errorf("old database: %d records, %v", n, err)
	}
	s.Close()
	if size, mode := pragmas(t, old); size != 4096 || mode != "wal" {
		t.Errorf("old database: page size %d, journal mode %s", size, mode)
	}
}
