package modeltest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/caresignal/caresignal"
)

// Predictions expands request records into the rows of one prediction
// each, as the databases' predictions view gives them, for tests whose
// log is in memory.
func Predictions(t testing.TB, recs []caresignal.RequestRecord) []caresignal.PredictionRecord {
	t.Helper()
	var out []caresignal.PredictionRecord
	for _, r := range recs {
		var items []struct {
			PatientID    string          `json:"patient_id"`
			FeaturesHash string          `json:"features_hash"`
			Inputs       json.RawMessage `json:"inputs"`
			Outputs      json.RawMessage `json:"outputs"`
		}
		if err := json.Unmarshal(r.Items, &items); err != nil {
			t.Fatalf("record %s: items %s: %v", r.ID, r.Items, err)
		}
		if len(items) != r.Instances {
			t.Fatalf("record %s says %d instances and holds %d", r.ID, r.Instances, len(items))
		}
		for i, it := range items {
			out = append(out, caresignal.PredictionRecord{ID: fmt.Sprintf("%s/%05d", r.ID, i), At: r.At, Model: r.Model, Version: r.Version,
				Route: r.Route, Kind: r.Kind, RequestID: r.RequestID, PatientID: it.PatientID, Inputs: it.Inputs,
				FeaturesHash: it.FeaturesHash, Outputs: it.Outputs})
		}
	}
	return out
}
