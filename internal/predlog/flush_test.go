package predlog_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/internal/sqlite"
)

// TestFlush: the records logged before Flush are in the database when it
// returns, though the writer would otherwise wait an hour to store them,
// and the logger still takes records afterwards.
func TestFlush(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	opt := fastOptions(t.TempDir())
	opt.FlushEvery = time.Hour
	l, err := predlog.New(store, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	want := 0
	for round, n := range []int{3, 2} {
		want += n
		if err := l.Log(records(round*100, n)...); err != nil {
			t.Fatal(err)
		}
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := store.CountPredictions(ctx); err != nil || n != want {
			t.Fatalf("round %d: %d records stored when Flush returned (%v), want %d", round, n, err, want)
		}
	}
}

// TestFlushAfterClose: Flush on a closed logger says so rather than
// waiting.
func TestFlushAfterClose(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	l, err := predlog.New(store, fastOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	l.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Flush(ctx); err == nil {
		t.Error("Flush on a closed logger returned no error")
	}
}
