package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caresignal/caresignal/internal/modeltest"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/internal/sqlite"
)

// The handler benchmarks measure one request without the network:
// decoding, scoring, encoding and the access log; the Logged ones also
// record every prediction in the embedded database, the writer included.

func BenchmarkEngagement(b *testing.B)               { benchRequests(b, modeltest.Single, false) }
func BenchmarkEngagementLogged(b *testing.B)         { benchRequests(b, modeltest.Single, true) }
func BenchmarkEngagementBatch100(b *testing.B)       { benchRequests(b, modeltest.Batch(100), false) }
func BenchmarkEngagementBatch100Logged(b *testing.B) { benchRequests(b, modeltest.Batch(100), true) }

// The batch with the outputs the Flask anchor answers with (no median, no
// explanation), as the load benchmark sends it.
func BenchmarkEngagementBatch100Curves(b *testing.B)       { benchRequests(b, anchorFields(100), false) }
func BenchmarkEngagementBatch100CurvesLogged(b *testing.B) { benchRequests(b, anchorFields(100), true) }

func anchorFields(n int) string {
	return `{"outputs": ["hazard", "survival", "expected_months"], ` + strings.TrimPrefix(modeltest.Batch(n), "{")
}

func benchRequests(b *testing.B, body string, logged bool) {
	var pl *predlog.Logger
	reg := prometheus.NewRegistry()
	if logged {
		store, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		if pl, err = predlog.New(store, predlog.Options{SpillDir: b.TempDir(), Registry: reg}); err != nil {
			b.Fatal(err)
		}
	}
	h := NewHandler(Config{Model: testModel(b), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), PredictionLog: pl})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/engagement", strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
	if pl != nil {
		if err := pl.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		// Records the writer could not keep up with went through the
		// spill file, the slow way.
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "caresignal_prediction_log_spilled_total" {
				b.ReportMetric(mf.GetMetric()[0].GetCounter().GetValue()/float64(b.N), "spilled/op")
			}
		}
	}
}
