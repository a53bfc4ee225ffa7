package predlog_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/internal/sqlstore"
)

// poisoned returns a record, built by hand as no API request should
// build it, that the database refuses: how depends on which.
func poisoned(id, how string) caresignal.RequestRecord {
	rec := caresignal.RequestRecord{ID: id, At: time.Now(), Model: "engagement", Version: "v1", Route: "POST /api/engagement",
		Kind: "patient", RequestID: "r", Instances: 1, Items: []byte(`[{"patient_id":"OK","inputs":{},"outputs":{"hazard":[0.05]}}]`)}
	switch how {
	case "utf8": // PostgreSQL: 22021
		rec.Items = []byte("[{\"patient_id\":\"BAD\xff\xfe\",\"inputs\":{},\"outputs\":{\"hazard\":[0.05]}}]")
	case "nul": // PostgreSQL: 22021; not JSON either, so no spill file can hold it
		rec.Items = []byte("[{\"patient_id\":\"BAD\x00\",\"inputs\":{},\"outputs\":{\"hazard\":[0.05]}}]")
	case "escape": // both: stored, it would break every read of the view
		rec.Items = []byte(`[{"patient_id":"BAD\u0000","inputs":{},"outputs":{"hazard":[0.05]}}]`)
	case "kind": // both: the CHECK on kind
		rec.Kind = "bogus"
	case "instances": // both: the store's own check
		rec.Instances = 0
	default:
		panic(how)
	}
	return rec
}

