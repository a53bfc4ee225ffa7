package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

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
