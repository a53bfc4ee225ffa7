package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/postgres"
	"github.com/caresignal/caresignal/internal/postgres/pgtest"
)

// TestWatchRegistry: a watch hears of every committed change to its name's
// serving state in its schema within a second, of no other name's or
// schema's, and hears again after its connection is cut and restored
// (with a signal on reconnecting, for the changes made meanwhile). A
// connection silent for a while is pinged, and stays.
func TestWatchRegistry(t *testing.T) {
	ctx := context.Background()
	direct, proxied, proxy := pgtest.SchemaBehindProxy(t)
	open := func(dsn string) caresignal.Store {
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	changer, watched, elsewhere := open(direct), open(proxied), open(pgtest.Schema(t))
	for _, s := range []caresignal.Store{changer, elsewhere} {
		for _, v := range []string{"m@v1", "m@v2", "other@v1"} {
			name, version := v[:len(v)-3], v[len(v)-2:]
			if _, err := s.PublishModel(ctx, caresignal.ModelVersion{Name: name, Version: version}, []byte("artifact of "+v), "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	const idle = 150 * time.Millisecond
	defer postgres.SetIdleCheck(idle)()
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	ch := watched.(caresignal.RegistryWatcher).WatchRegistry(watchCtx, "m")
	if ch == nil {
		t.Fatal("PostgreSQL gives no watch")
	}
	expect := func(what string, within time.Duration) {
		t.Helper()
		start := time.Now()
		select {
		case _, ok := <-ch:
			if !ok {
				t.Fatalf("%s: the watch closed", what)
			}
			t.Logf("%s: heard after %v", what, time.Since(start).Round(time.Millisecond))
		case <-time.After(within):
			t.Fatalf("%s: not heard within %v", what, within)
		}
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case <-ch:
			t.Errorf("%s: heard", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
	activate := func(s caresignal.Store, name, version string) {
		t.Helper()
		if _, err := s.SetStage(ctx, name, version, caresignal.StageProduction, "test"); err != nil {
			t.Fatal(err)
		}
	}

	expect("connecting", 5*time.Second)
	// Silent connections are pinged; a ping that works changes nothing.
	time.Sleep(3 * idle)
	quiet("pings")
	activate(changer, "m", "v1")
	expect("an activation", time.Second)
	if err := changer.SetServingConfig(ctx, caresignal.ServingConfig{Name: "m", CanaryVersion: "v2", CanaryPercent: 5, UpdatedByActor: "test"}); err != nil {
		t.Fatal(err)
	}
	expect("a canary", time.Second)
	activate(changer, "other", "v1")
	activate(elsewhere, "m", "v1")
	quiet("changes to another name, and to the same name in another schema")
	err := changer.SetServingConfig(ctx, caresignal.ServingConfig{Name: "m", CanaryVersion: "v9", CanaryPercent: 5, UpdatedByActor: "test"})
	if caresignal.ErrorCode(err) != caresignal.EINVALID {
		t.Fatalf("a canary of a missing version: %v", err)
	}
	quiet("a refused change")

	proxy.Stop()
	activate(changer, "m", "v2")
	quiet("a change while the connection is cut")
	proxy.Start()
	expect("reconnecting after the cut", 10*time.Second)
	if _, _, err := changer.Rollback(ctx, "m", "test"); err != nil {
		t.Fatal(err)
	}
	expect("a rollback after the cut", time.Second)

	stop()
	select {
	case _, ok := <-ch:
		if ok {
			if _, ok := <-ch; ok {
				t.Error("the watch still sends after its context ended")
			}
		}
	case <-time.After(5 * time.Second):
		t.Error("the watch did not close when its context ended")
	}
}
