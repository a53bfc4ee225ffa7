package web

// The evaluation layer's checks run on what the server really logged:
// parity of served requests, and shadow answers paired with production's.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/internal/modeltest"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/internal/storetest"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/monitor"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/synth"
	"github.com/caresignal/caresignal/wire"
)

// serveAndLog runs the API with a prediction log on s, answers single,
// batch and /invocations requests, and returns how many predictions it
// served once the log is flushed.
func serveAndLog(t *testing.T, s caresignal.Store, m *model.Model) int {
	t.Helper()
	pl, err := predlog.New(s, predlog.Options{SpillDir: t.TempDir(), FlushEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(Config{Model: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PredictionLog: pl}))
	defer srv.Close()
	post := func(path, body string) {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
	reqs, n := modeltest.LoggedRequests()
	for _, req := range reqs {
		post(req.Path, req.Body)
	}
	if err := pl.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.CountPredictions(context.Background()); err != nil || got != n {
		t.Fatalf("prediction log holds %d records (%v), want %d", got, err, n)
	}
	return n
}

// TestParityOfServedRequests: what the server logged rescores offline to the same
// numbers; a skewed transform, skewed coefficients and a missing version
// are each caught and named.
func TestParityOfServedRequests(t *testing.T) {
	m := testModel(t)
	artifact, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	storetest.Both(t, func(t *testing.T, s caresignal.Store) {
		ctx := context.Background()
		if _, err := s.PublishModel(ctx, caresignal.ModelVersion{Name: m.Name, Version: m.Version}, artifact, "test"); err != nil {
			t.Fatal(err)
		}
		n := serveAndLog(t, s, m)

		rep, err := monitor.Parity(ctx, s, monitor.RegistryLoader(s), monitor.ParityOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() || rep.Checked != n || rep.Matched != n || len(rep.Groups) != 2 || rep.MaxAbsDiff > monitor.DefaultTolerance {
			t.Fatalf("parity of an unchanged model: %s\n%+v", rep.Summary(), rep.Mismatches)
		}

		// A transform that drifted from the one that served: the centre of
		// one numeric feature moved.
		skewed, err := model.Load(bytes.NewReader(artifact))
		if err != nil {
			t.Fatal(err)
		}
		moved := false
		for i := range skewed.Features.Features {
			f := &skewed.Features.Features[i]
			if f.Name == "age" {
				f.Center += 2.5
				moved = true
			}
		}
		if !moved {
			t.Fatal("the spec has no age feature")
		}
		load := func(context.Context, string, string) (*model.Model, error) { return skewed, nil }
		rep, err = monitor.Parity(ctx, s, load, monitor.ParityOptions{MaxListed: 5})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Mismatched != n || rep.Causes[monitor.CauseFeatures] != n-1 || rep.Causes[monitor.CauseOutputs] != 1 || len(rep.Mismatches) != 5 || rep.Unlisted != n-5 {
			t.Fatalf("a skewed transform: %s (listed %d, unlisted %d)", rep.Summary(), len(rep.Mismatches), rep.Unlisted)
		}
		if mm := rep.Mismatches[0]; mm.Month != 1 || mm.AbsDiff <= monitor.DefaultTolerance || mm.LoggedHash == mm.NowHash || mm.LoggedHash == "" {
			t.Errorf("first mismatch %+v", mm)
		}
		if strings.Contains(fmt.Sprint(rep), "P1") {
			t.Error("the report names a patient")
		}

		// Coefficients that changed under the same transform.
		skewed2, _ := model.Load(bytes.NewReader(artifact))
		skewed2.Coef[len(skewed2.Coef)-1] += 1e-9
		load = func(context.Context, string, string) (*model.Model, error) { return skewed2, nil }
		rep, err = monitor.Parity(ctx, s, load, monitor.ParityOptions{Filter: caresignal.PredictionFilter{Model: m.Name}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Causes[monitor.CauseOutputs] == 0 || rep.Causes[monitor.CauseFeatures] != 0 {
			t.Errorf("changed coefficients: %s", rep.Summary())
		}

		// A version the registry does not hold.
		load = func(ctx context.Context, name, version string) (*model.Model, error) {
			return model.FromRegistry(ctx, s, name, "no-such-version")
		}
		rep, err = monitor.Parity(ctx, s, load, monitor.ParityOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Causes[monitor.CauseModelMissing] != n {
			t.Errorf("missing version: %s", rep.Summary())
		}

		// A selection that matches nothing.
		rep, err = monitor.Parity(ctx, s, monitor.RegistryLoader(s), monitor.ParityOptions{Filter: caresignal.PredictionFilter{Version: "other"}})
		if err != nil || rep.Checked != 0 || !strings.Contains(rep.Summary(), "nothing to rescore") {
			t.Errorf("empty selection: %v %v", rep, err)
		}
		if _, err := monitor.Parity(ctx, s, monitor.RegistryLoader(s), monitor.ParityOptions{Tolerance: -1}); caresignal.ErrorCode(err) != caresignal.EINVALID {
			t.Errorf("negative tolerance: %v", err)
		}
	})
}

// TestCompareShadowsOfServedRequests serves requests with a shadow beside production and
// pairs the logged answers: a shadow identical to production differs by
// nothing and keeps the whole top tenth; a more penalised one differs,
// pair by pair exactly as the two models score the same patients.
func TestCompareShadowsOfServedRequests(t *testing.T) {
	prod := testModel(t)
	c, err := synth.Generate(synth.Sized(2000, 9), nil)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := c.Training()
	spec, _ := feature.ParseSpecBytes(caresignal.EngagementSpec)
	other, err := model.Train(context.Background(), spec, x, model.TrainOptions{Penalty: model.PenaltyL2, Lambda: 60,
		Now: func() time.Time { return time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Marshal(); err != nil { // sets its version
		t.Fatal(err)
	}
	for _, shadow := range []*model.Model{other, prod} {
		s, err := sqlite.Open(context.Background(), t.TempDir()+"/s.db")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		pl, err := predlog.New(s, predlog.Options{SpillDir: t.TempDir(), FlushEvery: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		models := serving.NewModels(prod)
		models.Set(&serving.Set{Production: prod, Shadow: shadow})
		h := NewHandler(Config{Models: models, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PredictionLog: pl})
		srv := httptest.NewServer(h)
		var want []float64 // shadow − production, request by request
		for i := range 40 {
			var batch []string
			for j := range 3 {
				batch = append(batch, fmt.Sprintf(`{"patient_id": "P%d", "features": `+modeltest.FeaturesFormat+`}`, j, 20+i+j, 10+2*i%90, (i+j)%6))
			}
			body := `{"instances": [` + strings.Join(batch, ",") + `]}`
			resp, err := http.Post(srv.URL+"/api/engagement", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			req, _ := wire.DecodeRequest([]byte(body), nil)
			insts := req.Instances
			for k := range insts {
				p, _ := prod.Predict(&insts[k])
				q, _ := shadow.Predict(&insts[k])
				want = append(want, q.Hazard[0]-p.Hazard[0])
			}
			h.Wait() // shadow scorings run after the answer
		}
		srv.Close()
		if err := pl.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, err := monitor.CompareShadows(context.Background(), s, caresignal.PredictionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Pairs != len(want) || got[0].Unpaired != 0 || got[0].Shadow != shadow.Version || got[0].Production != prod.Version {
			t.Fatalf("comparison %+v, want %d pairs", got, len(want))
		}
		var mean, meanAbs, maxAbs float64
		for _, d := range want {
			mean += d / float64(len(want))
			meanAbs += math.Abs(d) / float64(len(want))
			maxAbs = math.Max(maxAbs, math.Abs(d))
		}
		g := got[0]
		if math.Abs(g.MeanDiff-mean) > 1e-12 || math.Abs(g.MeanAbsDiff-meanAbs) > 1e-12 || g.MaxAbsDiff != maxAbs || g.Correlation == nil || *g.Correlation < 0.8 {
			t.Errorf("shadow %s: %+v, want mean %g, mean abs %g, max %g", shadow.Version, g, mean, meanAbs, maxAbs)
		}
		if shadow == prod && (g.MaxAbsDiff != 0 || g.TopDecileAgreement == nil || *g.TopDecileAgreement != 1) {
			t.Errorf("a shadow equal to production: %+v", g)
		}
		if shadow == other && g.MeanAbsDiff == 0 {
			t.Errorf("a different shadow shows no difference: %+v", g)
		}
	}
}

// TestPseudonymisedServedLog: with a pseudonym key, what the server logs
// of every protocol holds no patient id as sent, in the id column or in
// the stored inputs, and the same patient gets the same pseudonym.
func TestPseudonymisedServedLog(t *testing.T) {
	m := testModel(t)
	storetest.Both(t, func(t *testing.T, s caresignal.Store) {
		pl, err := predlog.New(s, predlog.Options{SpillDir: t.TempDir(), FlushEvery: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		key := []byte("a-secret-of-at-least-16-characters")
		srv := httptest.NewServer(NewHandler(Config{Model: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PredictionLog: pl, PseudonymKey: key}))
		defer srv.Close()
		for _, body := range []string{
			`{"patient_id": "P-SOURCE-1", "features": ` + modeltest.Features + `}`,
			`{"instances": [{"patient_id": "P-SOURCE-1", "features": ` + modeltest.Features + `}, {"patient_id": "P-SOURCE-2", "features": ` + modeltest.Features + `}]}`,
		} {
			if code, b := post(t, srv, body); code != 200 {
				t.Fatalf("%d %s", code, b)
			}
		}
		v2 := `{"inputs": [{"name": "patient_id", "shape": [1], "datatype": "BYTES", "data": ["P-SOURCE-2"]}`
		var feats map[string]any
		json.Unmarshal([]byte(modeltest.Features), &feats)
		for name, v := range feats {
			dt := "FP64"
			if _, ok := v.(string); ok {
				dt = "BYTES"
			}
			b, _ := json.Marshal(map[string]any{"name": name, "shape": []int{1}, "datatype": dt, "data": []any{v}})
			v2 += "," + string(b)
		}
		resp, err := http.Post(srv.URL+"/v2/models/"+m.Name+"/infer", "application/json", strings.NewReader(v2+"]}"))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("v2: %v %v", resp, err)
		}
		resp.Body.Close()
		if err := pl.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		ids := map[string]int{}
		err = s.ScanPredictions(context.Background(), caresignal.PredictionFilter{}, func(r *caresignal.PredictionRecord) error {
			if strings.Contains(r.PatientID, "SOURCE") || strings.Contains(string(r.Inputs), "SOURCE") || !strings.Contains(string(r.Inputs), r.PatientID) {
				return fmt.Errorf("record %s (%s) keeps a source id: %q %s", r.ID, r.Route, r.PatientID, r.Inputs)
			}
			ids[r.PatientID]++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 2 || ids[wire.Pseudonym(key, "P-SOURCE-1")] != 2 || ids[wire.Pseudonym(key, "P-SOURCE-2")] != 2 {
			t.Errorf("pseudonyms %v", ids)
		}
	})
}

// TestWhatIfLoggedApart: a score from the what-if form goes to the
// prediction log as a what-if record, which parity rescores and drift's
// reader of API patients leaves out, beside an API request's patient.
func TestWhatIfLoggedApart(t *testing.T) {
	m := testModel(t)
	artifact, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.PublishModel(ctx, caresignal.ModelVersion{Name: m.Name, Version: m.Version}, artifact, "test"); err != nil {
		t.Fatal(err)
	}
	pl, err := predlog.New(s, predlog.Options{SpillDir: t.TempDir(), FlushEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(Config{Model: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PredictionLog: pl}))
	defer srv.Close()
	form := whatIfForm()
	form.Set("horizon", "6")
	resp, err := http.PostForm(srv.URL+"/", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Post(srv.URL+"/api/engagement", "application/json", strings.NewReader(modeltest.Single))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := pl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	s.ScanPredictions(ctx, caresignal.PredictionFilter{}, func(r *caresignal.PredictionRecord) error {
		kinds = append(kinds, r.Kind+" "+r.Route)
		if r.Kind == "whatif" {
			rec := wire.Read(r)
			inst, err := rec.DecodePatient()
			if err != nil || inst.MonthsEnrolled != 3 || inst.Horizon != 6 || inst.Features["days_since_last_session"].Num != 45 {
				t.Errorf("what-if inputs %s read as %+v (%v)", r.Inputs, inst, err)
			}
		}
		return nil
	})
	if !slices.Equal(kinds, []string{"whatif POST /{$}", "patient POST /api/engagement"}) {
		t.Fatalf("logged %q, want the what-if, then the API request", kinds)
	}
	rep, err := monitor.Parity(ctx, s, monitor.RegistryLoader(s), monitor.ParityOptions{})
	if err != nil || !rep.OK() || rep.Checked != 2 {
		t.Errorf("parity of both: %s (%v)", rep.Summary(), err)
	}
	api, err := monitor.APIRequests(ctx, s, caresignal.PredictionFilter{})
	if err != nil || len(api) != 1 || api[0].PatientID != "P0012345" {
		t.Errorf("API patients for drift: %+v (%v)", api, err)
	}
}
