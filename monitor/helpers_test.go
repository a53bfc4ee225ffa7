package monitor

import (
	"context"
	"fmt"
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
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
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

// serveAndLog answers single, batch and /invocations requests with the
// scoring core and a prediction log on s, as a server would, and returns
// how many predictions it served once the log is flushed.
func serveAndLog(t *testing.T, s caresignal.Store, m *model.Model) int {
	t.Helper()
	pl, err := predlog.New(s, predlog.Options{SpillDir: t.TempDir(), FlushEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := serving.NewScorer(serving.Config{Models: serving.NewModels(m), Log: pl})
	if err != nil {
		t.Fatal(err)
	}
	engagement := serving.Call{RequestID: "r-engagement", Route: "POST /api/engagement"}
	n := 0
	for i := range 20 {
		// Odd spacing on purpose: the log keeps the bytes as received.
		enc, err := sc.Engagement(engagement, []byte(fmt.Sprintf(`{"patient_id": "P%d",  "features": `+features+`, "months_enrolled": %d, "horizon": %d}`, i, 30+i, 10+i, i%5, i%7, 1+i%12)))
		if err != nil {
			t.Fatal(err)
		}
		enc.Release()
		n++
	}
	var batch []string
	for i := range 30 {
		batch = append(batch, fmt.Sprintf(`{"patient_id": "B%d", "features": `+features+`}`, i, 60+i, 50+i, i%4))
	}
	enc, err := sc.Engagement(engagement, []byte(`{"instances": [`+strings.Join(batch, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	enc.Release()
	n += len(batch)
	_, err = sc.Invocations(serving.Call{RequestID: "r-invocations", Route: "POST /invocations"},
		[]byte(`{"dataframe_records": [{"month": 3, "age": 40, "sex": "M", "program": "cardiac", "channel": "sms", "baseline_score": 0.5, "prior_no_shows": 0, "enrolled_via": "self", "sessions_last_month": 2, "days_since_last_session": 12, "messages_last_month": 1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	n++
	if err := pl.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.CountPredictions(context.Background()); err != nil || got != n {
		t.Fatalf("prediction log holds %d records (%v), want %d", got, err, n)
	}
	return n
}
