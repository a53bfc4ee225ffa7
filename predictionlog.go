package caresignal

import (
	"context"
	"encoding/json"
	"time"
)

// RequestRecord is one request as the prediction log stores it: an API
// request, or a chunk of a batch scoring run, with each of its instances'
// inputs and outputs, enough to rescore them offline with the same model
// version and compare. wire.RequestLog builds it.
type RequestRecord struct {
	ID        string    `json:"id"` // unique; a replayed record is stored once
	At        time.Time `json:"at"`
	Model     string    `json:"model"`
	Version   string    `json:"version"`
	Route     string    `json:"route"` // the route pattern that served it
	Kind      string    `json:"kind"`  // what the instances are: see wire.Kind
	RequestID string    `json:"request_id"`
	Instances int       `json:"instances"` // len(Items)
	// Items is a JSON array, one object per instance:
	// {"patient_id", "features_hash", "inputs", "outputs"}. Its bytes are
	// not changed once the record is built (the log stores them without
	// a copy).
	Items json.RawMessage `json:"items"`
}

// PredictionRecord is one prediction, as the log's per-prediction view
// gives it: one instance of a RequestRecord (or a row stored one per
// prediction by earlier versions).
type PredictionRecord struct {
	ID           string          `json:"id"` // the request's id and the instance's index, "<id>/00003"
	At           time.Time       `json:"at"`
	Model        string          `json:"model"`
	Version      string          `json:"version"`
	Route        string          `json:"route"` // the route pattern that served it
	Kind         string          `json:"kind"`
	RequestID    string          `json:"request_id"`
	PatientID    string          `json:"patient_id,omitempty"` // pseudonymised when configured
	Inputs       json.RawMessage `json:"inputs"`               // the instance as received
	FeaturesHash string          `json:"features_hash,omitempty"`
	Outputs      json.RawMessage `json:"outputs"`
}

// PredictionLog is where served predictions are recorded: written a
// request at a time, read a prediction at a time.
type PredictionLog interface {
	// AppendRequests stores records in one transaction; a record whose
	// ID is already stored is skipped, so replaying a batch is harmless.
	AppendRequests(ctx context.Context, recs []RequestRecord) error
	// CountPredictions returns how many predictions are stored.
	CountPredictions(ctx context.Context) (int, error)
	// SummarisePredictions counts the predictions matching f per model,
	// version and route, with the first and last time of each.
	SummarisePredictions(ctx context.Context, f PredictionFilter) ([]PredictionGroup, error)
	// ScanPredictions calls fn with each prediction matching f, in time
	// order (ties by id, so a request's in its order), streaming rather
	// than loading them all. fn must not use the store: the query holds a
	// connection while it runs. An error from fn stops the scan and is
	// returned.
	ScanPredictions(ctx context.Context, f PredictionFilter, fn func(*PredictionRecord) error) error
}

// PredictionFilter selects prediction records; zero fields select all.
type PredictionFilter struct {
	Model   string
	Version string
	From    time.Time // records at or after From
	To      time.Time // records before To
}

// PredictionGroup counts the predictions of one model version and route.
type PredictionGroup struct {
	Model   string    `json:"model"`
	Version string    `json:"version"`
	Route   string    `json:"route"`
	Records int       `json:"records"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}
