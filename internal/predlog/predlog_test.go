package predlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/postgres"
	"github.com/caresignal/caresignal/internal/postgres/pgtest"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/internal/sqlstore"
	"github.com/caresignal/caresignal/wire"
)

// records returns n records of one request each, patients from, from+1, ...
func records(from, n int) []caresignal.RequestRecord {
	out := make([]caresignal.RequestRecord, n)
	for i := range out {
		r := wire.RequestLog{At: time.Now(), Model: caresignal.ModelInfo{Name: "engagement", Version: "v1"}, Route: "POST /api/engagement", RequestID: "r"}
		r.Add(fmt.Sprintf("P%06d", from+i), []byte(`{"features": {"age": 54}}`), "h", func(dst []byte) ([]byte, error) {
			return append(dst, `{"hazard":[0.05]}`...), nil
		})
		out[i], _ = r.Stored()
	}
	return out
}

func fastOptions(dir string) predlog.Options {
	return predlog.Options{SpillDir: dir, BatchSize: 100, FlushEvery: 10 * time.Millisecond, RetryEvery: 50 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}
}

// pgBehindProxy opens a fresh PostgreSQL schema through a proxy, and a
// direct connection to count with.
func pgBehindProxy(t *testing.T) (*pgtest.Proxy, *sqlstore.Store, *sqlstore.Store) {
	dsn, proxied, p := pgtest.SchemaBehindProxy(t)
	ctx := context.Background()
	direct, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close() })
	via, err := postgres.Open(ctx, proxied)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { via.Close() })
	return p, via, direct
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestOutageLosesNothing: records keep coming while the connection to
// PostgreSQL is cut and restored; the log spills to disk meanwhile, and
// once the database is back every record is stored exactly once.
func TestOutageLosesNothing(t *testing.T) {
	p, via, direct := pgBehindProxy(t)
	dir := t.TempDir()
	l, err := predlog.New(via, fastOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	logN := func(n int) {
		for range n / 50 {
			if err := l.Log(records(total, 50)...); err != nil {
				t.Fatal(err)
			}
			total += 50
			time.Sleep(time.Millisecond)
		}
	}
	logN(2000)
	waitFor(t, "the first records to be stored", func() bool { n, _ := direct.CountPredictions(context.Background()); return n > 0 })
	p.Stop()
	logN(3000)
	waitFor(t, "the log to start spilling", func() bool { return l.State() == "spilling" })
	if l.SpillBytes() == 0 {
		t.Error("spilling, but no spill file")
	}
	logN(2000)
	p.Start()
	logN(1000)
	waitFor(t, "the spill to be replayed", func() bool { return l.State() == "ok" })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := direct.CountPredictions(context.Background())
	if err != nil || n != total {
		t.Fatalf("stored %d of %d records (%v)", n, total, err)
	}
	var distinct int
	if err := direct.DB().QueryRow("SELECT COUNT(DISTINCT patient_id) FROM predictions").Scan(&distinct); err != nil || distinct != total {
		t.Errorf("%d distinct patients of %d (%v)", distinct, total, err)
	}
	if l.SpillBytes() != 0 {
		t.Errorf("spill files left behind: %d bytes", l.SpillBytes())
	}
}

// TestShutdownDuringOutage: closing while the database is away keeps the
// queued records on disk, and the next start stores them.
func TestShutdownDuringOutage(t *testing.T) {
	p, via, direct := pgBehindProxy(t)
	dir := t.TempDir()
	l, err := predlog.New(via, fastOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if err := l.Log(records(0, 1500)...); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Log(records(0, 1)...); err == nil {
		t.Error("Log after Close succeeded")
	}
	if n, _ := direct.CountPredictions(context.Background()); n != 0 || l.SpillBytes() == 0 {
		t.Fatalf("during the outage: %d stored, %d bytes spilled", n, l.SpillBytes())
	}
	p.Start()
	l2, err := predlog.New(via, fastOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the next start to replay the spill", func() bool { n, _ := direct.CountPredictions(context.Background()); return n == 1500 })
	if err := l2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := direct.CountPredictions(context.Background()); n != 1500 {
		t.Errorf("stored %d, want 1500", n)
	}
}

// TestTornSpillLine: a spill file whose last line was cut by a crash is
// replayed up to that line.
func TestTornSpillLine(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	dir := t.TempDir()
	var b strings.Builder
	for _, r := range records(0, 3) {
		line, _ := json.Marshal(r)
		b.Write(line)
		b.WriteByte('\n')
	}
	b.WriteString(`{"id": "torn", "model": "eng`)
	if err := os.WriteFile(filepath.Join(dir, "predictions.spill.jsonl"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := predlog.New(store, fastOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replay", func() bool { n, _ := store.CountPredictions(context.Background()); return n == 3 })
	l.Close(context.Background())
	if l.SpillBytes() != 0 {
		t.Error("the replayed file was kept")
	}
}

// TestEarlierSpillFile: a spill file an earlier version wrote, one
// prediction per line, is replayed beside lines of this version: each old
// line becomes a request of one under its id, read back as it was.
func TestEarlierSpillFile(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	dir := t.TempDir()
	old := caresignal.PredictionRecord{ID: "old-1", At: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), Model: "engagement", Version: "v0",
		Route: "POST /invocations", RequestID: "q", Inputs: json.RawMessage(`{"month":2,"age":50}`), Outputs: json.RawMessage(`{"hazard":[0.2],"expected_months":0}`)}
	line, _ := json.Marshal(old)
	newer, _ := json.Marshal(records(0, 1)[0])
	if err := os.WriteFile(filepath.Join(dir, "predictions.spill.jsonl"), []byte(string(line)+"\n"+string(newer)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := predlog.New(store, fastOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replay", func() bool { n, _ := store.CountPredictions(ctx); return n == 2 })
	l.Close(ctx)
	var got []caresignal.PredictionRecord
	store.ScanPredictions(ctx, caresignal.PredictionFilter{Version: "v0"}, func(r *caresignal.PredictionRecord) error { got = append(got, *r); return nil })
	if len(got) != 1 || got[0].ID != "old-1/00000" || got[0].Kind != "person_period" || string(got[0].Inputs) != string(old.Inputs) ||
		string(got[0].Outputs) != string(old.Outputs) || !got[0].At.Equal(old.At) || got[0].RequestID != "q" {
		t.Errorf("the earlier line read back as %+v", got)
	}
}
