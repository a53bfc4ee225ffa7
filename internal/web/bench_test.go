package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/internal/sqlite"
)

// BenchmarkEngagement measures the handler for one single-patient request,
// without the network: decoding, scoring, encoding and the access log.
func BenchmarkEngagement(b *testing.B) {
	h := NewHandler(Config{Model: testModel(b), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	body := `{"patient_id": "P0012345", "features": ` + goodFeatures + `, "horizon": 12}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/engagement", strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkEngagementBatch100 is BenchmarkEngagement for a batch of 100
// patients.
func BenchmarkEngagementBatch100(b *testing.B) {
	benchBatch(b, nil)
}

// BenchmarkEngagementBatch100Logged is the batch with the prediction log
// writing to the embedded database.
func BenchmarkEngagementBatch100Logged(b *testing.B) {
	store, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	pl, err := predlog.New(store, predlog.Options{SpillDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	benchBatch(b, pl)
	if err := pl.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

func benchBatch(b *testing.B, pl *predlog.Logger) {
	h := NewHandler(Config{Model: testModel(b), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), PredictionLog: pl})
	var sb strings.Builder
	sb.WriteString(`{"instances": [`)
	for i := range 100 {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(`{"patient_id": "P` + strconv.Itoa(1000+i) + `", "features": ` + goodFeatures + `, "months_enrolled": ` + strconv.Itoa(i%7) + `, "horizon": 12}`)
	}
	sb.WriteString(`]}`)
	body := sb.String()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/engagement", strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkEngagementLogged is BenchmarkEngagement with the prediction log
// writing to the embedded database, the writer included.
func BenchmarkEngagementLogged(b *testing.B) {
	store, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	pl, err := predlog.New(store, predlog.Options{SpillDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	h := NewHandler(Config{Model: testModel(b), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), PredictionLog: pl})
	body := `{"patient_id": "P0012345", "features": ` + goodFeatures + `, "horizon": 12}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/engagement", strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
	if err := pl.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}
