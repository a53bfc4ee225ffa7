package predlog_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/wire"
)

// sink stores batches in memory, taking delay per batch, or blocking
// until released when hang is set.
type sink struct {
	delay  time.Duration
	hang   chan struct{}
	mu     sync.Mutex
	stored map[string]bool
	calls  atomic.Int64
}

func (s *sink) AppendRequests(ctx context.Context, recs []caresignal.RequestRecord) error {
	s.calls.Add(1)
	if s.hang != nil {
		select {
		case <-s.hang:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.stored[r.ID] = true
	}
	return nil
}

func (s *sink) CountPredictions(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stored), nil
}

func (s *sink) SummarisePredictions(context.Context, caresignal.PredictionFilter) ([]caresignal.PredictionGroup, error) {
	return nil, nil
}

func (s *sink) ScanPredictions(context.Context, caresignal.PredictionFilter, func(*caresignal.PredictionRecord) error) error {
	return nil
}

// TestSlowWriterSlowsRequestsInsteadOfSpilling: a database that takes
// every batch, only slowly, never sends a record through the spill file;
// Log waits for room instead, and every record is stored once.
func TestSlowWriterSlowsRequestsInsteadOfSpilling(t *testing.T) {
	s := &sink{delay: 20 * time.Millisecond, stored: map[string]bool{}}
	reg := prometheus.NewRegistry()
	opt := fastOptions(t.TempDir())
	opt.QueueSize, opt.BatchSize, opt.Registry = 16, 16, reg
	l, err := predlog.New(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				if err := l.Log(records(g*1000+i*10, 10)...); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, _ := s.CountPredictions(context.Background())
	spilled := metric(t, reg, "caresignal_prediction_log_spilled_total")
	if n != 1000 || spilled != 0 {
		t.Fatalf("stored %d of 1000 records, %v spilled; want all stored, none spilled", n, spilled)
	}
}

// TestLargeRecordsBoundTheQueue: records of large requests, faster than
// the database takes them, wait for room in bytes: the queue never holds
// more than QueueBytes (and one record), and nothing is spilled or lost.
func TestLargeRecordsBoundTheQueue(t *testing.T) {
	s := &sink{delay: 5 * time.Millisecond, stored: map[string]bool{}}
	reg := prometheus.NewRegistry()
	opt := fastOptions(t.TempDir())
	opt.QueueSize, opt.QueueBytes, opt.BatchSize, opt.Registry = 4096, 64<<10, 4, reg
	l, err := predlog.New(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	big := func(i int) caresignal.RequestRecord {
		r := wire.RequestLog{Route: "POST /api/engagement"}
		for range 20 { // about 10 KiB
			r.Add(fmt.Sprint("P", i), []byte(`{"features": {"note": "`+strings.Repeat("x", 400)+`"}}`), "", func(dst []byte) ([]byte, error) {
				return append(dst, `{"hazard":[0.5],"expected_months":0.5}`...), nil
			})
		}
		rec, _ := r.Stored()
		return rec
	}
	size := int64(len(big(0).Items))
	var most atomic.Int64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				if q := l.QueueBytes(); q > most.Load() {
					most.Store(q)
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				if err := l.Log(big(g*100 + i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	close(done)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, _ := s.CountPredictions(context.Background())
	if spilled := metric(t, reg, "caresignal_prediction_log_spilled_total"); n != 100 || spilled != 0 {
		t.Fatalf("stored %d of 100 records, %v spilled", n, spilled)
	}
	if m := most.Load(); m > int64(opt.QueueBytes)+size || m == 0 {
		t.Errorf("the queue held %d bytes; its bound is %d and a record is %d", m, opt.QueueBytes, size)
	}
	if l.QueueBytes() != 0 {
		t.Errorf("%d bytes counted in an empty queue", l.QueueBytes())
	}
}

// TestStuckWriterSpills: when the database hangs, Log stops waiting once
// the writer has taken nothing for QueueWait, and spills; nothing is lost.
func TestStuckWriterSpills(t *testing.T) {
	s := &sink{hang: make(chan struct{}), stored: map[string]bool{}}
	reg := prometheus.NewRegistry()
	opt := fastOptions(t.TempDir())
	opt.QueueSize, opt.BatchSize, opt.Registry = 8, 8, reg
	opt.QueueWait, opt.WriteTimeout = 100*time.Millisecond, 10*time.Second
	l, err := predlog.New(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range 10 {
		if err := l.Log(records(i*10, 10)...); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Log took %v against a hung database; it should give up waiting after about %v", took, opt.QueueWait)
	}
	if spilled := metric(t, reg, "caresignal_prediction_log_spilled_total"); spilled == 0 {
		t.Error("nothing spilled while the database hung")
	}
	close(s.hang)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Spilled records are replayed by Close (or the next start).
	waitFor(t, "every record stored", func() bool { n, _ := s.CountPredictions(context.Background()); return n == 100 })
}
