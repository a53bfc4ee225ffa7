package caresignal

import (
	"context"
	"encoding/json"
	"time"
)

// Evaluation is one stored monitoring report: its headline figures for
// dashboards and metrics, the full report as JSON, and the same report
// as a self-contained HTML page.
type Evaluation struct {
	ID        int64     `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Model     string    `json:"model"`
	Version   string    `json:"version"`
	// Figures are the report's headline numbers by name, e.g.
	// "harrell_c", "brier.6", "parity.mismatched", "drift.psi.age";
	// Flags name the checks that failed (empty when all passed).
	Figures map[string]float64 `json:"figures"`
	Flags   []string           `json:"flags"`
	Report  json.RawMessage    `json:"report"`
	HTML    string             `json:"-"`
}

// EvaluationStore keeps monitoring reports.
type EvaluationStore interface {
	// SaveEvaluation stores a report and returns it with its id and time.
	SaveEvaluation(ctx context.Context, ev Evaluation) (Evaluation, error)
	// LatestEvaluation returns the newest report, of model when it is not
	// empty; an error with code ENOTFOUND when there is none.
	LatestEvaluation(ctx context.Context, model string) (Evaluation, error)
}
