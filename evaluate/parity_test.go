package evaluate

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/internal/postgres"
	"github.com/caresignal/caresignal/internal/postgres/pgtest"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/internal/web"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/synth"
)

var (
	modelOnce sync.Once
	theModel  *model.Model
	theBytes  []byte
)

// testModel is the engagement model trained on a small synthetic cohort,
// and its artifact.
func testModel(t testing.TB) (*model.Model, []byte) {
	t.Helper()
	modelOnce.Do(func() {
		c, err := synth.Generate(synth.Sized(2000, 11), nil)
		if err != nil {
			t.Fatal(err)
		}
		x, _ := c.Training()
		spec, _ := feature.ParseSpecBytes(caresignal.EngagementSpec)
		m, err := model.Train(context.Background(), spec, x, model.TrainOptions{Penalty: model.PenaltyL2, Lambda: 1,
			Now: func() time.Time { return time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC) }})
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		theModel, theBytes = m, b
	})
	if theModel == nil {
		t.Fatal("no model")
	}
	return theModel, theBytes
}

// stores runs fn against the embedded database and, when configured,
// PostgreSQL.
func stores(t *testing.T, fn func(t *testing.T, s caresignal.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlite.Open(context.Background(), t.TempDir()+"/cs.db")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := postgres.Open(context.Background(), pgtest.Schema(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		fn(t, s)
	})
}

const features = `{"age": %d, "sex": "F", "program": "diabetes", "channel": "app", "baseline_score": 0.%02d, "prior_no_shows": 1, "enrolled_via": "referral", "sessions_last_month": %d, "days_since_last_session": 6, "messages_last_month": 4}`

// serveAndLog runs the API with a prediction log on s, answers single,
// batch and /invocations requests, and returns how many predictions it
// served once the log is flushed.
func serveAndLog(t *testing.T, s caresignal.Store, m *model.Model) int {
	t.Helper()
	pl, err := predlog.New(s, predlog.Options{SpillDir: t.TempDir(), FlushEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.NewHandler(web.Config{Model: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PredictionLog: pl}))
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
	n := 0
	for i := range 20 {
		// Odd spacing on purpose: the log keeps the bytes as received.
		post("/api/engagement", fmt.Sprintf(`{"patient_id": "P%d",  "features": `+features+`, "months_enrolled": %d, "horizon": %d}`, i, 30+i, 10+i, i%5, i%7, 1+i%12))
		n++
	}
	var batch []string
	for i := range 30 {
		batch = append(batch, fmt.Sprintf(`{"patient_id": "B%d", "features": `+features+`}`, i, 60+i, 50+i, i%4))
	}
	post("/api/engagement", `{"instances": [`+strings.Join(batch, ",")+`]}`)
	n += len(batch)
	post("/invocations", `{"dataframe_records": [{"month": 3, "age": 40, "sex": "M", "program": "cardiac", "channel": "sms", "baseline_score": 0.5, "prior_no_shows": 0, "enrolled_via": "self", "sessions_last_month": 2, "days_since_last_session": 12, "messages_last_month": 1}]}`)
	n++
	if err := pl.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.CountPredictions(context.Background()); err != nil || got != n {
		t.Fatalf("prediction log holds %d records (%v), want %d", got, err, n)
	}
	return n
}

// TestParity: what the server logged rescores offline to the same
// numbers; a skewed transform, skewed coefficients and a missing version
// are each caught and named.
func TestParity(t *testing.T) {
	m, artifact := testModel(t)
	stores(t, func(t *testing.T, s caresignal.Store) {
		ctx := context.Background()
		if _, err := s.PublishModel(ctx, caresignal.ModelVersion{Name: m.Name, Version: m.Version}, artifact, "test"); err != nil {
			t.Fatal(err)
		}
		n := serveAndLog(t, s, m)

		rep, err := Parity(ctx, s, RegistryLoader(s), ParityOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() || rep.Checked != n || rep.Matched != n || len(rep.Groups) != 2 || rep.MaxAbsDiff > DefaultTolerance {
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
		rep, err = Parity(ctx, s, load, ParityOptions{MaxListed: 5})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Mismatched != n || rep.Causes[CauseFeatures] != n-1 || rep.Causes[CauseOutputs] != 1 || len(rep.Mismatches) != 5 || rep.Unlisted != n-5 {
			t.Fatalf("a skewed transform: %s (listed %d, unlisted %d)", rep.Summary(), len(rep.Mismatches), rep.Unlisted)
		}
		if mm := rep.Mismatches[0]; mm.Month != 1 || mm.AbsDiff <= DefaultTolerance || mm.LoggedHash == mm.NowHash || mm.LoggedHash == "" {
			t.Errorf("first mismatch %+v", mm)
		}
		if strings.Contains(fmt.Sprint(rep), "P1") {
			t.Error("the report names a patient")
		}

		// Coefficients that changed under the same transform.
		skewed2, _ := model.Load(bytes.NewReader(artifact))
		skewed2.Coef[len(skewed2.Coef)-1] += 1e-9
		load = func(context.Context, string, string) (*model.Model, error) { return skewed2, nil }
		rep, err = Parity(ctx, s, load, ParityOptions{Filter: caresignal.PredictionFilter{Model: m.Name}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Causes[CauseOutputs] == 0 || rep.Causes[CauseFeatures] != 0 {
			t.Errorf("changed coefficients: %s", rep.Summary())
		}

		// A version the registry does not hold.
		load = func(ctx context.Context, name, version string) (*model.Model, error) {
			return model.FromRegistry(ctx, s, name, "no-such-version")
		}
		rep, err = Parity(ctx, s, load, ParityOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Causes[CauseModelMissing] != n {
			t.Errorf("missing version: %s", rep.Summary())
		}

		// A selection that matches nothing.
		rep, err = Parity(ctx, s, RegistryLoader(s), ParityOptions{Filter: caresignal.PredictionFilter{Version: "other"}})
		if err != nil || rep.Checked != 0 || !strings.Contains(rep.Summary(), "nothing to rescore") {
			t.Errorf("empty selection: %v %v", rep, err)
		}
		if _, err := Parity(ctx, s, RegistryLoader(s), ParityOptions{Tolerance: -1}); caresignal.ErrorCode(err) != caresignal.EINVALID {
			t.Errorf("negative tolerance: %v", err)
		}
	})
}
