package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/internal/sqlstore"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/synth"
	"github.com/caresignal/caresignal/wire"
)

var (
	secondOnce  sync.Once
	secondModel *model.Model
)

// testModel2 is a second version of the engagement model: the same data
// with another penalty, so its hazards differ.
func testModel2(t testing.TB) *model.Model {
	t.Helper()
	secondOnce.Do(func() {
		c, err := synth.Generate(synth.Sized(2000, 9), nil)
		if err != nil {
			t.Fatal(err)
		}
		x, _ := c.Training()
		spec, _ := feature.ParseSpecBytes(caresignal.EngagementSpec)
		m, err := model.Train(context.Background(), spec, x, model.TrainOptions{Penalty: model.PenaltyL2, Lambda: 40, Holdout: 0.2,
			Now: func() time.Time { return time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) }})
		if err != nil {
			t.Fatal(err)
		}
		secondModel = m
	})
	if secondModel == nil {
		t.Fatal("no second model")
	}
	return secondModel
}

// registryFixture serves v1 from a registry holding v1 (production) and
// v2 (staging), in development mode (access is tested elsewhere).
type registryFixture struct {
	srv    *httptest.Server
	store  *sqlstore.Store
	dep    *serving.Deployer
	reg    *prometheus.Registry
	h      *Handler
	pl     *predlog.Logger
	v1, v2 *model.Model
}

