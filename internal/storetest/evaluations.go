package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/caresignal/caresignal"
)

// testEvaluations: reports are kept in order; the latest is returned per
// model, whole; an empty store says so; a report that is not JSON is
// refused.
func testEvaluations(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	defer s.Close()
	if _, err := s.LatestEvaluation(ctx, ""); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		t.Fatalf("empty store: %v", err)
	}
	first, err := s.SaveEvaluation(ctx, caresignal.Evaluation{Model: "engagement", Version: "v1", Figures: map[string]float64{"harrell_c": 0.71},
		Report: json.RawMessage(`{"a": 1}`), HTML: "<p>one</p>"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.SaveEvaluation(ctx, caresignal.Evaluation{Model: "other", Version: "v9", Flags: []string{"drift.age"},
		Report: json.RawMessage(`{"b": 2}`), HTML: "<p>two</p>"})
	if err != nil {
		t.Fatal(err)
	}
	if second.ID <= first.ID || first.CreatedAt.IsZero() {
		t.Errorf("ids %d, %d; time %v", first.ID, second.ID, first.CreatedAt)
	}
	got, err := s.LatestEvaluation(ctx, "")
	if err != nil || got.ID != second.ID || got.Model != "other" || len(got.Flags) != 1 || got.Flags[0] != "drift.age" || string(got.Report) != `{"b": 2}` || got.HTML != "<p>two</p>" {
		t.Errorf("latest: %+v, %v", got, err)
	}
	got, err = s.LatestEvaluation(ctx, "engagement")
	if err != nil || got.ID != first.ID || got.Figures["harrell_c"] != 0.71 || got.Version != "v1" || len(got.Flags) != 0 || !got.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("latest of engagement: %+v, %v", got, err)
	}
	if _, err := s.SaveEvaluation(ctx, caresignal.Evaluation{Model: "m", Version: "v", Report: json.RawMessage(`{`)}); caresignal.ErrorCode(err) != caresignal.EINVALID {
		t.Errorf("a report that is not JSON: %v", err)
	}
}
