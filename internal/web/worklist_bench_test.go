package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/postgres"
	"github.com/caresignal/caresignal/internal/postgres/pgtest"
)

// The worklist benchmarks serve the pages care teams open every morning,
// query and rendering included, from a database holding two scoring runs
// of about 10,000 enrolled patients: the first page ranked by risk, a
// filtered, searched later page, and a patient's page. Targets: under
// 100 ms for a page of the list, under 20 ms for a patient page.

func BenchmarkWorklist(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			h, top := worklistBenchServer(b, db)
			program := url.QueryEscape(top.Program)
			for _, page := range []struct{ name, path string }{
				{"first-page", "/worklist"},
				{"filtered-page-2", "/worklist?sort=lost&program=" + program + "&band=medium&page=2"},
				{"search", "/worklist?q=" + url.QueryEscape(top.PatientID[len(top.PatientID)-3:])},
				{"patient", "/patients/" + url.PathEscape(top.PatientID)},
			} {
				b.Run(page.name, func(b *testing.B) {
					for b.Loop() {
						w := httptest.NewRecorder()
						h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, page.path, nil))
						if w.Code != http.StatusOK {
							b.Fatalf("%s: %d", page.path, w.Code)
						}
					}
				})
			}
		})
	}
}

// worklistBenchServer scores a cohort of about 10,000 enrolled patients
// into a fresh database of kind db and returns the handler and the top
// patient.
func worklistBenchServer(b *testing.B, db string) (http.Handler, caresignal.WorklistRow) {
	var store caresignal.Store
	switch db {
	case "sqlite":
		store = openSQLite(b)
	default:
		s, err := postgres.Open(context.Background(), pgtest.Schema(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		store = s
	}
	m := testModel(b)
	scoredCohort(b, store, m, 26000)
	wl, err := store.Worklist(context.Background(), caresignal.WorklistQuery{Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d enrolled patients scored", db, wl.Total)
	return NewHandler(Config{Model: m, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Mode: "dev"}), wl.Rows[0]
}