func newRegistryFixture(t *testing.T) *registryFixture {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &registryFixture{store: store, v1: testModel(t), v2: testModel2(t), reg: prometheus.NewRegistry()}
	if f.v1.Version == f.v2.Version {
		t.Fatal("the two test models share a version")
	}
	for _, m := range []*model.Model{f.v1, f.v2} {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.PublishModel(ctx, caresignal.ModelVersion{Name: m.Name, Version: m.Version}, b, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.SetStage(ctx, f.v1.Name, f.v1.Version, caresignal.StageProduction, "test"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	models := serving.NewModels(f.v1)
	f.dep = serving.NewDeployer(store, models, f.v1.Name, log)
	pl, err := predlog.New(store, predlog.Options{SpillDir: t.TempDir(), FlushEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.pl = pl
	t.Cleanup(func() { pl.Close(context.Background()) })
	f.h = NewHandler(Config{Models: models, Store: store, Logger: log, Mode: "dev", Deployer: f.dep, Registry: f.reg, PredictionLog: pl})
	f.srv = httptest.NewServer(f.h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *registryFixture) admin(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func patientBody(id string) string {
	return `{"patient_id": "` + id + `", "features": ` + goodFeatures + `, "horizon": 6}`
}

// expected returns each version's hazards for a body, computed directly.
func expected(t *testing.T, models ...*model.Model) func(body string) map[string][]float64 {
	return func(body string) map[string][]float64 {
		req, err := wire.DecodeRequest([]byte(body), nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]float64{}
		for _, m := range models {
			resp, err := serving.Score(m, req.Instances, req.Batch, req.Fields)
			if err != nil {
				t.Fatal(err)
			}
			out[m.Version] = resp.Predictions[0].Hazard
		}
		return out
	}
}

// TestSwapUnderLoad: while 8 clients post without pause, production is
// switched between two versions 20 times through the admin API. No
// request fails, and every answer is exactly the one the version it names
// computes: no request mixes versions.
func TestSwapUnderLoad(t *testing.T) {
	f := newRegistryFixture(t)
	want := expected(t, f.v1, f.v2)(patientBody("P-load"))
	var stop atomic.Bool
	var requests, failures, wrong atomic.Int64
	seen := sync.Map{}
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				resp, err := client.Post(f.srv.URL+"/api/engagement", "application/json", strings.NewReader(patientBody("P-load")))
				requests.Add(1)
				if err != nil {
					failures.Add(1)
					continue
				}
				var r wire.Answer
				err = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					failures.Add(1)
					continue
				}
				seen.Store(r.Model.Version, true)
				if h, ok := want[r.Model.Version]; !ok || fmt.Sprint(h) != fmt.Sprint(r.Predictions[0].Hazard) {
					wrong.Add(1)
				}
			}
		}()
	}
	for i := range 20 {
		time.Sleep(15 * time.Millisecond)
		path := "/api/admin/models/engagement/versions/" + f.v2.Version + "/activate"
		if i%2 == 1 {
			path = "/api/admin/models/engagement/rollback"
		}
		if code, body := f.admin(t, "POST", path, ""); code != 200 {
			t.Errorf("swap %d: %d %s", i, code, body)
		}
	}
	time.Sleep(20 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if failures.Load() != 0 || wrong.Load() != 0 {
		t.Errorf("%d requests: %d failed, %d answers did not match the version they named", requests.Load(), failures.Load(), wrong.Load())
	}
	for _, m := range []*model.Model{f.v1, f.v2} {
		if _, ok := seen.Load(m.Version); !ok {
			t.Errorf("no answer from version %s during the swaps", m.Version)
		}
	}
	t.Logf("%d requests across 20 swaps", requests.Load())
	// After an even number of swaps (activate, rollback, ...) v1 serves.
	prod, err := f.store.ProductionModel(context.Background(), "engagement")
	if err != nil || prod.Version != f.v1.Version || f.h.s.production().Version != f.v1.Version {
		t.Errorf("after the swaps: registry %s, served %s, want %s", prod.Version, f.h.s.production().Version, f.v1.Version)
	}
}

// TestCorruptArtifactRefused: an artifact damaged in the database is
// refused at activation, and the old version keeps serving, in the
// registry and in memory.
func TestCorruptArtifactRefused(t *testing.T) {
	f := newRegistryFixture(t)
	db := f.store.DB()
	var art []byte
	if err := db.QueryRow("SELECT artifact FROM model_versions WHERE version = ?", f.v2.Version).Scan(&art); err != nil {
		t.Fatal(err)
	}
	// Flip the sign of one coefficient and store the bytes with a
	// matching row checksum, so only the artifact's own checksum can tell.
	damaged := bytes.Replace(art, []byte(`"estimate": -`), []byte(`"estimate": `), 1)
	if bytes.Equal(damaged, art) {
		t.Fatal("nothing to damage")
	}
	sum := sha256.Sum256(damaged)
	if _, err := db.Exec("UPDATE model_versions SET artifact = ?, checksum = ? WHERE version = ?", damaged, hex.EncodeToString(sum[:]), f.v2.Version); err != nil {
		t.Fatal(err)
	}
	code, body := f.admin(t, "POST", "/api/admin/models/engagement/versions/"+f.v2.Version+"/activate", "")
	if code < 400 || code >= 500 || !strings.Contains(body, "error") {
		t.Errorf("activating a damaged artifact: %d %s", code, body)
	}
	prod, err := f.store.ProductionModel(context.Background(), "engagement")
	if err != nil || prod.Version != f.v1.Version {
		t.Errorf("registry production after the refusal: %v %v", prod.Version, err)
	}
	if code, body := post(t, f.srv, patientBody("P1")); code != 200 || !strings.Contains(string(body), f.v1.Version) {
		t.Errorf("serving after the refusal: %d %.120s", code, body)
	}
	// A version that does not exist is 404 and changes nothing.
	if code, _ := f.admin(t, "POST", "/api/admin/models/engagement/versions/nope/activate", ""); code != 404 {
		t.Errorf("unknown version: %d", code)
	}
	if code, _ := f.admin(t, "POST", "/api/admin/models/other/versions/"+f.v2.Version+"/activate", ""); code != 404 {
		t.Errorf("another model's name: %d", code)
	}
}

// TestCanarySplit: a canary at 30% answers about 30% of patients, each
// patient always the same version, and every answer names its version.
func TestCanarySplit(t *testing.T) {
	f := newRegistryFixture(t)
	code, body := f.admin(t, "PUT", "/api/admin/models/engagement/serving", `{"canary_version": "`+f.v2.Version+`", "canary_percent": 30}`)
	if code != 200 {
		t.Fatalf("set canary: %d %s", code, body)
	}
	want := expected(t, f.v1, f.v2)
	first := map[string]string{}
	canary := 0
	const patients = 400
	for i := range patients * 2 {
		id := fmt.Sprintf("P%05d", i%patients)
		code, b := post(t, f.srv, patientBody(id))
		var r wire.Answer
		if code != 200 || json.Unmarshal(b, &r) != nil {
			t.Fatalf("%d %s", code, b)
		}
		if fmt.Sprint(want(patientBody(id))[r.Model.Version]) != fmt.Sprint(r.Predictions[0].Hazard) {
			t.Fatalf("patient %s: the answer is not version %s's", id, r.Model.Version)
		}
		if v, ok := first[id]; ok && v != r.Model.Version {
			t.Fatalf("patient %s answered by %s, then %s", id, v, r.Model.Version)
		}
		first[id] = r.Model.Version
		if i < patients && r.Model.Version == f.v2.Version {
			canary++
		}
	}
	if share := float64(canary) / patients; share < 0.24 || share > 0.36 {
		t.Errorf("canary share %.3f, want about 0.30", share)
	}
	// Invalid settings are refused and change nothing.
	for _, bad := range []string{`{"canary_version": "` + f.v2.Version + `", "canary_percent": 130}`, `{"canary_version": "nope", "canary_percent": 10}`, `{"shadow": "x"}`} {
		if code, _ := f.admin(t, "PUT", "/api/admin/models/engagement/serving", bad); code < 400 || code >= 500 {
			t.Errorf("%s: %d", bad, code)
		}
	}
	if sv := f.h.s.models.Load(); sv.Canary != f.v2 && sv.Canary.Version != f.v2.Version {
		t.Error("a refused setting changed the canary")
	}
}

// TestShadowNeverAnswers: with a shadow version, every answer is
// production's, and the shadow's distance to it is recorded per request.
func TestShadowNeverAnswers(t *testing.T) {
	f := newRegistryFixture(t)
	if code, body := f.admin(t, "PUT", "/api/admin/models/engagement/serving", `{"shadow_version": "`+f.v2.Version+`"}`); code != 200 {
		t.Fatalf("set shadow: %d %s", code, body)
	}
	const n = 50
	for i := range n {
		code, b := post(t, f.srv, patientBody(fmt.Sprintf("S%d", i)))
		if code != 200 || !strings.Contains(string(b), f.v1.Version) {
			t.Fatalf("%d %s", code, b)
		}
	}
	f.h.Wait()
	families, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var count uint64
	var skipped float64
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "caresignal_shadow_hazard_abs_diff":
				if label(m, "version") == f.v2.Version {
					count += m.GetHistogram().GetSampleCount()
					if m.GetHistogram().GetSampleSum() <= 0 {
						t.Error("the shadow's hazards equal production's: the shadow did not run")
					}
				}
			case "caresignal_shadow_skipped_total":
				skipped += m.GetCounter().GetValue()
			}
		}
	}
	if count+uint64(skipped) != n || count == 0 {
		t.Errorf("shadow scored %d and skipped %.0f of %d requests", count, skipped, n)
	}
	// Both answers are in the prediction log, each under its version.
	if err := f.pl.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	byVersion := map[string]int{}
	rows, err := f.store.DB().Query("SELECT model_version, route FROM predictions")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v, route string
		rows.Scan(&v, &route)
		if (v == f.v2.Version) != strings.HasSuffix(route, "(shadow)") {
			t.Errorf("version %s logged on route %q", v, route)
		}
		byVersion[v]++
	}
	if byVersion[f.v1.Version] != n || uint64(byVersion[f.v2.Version]) != count {
		t.Errorf("prediction log: %v, want %d production and %d shadow", byVersion, n, count)
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestDeployerFollowsTheRegistry: a change made elsewhere (the command
// line) reaches the server at its next sync; a sync with no change swaps
// nothing.
func TestDeployerFollowsTheRegistry(t *testing.T) {
	f := newRegistryFixture(t)
	ctx := context.Background()
	if changed, err := f.dep.Sync(ctx); err != nil || changed {
		t.Fatalf("idle sync: changed=%v err=%v", changed, err)
	}
	if _, err := f.store.SetStage(ctx, "engagement", f.v2.Version, caresignal.StageProduction, "cli"); err != nil {
		t.Fatal(err)
	}
	if changed, err := f.dep.Sync(ctx); err != nil || !changed || f.h.s.production().Version != f.v2.Version {
		t.Fatalf("sync after activation elsewhere: changed=%v err=%v serving %s", changed, err, f.h.s.production().Version)
	}
}