// quarantinedIDs reads the quarantine file's record ids, checking that
// each line keeps the items (as JSON or as base64) and says why.
func quarantinedIDs(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, predlog.QuarantineName))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Error       string                   `json:"error"`
			Record      caresignal.RequestRecord `json:"record"`
			ItemsBase64 []byte                   `json:"items_base64"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("quarantine line %q: %v", sc.Text(), err)
		}
		if line.Error == "" || (len(line.Record.Items) == 0 || string(line.Record.Items) == "null") == (len(line.ItemsBase64) == 0) {
			t.Errorf("quarantine line without its reason or items: %s", sc.Text())
		}
		ids = append(ids, line.Record.ID)
	}
	return ids
}

// metric reads the value of a counter or gauge of reg.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// poisonedLoad logs good records in requests of 50 with a poisoned record
// (of each kind in hows in turn) in every fifth request, optionally with
// an outage in the middle, and checks that every good record is stored
// exactly once, every poisoned one is in the quarantine file and
// counted, the state says so, and no spill file is left.
func poisonedLoad(t *testing.T, store *sqlstore.Store, outage func(stop bool), hows []string) {
	ctx := context.Background()
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	opt := fastOptions(dir)
	opt.Registry = reg
	l, err := predlog.New(store, opt)
	if err != nil {
		t.Fatal(err)
	}
	good := 0
	var bad []string
	logN := func(n int) {
		for i := range n / 50 {
			recs := records(good, 50)
			good += 50
			if i%5 == 2 {
				p := poisoned(fmt.Sprintf("poison-%d", len(bad)), hows[len(bad)%len(hows)])
				bad = append(bad, p.ID)
				recs = append(recs[:25], append([]caresignal.RequestRecord{p}, recs[25:]...)...)
			}
			if err := l.Log(recs...); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	logN(3000)
	if outage != nil {
		waitFor(t, "the first records to be stored", func() bool { n, _ := store.CountPredictions(ctx); return n > 0 })
		outage(true)
		logN(2000)
		waitFor(t, "the log to start spilling", func() bool { return strings.HasPrefix(l.State(), "spilling") })
		outage(false)
		logN(1000)
	}
	waitFor(t, "every good record to be stored", func() bool { n, _ := store.CountPredictions(ctx); return n >= good })
	waitFor(t, "the spill to be replayed", func() bool { return strings.HasPrefix(l.State(), "ok") })
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := l.Close(cctx); err != nil {
		t.Fatal(err)
	}
	var n, distinct int
	if err := store.DB().QueryRow("SELECT COUNT(*), COUNT(DISTINCT patient_id) FROM predictions").Scan(&n, &distinct); err != nil || n != good || distinct != good {
		t.Fatalf("stored %d predictions of %d distinct patients, want %d of each (%v)", n, distinct, good, err)
	}
	// In order, but for the records no spill file can hold, set aside
	// as they come while the spilled ones wait for the replay.
	got := quarantinedIDs(t, dir)
	slices.Sort(got)
	slices.Sort(bad)
	if strings.Join(got, ",") != strings.Join(bad, ",") {
		t.Errorf("quarantined %v, want %v", got, bad)
	}
	if c := metric(t, reg, "caresignal_prediction_log_quarantined_total"); int(c) != len(bad) {
		t.Errorf("quarantined_total %v, want %d", c, len(bad))
	}
	if c := metric(t, reg, "caresignal_prediction_log_quarantine_records"); int(c) != len(bad) {
		t.Errorf("quarantine_records %v, want %d", c, len(bad))
	}
	if want := fmt.Sprintf("ok; %d records quarantined in %s", len(bad), predlog.QuarantineName); l.State() != want {
		t.Errorf("state %q, want %q", l.State(), want)
	}
	if l.SpillBytes() != 0 {
		t.Errorf("spill files left behind: %d bytes", l.SpillBytes())
	}
	// The next start still reports the quarantined records, until the
	// file is moved away.
	l2, err := predlog.New(store, fastOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close(ctx)
	if l2.Quarantined() != int64(len(bad)) {
		t.Errorf("the next start finds %d quarantined, want %d", l2.Quarantined(), len(bad))
	}
	os.Rename(filepath.Join(dir, predlog.QuarantineName), filepath.Join(t.TempDir(), "inspected.jsonl"))
	if l2.State() != "ok" {
		t.Errorf("state %q once the quarantine file is moved away", l2.State())
	}
}

// TestPoisonedRecordsPostgres: records PostgreSQL refuses (bytes that are
// not UTF-8, a NUL, a kind its CHECK refuses, no instance), mixed into a
// load of good ones, before, during and after an outage, hold back no
// good record: each is set aside, and every good record is stored once.
func TestPoisonedRecordsPostgres(t *testing.T) {
	p, via, _ := pgBehindProxy(t)
	poisonedLoad(t, via, func(stop bool) {
		if stop {
			p.Stop()
		} else {
			p.Start()
		}
	}, []string{"utf8", "nul", "escape", "kind", "instances"})
}

// TestPoisonedRecordsSQLite: the same on the embedded database, which
// takes bytes that are not UTF-8 but not a kind its CHECK refuses (a NUL
// the store refuses for both).
func TestPoisonedRecordsSQLite(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	poisonedLoad(t, store, nil, []string{"kind", "instances", "nul", "escape"})
}

// TestPoisonedSpillLine: a spill file with a record the database refuses
// in the middle is replayed in full; the record is set aside.
func TestPoisonedSpillLine(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	dir := t.TempDir()
	recs := records(0, 250)
	recs = append(recs[:120], append([]caresignal.RequestRecord{poisoned("poison", "kind")}, recs[120:]...)...)
	var b strings.Builder
	for _, r := range recs {
		line, _ := json.Marshal(r)
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "predictions.spill.jsonl"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := predlog.New(store, fastOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replay", func() bool { return l.State() == "ok; 1 record quarantined in "+predlog.QuarantineName })
	l.Close(ctx)
	if n, _ := store.CountPredictions(ctx); n != 250 {
		t.Errorf("stored %d, want 250", n)
	}
	if got := quarantinedIDs(t, dir); len(got) != 1 || got[0] != "poison" {
		t.Errorf("quarantined %v", got)
	}
	if l.SpillBytes() != 0 {
		t.Errorf("spill files left behind: %d bytes", l.SpillBytes())
	}
}
