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
	// SummarisePredictions counts the records matching f per model,
	// version and route, with the first and last time of each.
	SummarisePredictions(ctx context.Context, f PredictionFilter) ([]PredictionGroup, error)
	// ScanPredictions calls fn with each record matching f, in time order
	// (ties by id), streaming rather than loading them all. fn must not
	// use the store: the query holds a connection while it runs. An error
	// from fn stops the scan and is returned.
	ScanPredictions(ctx context.Context, f PredictionFilter, fn func(*PredictionRecord) error) error
}

// PredictionFilter selects prediction records; zero fields select all.
type PredictionFilter struct {
	Model   string
	Version string
	From    time.Time // records at or after From
	To      time.Time // records before To
}

// PredictionGroup counts the prediction records of one model version and
// route.
type PredictionGroup struct {
	Model   string    `json:"model"`
	Version string    `json:"version"`
	Route   string    `json:"route"`
	Records int       `json:"records"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}
