package caresignal

import (
	"context"
	"encoding/json"
	"time"
)

// PredictionRecord is one prediction the API served, as the prediction
// log keeps it: enough to rescore it offline with the same model version
// and compare.
type PredictionRecord struct {
	ID           string          `json:"id"` // unique; a replayed record is stored once
	At           time.Time       `json:"at"`
	Model        string          `json:"model"`
	Version      string          `json:"version"`
	Route        string          `json:"route"` // the route pattern that served it
	RequestID    string          `json:"request_id"`
	PatientID    string          `json:"patient_id,omitempty"` // pseudonymised when configured
	Inputs       json.RawMessage `json:"inputs"`               // the instance as received
	FeaturesHash string          `json:"features_hash,omitempty"`
	Outputs      json.RawMessage `json:"outputs"`
}

// PredictionLog is where served predictions are recorded.
type PredictionLog interface {
	// AppendPredictions stores records in one transaction; a record whose
	// ID is already stored is skipped, so replaying a batch is harmless.
	AppendPredictions(ctx context.Context, recs []PredictionRecord) error
	// CountPredictions returns how many records are stored.
	CountPredictions(ctx context.Context) (int, error)
}
