package monitor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/modeltest"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/wire"
)

// testModel is the engagement model the monitor's tests score with, and
// its artifact.
func testModel(t testing.TB) (*model.Model, []byte) {
	return modeltest.Engagement(t, modeltest.Cohort{Patients: 2000, Seed: 11})
}

// serveAndLog answers modeltest.LoggedRequests with the scoring core and
// a prediction log on s, as a server would, and returns how many
// predictions it served once the log is flushed.
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
	reqs, n := modeltest.LoggedRequests()
	for i, req := range reqs {
		// The route a server would record: its pattern is the path here.
		call := serving.Call{RequestID: fmt.Sprintf("r%d", i), Route: "POST " + req.Path}
		if req.Path == "/invocations" {
			_, err = sc.Invocations(call, []byte(req.Body))
		} else {
			var enc wire.Encoded
			enc, err = sc.Engagement(call, []byte(req.Body))
			enc.Release()
		}
		if err != nil {
			t.Fatalf("%s: %v", req.Path, err)
		}
	}
	if err := pl.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.CountPredictions(context.Background()); err != nil || got != n {
		t.Fatalf("prediction log holds %d records (%v), want %d", got, err, n)
	}
	return n
}
