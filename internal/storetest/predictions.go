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

	// Reading back: a second version and route, filters, order, and the
	// inputs byte for byte.
	more := []caresignal.PredictionRecord{
		{ID: "z1", At: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC), Model: "engagement", Version: "v2", Route: "caresignal score",
			RequestID: "q2", PatientID: "P1", Inputs: json.RawMessage(`{"a":1}`), Outputs: json.RawMessage(`{"hazard":[0.2]}`)},
		{ID: "a1", At: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC), Model: "engagement", Version: "v2", Route: "caresignal score",
			RequestID: "q2", PatientID: "P2", Inputs: json.RawMessage(`{"a":2}`), Outputs: json.RawMessage(`{"hazard":[0.3]}`)},
	}
	if err := s.AppendPredictions(ctx, more); err != nil {
		t.Fatal(err)
	}
	groups, err := s.SummarisePredictions(ctx, caresignal.PredictionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || groups[0].Version != "v1" || groups[0].Records != len(recs) || groups[1].Version != "v2" || groups[1].Records != 2 ||
		!groups[0].First.Equal(recs[0].At) || !groups[0].Last.Equal(recs[len(recs)-1].At) || groups[1].Route != "caresignal score" {
		t.Errorf("summary %+v", groups)
	}
	var got []caresignal.PredictionRecord
	collect := func(r *caresignal.PredictionRecord) error { got = append(got, *r); return nil }
	if err := s.ScanPredictions(ctx, caresignal.PredictionFilter{Version: "v2"}, collect); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "a1" || got[1].ID != "z1" || string(got[1].Inputs) != `{"a":1}` || !got[0].At.Equal(more[1].At) ||
		got[1].PatientID != "P1" || string(got[0].Outputs) != `{"hazard":[0.3]}` {
		t.Errorf("scan v2: %+v", got)
	}
	got = nil
	window := caresignal.PredictionFilter{Model: "engagement", From: recs[10].At, To: recs[20].At}
	if err := s.ScanPredictions(ctx, window, collect); err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || got[0].ID != "r0010" || got[9].ID != "r0019" || string(got[0].Inputs) != string(recs[10].Inputs) {
		t.Errorf("scan of a time window: %d records", len(got))
	}
	stop := fmt.Errorf("stop")
	n := 0
	if err := s.ScanPredictions(ctx, caresignal.PredictionFilter{}, func(*caresignal.PredictionRecord) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("an error from fn: %v after %d records", err, n)
	}
	if groups, err := s.SummarisePredictions(ctx, caresignal.PredictionFilter{Model: "other"}); err != nil || len(groups) != 0 {
		t.Errorf("summary of an unknown model: %v, %v", groups, err)
	}
}
