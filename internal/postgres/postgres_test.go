package postgres_test

import (
	"context"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/postgres"
	"github.com/caresignal/caresignal/internal/postgres/pgtest"
	"github.com/caresignal/caresignal/internal/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		dsn := pgtest.Schema(t)
		return func(t *testing.T) caresignal.Store {
			s, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	})
}
