package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/modeltest"
	"github.com/caresignal/caresignal/internal/postgres"
	"github.com/caresignal/caresignal/internal/postgres/pgtest"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/internal/sqlstore"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/wire"
)

// follower is one server following a registry, as caresignal serve
// runs it: a deployer syncing on its own loop, and the handler.
type follower struct {
	srv *httptest.Server
	dep *serving.Deployer
}

func startFollower(t *testing.T, store *sqlstore.Store, m *model.Model, poll time.Duration) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	models := serving.NewModels(m)
	dep := serving.NewDeployer(store, models, m.Name, log)
	if _, err := dep.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); dep.Run(ctx, poll) }()
	h := NewHandler(Config{Models: models, Store: store, Logger: log, Mode: "dev", Deployer: dep})
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); cancel(); <-done; h.Wait() })
	return &follower{srv: srv, dep: dep}
}

// servedState is what GET /api/serving and the admin answers say a
// server answers with.
type servedState struct {
	Production struct{ Version string }
	Canary     *struct {
		Model   struct{ Version string }
		Percent float64
	}
	Shadow     *struct{ Version string }
	Generation int64
}

func (s servedState) String() string {
	out := fmt.Sprintf("generation %d: production %s", s.Generation, s.Production.Version)
	if s.Canary != nil {
		out += fmt.Sprintf(", canary %s at %g%%", s.Canary.Model.Version, s.Canary.Percent)
	}
	if s.Shadow != nil {
		out += ", shadow " + s.Shadow.Version
	}
	return out
}

// versions says the same without the generation, for comparing states.
func (s servedState) versions() string {
	g := s
	g.Generation = 0
	return g.String()
}

// answered is one prediction made under load: by which server, when it
// was sent, and the version that answered.
type answered struct {
	server  int
	sent    time.Time
	version string
}

// TestChangesReachEveryServer: two servers follow one registry while
// clients post to both without pause. Through the first server's admin
// API, a canary is set, promoted, replaced by another while production
// is rolled back, changed, and swapped for a shadow. After each change:
// the change's answer names the new state, and the first server answers
// no request sent after it with the version the change replaced; the
// second server reports the same state on GET /api/serving, and answers
// no request sent after that with the replaced version. On PostgreSQL the
// second server polls once a minute, so the registry's notifications are
// what bring it the change; the embedded database is polled (every
// 250 ms here). The second server's lag is logged: within a second on a
// machine that is not overloaded (1–140 ms measured); the test fails past
// followLimit, which no poll but the notification can meet, so that a
// test run sharing two cores with others does not fail on a slow swap.
//
// followLimit bounds the second server's lag in this test.
const followLimit = 5 * time.Second

