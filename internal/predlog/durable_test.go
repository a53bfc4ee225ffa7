package predlog_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/internal/sqlite"
)

// crashCopy copies the files of dir into a new directory, as a crash of
// the process would leave them: what was written to them, and nothing
// held in memory.
func crashCopy(t *testing.T, dir string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// loggedAndCrashed logs n records from 8 goroutines to a logger whose
// database hangs, then "crashes" it (copies its directory), and starts a
// new logger on the copy with a working database: it returns how many of
// the n answered records that database then holds.
func loggedAndCrashed(t *testing.T, durable bool, n int) int {
	hung := &sink{stored: map[string]bool{}, hang: make(chan struct{})}
	defer close(hung.hang)
	dir := t.TempDir()
	opt := fastOptions(dir)
	opt.Durable = durable
	opt.WriteTimeout = time.Hour // the database neither answers nor fails
	l, err := predlog.New(hung, opt)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	recs := records(0, n)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 8 {
				if err := l.Log(recs[i]); err != nil {
					t.Errorf("Log: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	crashed := crashCopy(t, dir)

	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	after, err := predlog.New(store, fastOptions(crashed))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replay", func() bool { return after.SpillBytes() == 0 })
	if err := after.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := store.CountPredictions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestDurableCrashLosesNothing: in the durable mode every record Log
// returned for is on disk, so a crash with the database behind loses none
// of them: the next start replays the journal. Without it, the same crash
// loses what was queued in memory (the test's control).
func TestDurableCrashLosesNothing(t *testing.T) {
	const n = 500
	if got := loggedAndCrashed(t, true, n); got != n {
		t.Errorf("durable: %d of %d answered records kept after the crash", got, n)
	}
	if got := loggedAndCrashed(t, false, n); got >= n {
		t.Errorf("not durable: %d of %d records kept although the database never took the queue: the crash copy does not model a crash", got, n)
	}
}

// TestDurableJournalIsDeletedOnceStored: records the database took leave
// the journal (its files are deleted once they take no more records), and
// a graceful shutdown leaves no journal behind.
func TestDurableJournalIsDeletedOnceStored(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	dir := t.TempDir()
	opt := fastOptions(dir)
	opt.Durable = true
	reg := prometheus.NewRegistry()
	opt.Registry = reg
	l, err := predlog.New(store, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Log(records(0, 300)...); err != nil {
		t.Fatal(err)
	}
	if metric(t, reg, "caresignal_prediction_log_journal_syncs_total") != 1 || metric(t, reg, "caresignal_prediction_log_journal_records_total") != 300 {
		t.Errorf("one Log of 300 records: %v syncs, %v records", metric(t, reg, "caresignal_prediction_log_journal_syncs_total"), metric(t, reg, "caresignal_prediction_log_journal_records_total"))
	}
	waitFor(t, "the records stored", func() bool { n, _ := store.CountPredictions(ctx); return n == 300 })
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if left := journalFiles(t, dir); len(left) != 0 {
		t.Errorf("a graceful shutdown left %v", left)
	}
	if metric(t, reg, "caresignal_prediction_log_journal_bytes") != 0 {
		t.Errorf("journal bytes after the shutdown: %v", metric(t, reg, "caresignal_prediction_log_journal_bytes"))
	}
}

func journalFiles(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "predictions-journal-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestDurableJournalUnwritable: when the journal cannot be written, Log
// fails (unavailable) rather than let the request be answered without a
// record, and the log's state says why; once it can be written again,
// requests are answered again.
func TestDurableJournalUnwritable(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	dir := filepath.Join(t.TempDir(), "spill")
	opt := fastOptions(dir)
	opt.Durable = true
	l, err := predlog.New(store, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	// The directory gone (a volume unmounted, say): the journal's first
	// file cannot be created, whoever the process runs as.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	err = l.Log(records(0, 1)...)
	if caresignal.ErrorCode(err) != caresignal.EUNAVAILABLE || !strings.HasPrefix(l.State(), "failing: journal: ") {
		t.Fatalf("Log into a missing directory: %v; state %q", err, l.State())
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := l.Log(records(1, 1)...); err != nil || l.State() != "ok" {
		t.Fatalf("Log once writable again: %v; state %q", err, l.State())
	}
	waitFor(t, "the record stored", func() bool { n, _ := store.CountPredictions(ctx); return n == 1 })
}
