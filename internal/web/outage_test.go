package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/postgres"
	"github.com/caresignal/caresignal/internal/postgres/pgtest"
	"github.com/caresignal/caresignal/internal/predlog"
)

// loggedLoad serves the API with a prediction log on store, quick to
// spill and retry, and starts four clients posting one patient's body
// without pause.
func loggedLoad(t *testing.T, store caresignal.Store, patient string) (*predlog.Logger, *httptest.Server, *loadGen, string) {
	t.Helper()
	pl, err := predlog.New(store, predlog.Options{SpillDir: t.TempDir(), FlushEvery: 20 * time.Millisecond,
		RetryEvery: 100 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(Config{Model: testModel(t), Store: store, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), PredictionLog: pl}))
	body := `{"patient_id": "` + patient + `", "features": ` + goodFeatures + `, "horizon": 3}`
	load := startLoad(4, func() *http.Request {
		req, _ := http.NewRequest("POST", srv.URL+"/api/engagement", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return req
	})
	return pl, srv, load, body
}

// TestPostgresOutageUnderLoad: the connection to PostgreSQL is cut while
// clients post without pause, then restored. No request fails, readiness
// holds while the prediction log spills to disk, and once the database is
// back the log holds exactly one record per answered patient, with the
// inputs as they were sent.
func TestPostgresOutageUnderLoad(t *testing.T) {
	direct, proxied, proxy := pgtest.SchemaBehindProxy(t)
	ctx := context.Background()
	store, err := postgres.Open(ctx, proxied)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	check, err := postgres.Open(ctx, direct)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	pl, srv, load, body := loggedLoad(t, store, "P-outage")
	defer srv.Close()
	time.Sleep(300 * time.Millisecond)
	proxy.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for pl.State() != "spilling" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct{ Checks map[string]string }
	json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if resp.StatusCode != 200 || ready.Checks["prediction_log"] != "spilling" || ready.Checks["database"] != "unreachable" {
		t.Errorf("readiness during the outage: %d %v", resp.StatusCode, ready.Checks)
	}
	time.Sleep(300 * time.Millisecond)
	proxy.Start()
	time.Sleep(300 * time.Millisecond)
	load.Stop()
	// The spill is replayed once the database answers; however loaded the
	// machine, wait for it rather than leave it to Close's one attempt.
	for deadline := time.Now().Add(20 * time.Second); pl.State() != "ok" && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if err := pl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := check.CountPredictions(ctx)
	if load.failed.Load() != 0 || err != nil || int64(n) != load.ok.Load() {
		t.Fatalf("%d answered, %d failed, %d records stored (%v)", load.ok.Load(), load.failed.Load(), n, err)
	}
	var inputs, route string
	if err := check.DB().QueryRow("SELECT inputs, route FROM predictions LIMIT 1").Scan(&inputs, &route); err != nil {
		t.Fatal(err)
	}
	if inputs != body || route != "POST /api/engagement" {
		t.Errorf("logged inputs %q on route %q, want the body as sent", inputs, route)
	}
	t.Logf("%d requests answered across the outage, all logged", n)
}

// TestPoisonedRecordUnderLoad: while clients post without pause, records
// PostgreSQL refuses (built by hand: bytes that are not UTF-8, a kind
// its CHECK refuses) reach the prediction log. Every answered request is
// stored all the same, the refused records are set aside, and readiness
// holds, its check saying how many were set aside.
func TestPoisonedRecordUnderLoad(t *testing.T) {
	dsn := pgtest.Schema(t)
	ctx := context.Background()
	store, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pl, srv, load, _ := loggedLoad(t, store, "P-load")
	defer srv.Close()
	for i := range 6 {
		time.Sleep(50 * time.Millisecond)
		rec := caresignal.RequestRecord{ID: fmt.Sprintf("poison-%d", i), At: time.Now(), Model: "engagement", Version: "v1",
			Route: "POST /api/engagement", Kind: "patient", RequestID: "r", Instances: 1,
			Items: []byte("[{\"patient_id\":\"P\xff\",\"inputs\":{},\"outputs\":{\"hazard\":[0.05]}}]")}
		if i%2 == 1 {
			rec.Items, rec.Kind = []byte(`[{"patient_id":"P","inputs":{},"outputs":{"hazard":[0.05]}}]`), "bogus"
		}
		if err := pl.Log(rec); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	load.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for pl.Quarantined() < 6 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct{ Checks map[string]string }
	json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if want := "ok; 6 records quarantined in " + predlog.QuarantineName; resp.StatusCode != 200 || ready.Checks["prediction_log"] != want {
		t.Errorf("readiness with records set aside: %d %v, want 200 and %q", resp.StatusCode, ready.Checks, want)
	}
	if err := pl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := store.CountPredictions(ctx)
	if load.failed.Load() != 0 || err != nil || int64(n) != load.ok.Load() {
		t.Fatalf("%d answered, %d failed, %d records stored (%v)", load.ok.Load(), load.failed.Load(), n, err)
	}
	if pl.SpillBytes() != 0 {
		t.Errorf("spill files left: %d bytes", pl.SpillBytes())
	}
	t.Logf("%d requests answered and stored, 6 poisoned records set aside", n)
}