func TestChangesReachEveryServer(t *testing.T) {
	ctx := context.Background()
	v1, v2 := testModel(t), testModel2(t)
	v3, _ := modeltest.Engagement(t, modeltest.Cohort{Patients: 1500, Seed: 5, Holdout: 0.2})
	if v1.Version == v3.Version || v2.Version == v3.Version {
		t.Fatal("the test models share a version")
	}
	for _, db := range []struct {
		name string
		open func(t *testing.T) func() *sqlstore.Store
		poll time.Duration
	}{
		{"sqlite", func(t *testing.T) func() *sqlstore.Store {
			path := filepath.Join(t.TempDir(), "r.db")
			return func() *sqlstore.Store {
				s, err := sqlite.Open(ctx, path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
		}, 250 * time.Millisecond},
		{"postgres", func(t *testing.T) func() *sqlstore.Store {
			dsn := pgtest.Schema(t)
			return func() *sqlstore.Store {
				s, err := postgres.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
		}, time.Minute},
	} {
		t.Run(db.name, func(t *testing.T) {
			open := db.open(t)
			stores := []*sqlstore.Store{open(), open()}
			for _, m := range []*model.Model{v1, v2, v3} {
				b, err := m.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := stores[0].PublishModel(ctx, caresignal.ModelVersion{Name: m.Name, Version: m.Version}, b, "test"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := stores[0].SetStage(ctx, v1.Name, v1.Version, caresignal.StageProduction, "test"); err != nil {
				t.Fatal(err)
			}
			servers := []*follower{startFollower(t, stores[0], v1, db.poll), startFollower(t, stores[1], v1, db.poll)}
			checkChangesUnderLoad(t, servers, v1, v2, v3)
		})
	}
}

func checkChangesUnderLoad(t *testing.T, servers []*follower, v1, v2, v3 *model.Model) {
	var (
		mu      sync.Mutex
		answers []answered
		failed  atomic.Int64
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for i, f := range servers {
		for g := range 4 {
			wg.Go(func() {
				for n := 0; !stop.Load(); n++ {
					sent := time.Now()
					resp, err := client.Post(f.srv.URL+"/api/engagement", "application/json", strings.NewReader(patientBody(fmt.Sprintf("L%d-%d", g, n%500))))
					if err != nil {
						failed.Add(1)
						continue
					}
					var r wire.Answer
					err = json.NewDecoder(resp.Body).Decode(&r)
					resp.Body.Close()
					if err != nil || resp.StatusCode != 200 {
						failed.Add(1)
						continue
					}
					mu.Lock()
					answers = append(answers, answered{server: i, sent: sent, version: r.Model.Version})
					mu.Unlock()
				}
			})
		}
	}
	defer func() {
		stop.Store(true)
		wg.Wait()
		if failed.Load() != 0 {
			t.Errorf("%d requests failed under load", failed.Load())
		}
	}()

	servingPath := "/api/admin/models/engagement/serving"
	steps := []struct {
		what, method, path, body string
		replaced                 *model.Model // the version no answer may come from after the change
		want                     string       // the state after it, without its generation
	}{
		{"a canary v2 at 50%", "PUT", servingPath, `{"canary_version": "` + v2.Version + `", "canary_percent": 50}`, nil,
			"generation 0: production " + v1.Version + ", canary " + v2.Version + " at 50%"},
		{"activating the canary v2", "POST", "/api/admin/models/engagement/versions/" + v2.Version + "/activate", "", v1,
			"generation 0: production " + v2.Version},
		{"a canary v3 at 50%", "PUT", servingPath, `{"canary_version": "` + v3.Version + `", "canary_percent": 50}`, nil,
			"generation 0: production " + v2.Version + ", canary " + v3.Version + " at 50%"},
		{"rolling back with the canary v3 set", "POST", "/api/admin/models/engagement/rollback", "", v2,
			"generation 0: production " + v1.Version + ", canary " + v3.Version + " at 50%"},
		{"the canary v2 at 30% in place of v3", "PUT", servingPath, `{"canary_version": "` + v2.Version + `", "canary_percent": 30}`, v3,
			"generation 0: production " + v1.Version + ", canary " + v2.Version + " at 30%"},
		{"a shadow v3 in place of the canary", "PUT", servingPath, `{"shadow_version": "` + v3.Version + `"}`, v2,
			"generation 0: production " + v1.Version + ", shadow " + v3.Version},
	}
	time.Sleep(100 * time.Millisecond) // the load is running
	var last int64
	for _, step := range steps {
		req, _ := http.NewRequest(step.method, servers[0].srv.URL+step.path, strings.NewReader(step.body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		var answer struct{ Serving servedState }
		err = json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
		answeredAt := time.Now()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", step.what, resp.StatusCode, err)
		}
		if got := answer.Serving.versions(); got != step.want || answer.Serving.Generation <= last {
			t.Errorf("%s: the change's answer says %s; want %s at a generation after %d", step.what, answer.Serving, step.want, last)
		}
		last = answer.Serving.Generation
		cutoff := []time.Time{answeredAt, {}}

		// The second server reports the new state.
		for {
			resp, err := client.Get(servers[1].srv.URL + "/api/serving")
			if err != nil {
				t.Fatalf("%s: GET /api/serving: %v", step.what, err)
			}
			var st servedState
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: GET /api/serving: %d %v", step.what, resp.StatusCode, err)
			}
			if st.Generation >= last {
				cutoff[1] = time.Now()
				if st.Generation != last || st.versions() != step.want {
					t.Errorf("%s: the second server says %s; want %s", step.what, st, answer.Serving)
				}
				break
			}
			if time.Since(answeredAt) > followLimit {
				t.Fatalf("%s: %v after the change's answer (%s), the second server still says %s", step.what, followLimit, answer.Serving, st)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if lag := cutoff[1].Sub(answeredAt); lag > followLimit {
			t.Errorf("%s: the second server took %v to report the change", step.what, lag)
		} else {
			t.Logf("%s: the second server reported it %v after the change's answer", step.what, lag.Round(time.Millisecond))
		}

		// Some answers to requests sent after both (waiting for a few on
		// each server, however loaded the machine), then none of them
		// from the replaced version.
		after := make([]int, len(servers))
		for wait := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			clear(after)
			for _, a := range answers {
				if a.sent.After(cutoff[a.server]) {
					after[a.server]++
				}
			}
			mu.Unlock()
			if slices.Min(after) >= 5 || time.Now().After(wait) {
				break
			}
		}
		mu.Lock()
		for _, a := range answers {
			if a.sent.After(cutoff[a.server]) && step.replaced != nil && a.version == step.replaced.Version {
				t.Errorf("%s: server %d answered a request sent %v after it reported the change with the replaced version %s",
					step.what, a.server+1, a.sent.Sub(cutoff[a.server]), a.version)
			}
		}
		mu.Unlock()
		for i, n := range after {
			if n == 0 {
				t.Errorf("%s: server %d answered no request sent after the change", step.what, i+1)
			}
		}
		t.Logf("%s: %v requests sent after it reached each server", step.what, after)
	}
}
