package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
)

// testPredictionLog: records are stored in batches larger than one
// statement; storing a batch again (a replay) adds nothing; a batch with
// a bad record stores none of it.
func testPredictionLog(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	defer s.Close()
	recs := make([]caresignal.PredictionRecord, 450)
	for i := range recs {
		recs[i] = caresignal.PredictionRecord{ID: fmt.Sprintf("r%04d", i), At: time.Date(2026, 11, 28, 10, 0, i, 0, time.UTC),
			Model: "engagement", Version: "v1", Route: "POST /api/engagement", RequestID: "q", PatientID: fmt.Sprintf("P%d", i),
			Inputs: json.RawMessage(`{"features": {"age": 54,  "sex": "F"}}`), FeaturesHash: "abc", Outputs: json.RawMessage(`{"hazard":[0.1]}`)}
	}
	if err := s.AppendPredictions(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendPredictions(ctx, recs[100:300]); err != nil {
		t.Fatalf("replaying a batch: %v", err)
	}
	if n, err := s.CountPredictions(ctx); err != nil || n != len(recs) {
		t.Fatalf("count %d (%v), want %d", n, err, len(recs))
	}
	bad := []caresignal.PredictionRecord{{ID: "new1", Model: "m", Version: "v", Inputs: json.RawMessage(`{}`), Outputs: json.RawMessage(`{}`)}, {}}
	if err := s.AppendPredictions(ctx, bad); caresignal.ErrorCode(err) != caresignal.EINVALID {
		t.Errorf("a record without an id: %v", err)
	}
	if n, _ := s.CountPredictions(ctx); n != len(recs) {
		t.Errorf("a refused batch stored records: count %d", n)
	}
}
