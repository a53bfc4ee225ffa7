package serving

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/modeltest"
)

// fakeRegistry is a registry of one model name whose serving state the
// test sets, counting the calls a deployer makes, with a watch the test
// signals. Calls it does not implement panic (the nil embedded interface).
type fakeRegistry struct {
	caresignal.Registry

	mu        sync.Mutex
	state     caresignal.ServingState
	artifacts map[string][]byte
	reads     int // ServingState calls
	loads     int // ModelArtifact calls
	changes   chan struct{}
}

func (f *fakeRegistry) set(st caresignal.ServingState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state = st
}

func (f *fakeRegistry) counts() (reads, loads int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads, f.loads
}

func (f *fakeRegistry) ServingState(ctx context.Context, name string) (caresignal.ServingState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.state, nil
}

func (f *fakeRegistry) ModelArtifact(ctx context.Context, name, version string) (caresignal.ModelVersion, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	b, ok := f.artifacts[version]
	if !ok {
		return caresignal.ModelVersion{}, nil, caresignal.Errorf(caresignal.ENOTFOUND, "model %s has no version %s", name, version)
	}
	return caresignal.ModelVersion{Name: name, Version: version}, b, nil
}

func (f *fakeRegistry) WatchRegistry(ctx context.Context, name string) <-chan struct{} {
	return f.changes
}

// syncLog is a log buffer safe to write from the deployer's goroutine.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func waitFor(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDeployerRun: a poll that finds the generation it serves costs one
// read and swaps nothing; a canary that does not load is left out, tried
// again at each poll and logged once; a notification brings a change at
// once, without waiting for the poll.
func TestDeployerRun(t *testing.T) {
	v1, a1 := modeltest.Engagement(t, modeltest.Cohort{Patients: 1500, Seed: 5})
	v2, a2 := modeltest.Engagement(t, modeltest.Cohort{Patients: 1500, Seed: 6})
	reg := &fakeRegistry{artifacts: map[string][]byte{v1.Version: a1, v2.Version: a2, "broken": []byte("not a model")},
		changes: make(chan struct{}, 1)}
	reg.set(caresignal.ServingState{Name: v1.Name, Generation: 1, Production: v1.Version, ChangedAt: time.Now()})
	logs := &syncLog{}
	ms := NewModels(v1)
	d := NewDeployer(reg, ms, v1.Name, slog.New(slog.NewJSONHandler(logs, nil)))
	if _, err := d.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	served := ms.Load()
	if served.Generation != 1 || served.Production != v1 {
		t.Fatalf("after the first sync: %+v", served.State())
	}

	// run runs the deployer, polling every interval, until stop is called.
	run := func(every time.Duration) (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); d.Run(ctx, every) }()
		return func() { cancel(); <-done }
	}
	poll := 20 * time.Millisecond
	stop := run(poll)
	defer func() { stop() }() // the latest run's; stopping twice is harmless

	reads0, loads0 := reg.counts()
	// A few polls, however slowly a loaded machine runs them.
	waitFor(t, "three idle polls", 10*time.Second, func() bool { r, _ := reg.counts(); return r-reads0 >= 3 })
	reads, loads := reg.counts()
	if reads-reads0 < 3 || loads != loads0 || ms.Load() != served {
		t.Errorf("idle polls: %d reads, %d artifact loads, set swapped %v; want a read a poll and nothing else", reads-reads0, loads-loads0, ms.Load() != served)
	}

	reg.set(caresignal.ServingState{Name: v1.Name, Generation: 2, Production: v1.Version, CanaryVersion: "broken", CanaryPercent: 10, ChangedAt: time.Now()})
	waitFor(t, "generation 2", 10*time.Second, func() bool { return ms.Load().Generation == 2 })
	_, loads0 = reg.counts()
	waitFor(t, "three more polls", 10*time.Second, func() bool { _, l := reg.counts(); return l-loads0 >= 3 })
	if _, loads := reg.counts(); loads-loads0 < 3 {
		t.Errorf("a canary that did not load was tried %d times in 10 polls, want again at each", loads-loads0)
	}
	if sv := ms.Load(); sv.Canary != nil || sv.Production != v1 {
		t.Errorf("with a broken canary: serving %+v, want production alone", sv.State())
	}
	if n := logs.count("canary not served"); n != 1 {
		t.Errorf("the broken canary was logged %d times, want once", n)
	}

	// A notification: no poll for an hour, but the change arrives.
	stop()
	stop = run(time.Hour)
	reg.set(caresignal.ServingState{Name: v1.Name, Generation: 3, Production: v2.Version, ChangedAt: time.Now()})
	reg.changes <- struct{}{}
	waitFor(t, "the change notified", 10*time.Second, func() bool { return ms.Load().Production.Version == v2.Version })
	if sv := ms.Load(); sv.Generation != 3 || sv.Canary != nil {
		t.Errorf("after the notification: %+v", sv.State())
	}
}
