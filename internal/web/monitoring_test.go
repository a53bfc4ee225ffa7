package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sqlite"
)

func getBody(t *testing.T, srv *httptest.Server, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestMonitoring: before any report the pages say how to make one; after,
// the page shows its figures and failed checks, the report page serves
// the stored HTML under a strict policy, and /metrics exports the
// figures.
func TestMonitoring(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv := httptest.NewServer(NewHandler(Config{Model: testModel(t), Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Mode: "dev"}))
	defer srv.Close()

	if code, _, body := getBody(t, srv, "/monitoring"); code != 200 || !strings.Contains(body, "No evaluation report yet") {
		t.Errorf("monitoring without a report: %d %s", code, body)
	}
	if code, _, _ := getBody(t, srv, "/monitoring/report"); code != 404 {
		t.Errorf("report page without a report: %d", code)
	}
	if code, _, body := getBody(t, srv, "/api/monitoring"); code != 404 || !strings.Contains(body, "evaluate report") {
		t.Errorf("monitoring API without a report: %d %s", code, body)
	}

	_, err = store.SaveEvaluation(ctx, caresignal.Evaluation{Model: "engagement", Version: "v7",
		Figures: map[string]float64{"harrell_c": 0.7123, "brier.6": 0.081}, Flags: []string{"expected.month_2"},
		Report: json.RawMessage(`{"n": 10}`), HTML: "<!doctype html><title>r</title><p>the whole report</p>"})
	if err != nil {
		t.Fatal(err)
	}
	code, _, body := getBody(t, srv, "/monitoring")
	if code != 200 || !strings.Contains(body, "expected.month_2") || !strings.Contains(body, "0.7123") || !strings.Contains(body, "version v7") {
		t.Errorf("monitoring page: %d %s", code, body)
	}
	code, h, body := getBody(t, srv, "/monitoring/report")
	if code != 200 || body != "<!doctype html><title>r</title><p>the whole report</p>" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("report page: %d %v %s", code, h, body)
	}
	code, _, body = getBody(t, srv, "/api/monitoring")
	var ev caresignal.Evaluation
	if err := json.Unmarshal([]byte(body), &ev); code != 200 || err != nil || ev.Figures["brier.6"] != 0.081 || string(ev.Report) != `{"n":10}` {
		t.Errorf("monitoring API: %d %s", code, body)
	}
	code, _, body = getBody(t, srv, "/metrics")
	if code != 200 {
		t.Errorf("metrics: %d", code)
	}
	for _, want := range []string{`caresignal_evaluation_figure{figure="harrell_c",model="engagement",version="v7"} 0.7123`,
		`caresignal_evaluation_flags{model="engagement",version="v7"} 1`, "caresignal_evaluation_timestamp_seconds"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
