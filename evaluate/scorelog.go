package evaluate

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/predlog"
)

// ScoreRoute is the route of prediction records written by batch scoring
// (caresignal score and the demo).
const ScoreRoute = "caresignal score"

// ScoreRunID names one batch scoring run in the prediction log's request
// id: "score@" and the data's as-of date, "#" and the run's start in
// nanoseconds (hex), so that records of one run group together and the
// as-of date of a back-dated run is known.
func ScoreRunID(asOf, started time.Time) string {
	return fmt.Sprintf("score@%s#%x", asOf.UTC().Format(time.DateOnly), started.UnixNano())
}

// ParseScoreRunID returns the as-of date of a ScoreRunID; ok is false
// for any other request id.
func ParseScoreRunID(id string) (asOf time.Time, ok bool) {
	rest, found := strings.CutPrefix(id, "score@")
	if !found {
		return time.Time{}, false
	}
	date, _, found := strings.Cut(rest, "#")
	if !found {
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, date)
	return t, err == nil
}

// wireInstance is an instance in the /api/engagement request shape.
type wireInstance struct {
	PatientID      string                      `json:"patient_id"`
	Features       map[string]caresignal.Value `json:"features"`
	MonthsEnrolled int                         `json:"months_enrolled"`
	Horizon        int                         `json:"horizon"`
}

// ScoreRecord is the prediction record of one batch-scored patient: its
// instance in the /api/engagement request shape, so it rescores like an
// API request, with the patient id pseudonymised under key when one is
// given.
func ScoreRecord(runID string, at time.Time, m, version string, inst *caresignal.Instance, p *caresignal.Prediction, key []byte) (caresignal.PredictionRecord, error) {
	id := predlog.Pseudonym(key, inst.PatientID)
	in, err := json.Marshal(wireInstance{PatientID: id, Features: inst.Features, MonthsEnrolled: inst.MonthsEnrolled, Horizon: inst.Horizon})
	if err != nil {
		return caresignal.PredictionRecord{}, err
	}
	out, err := json.Marshal(loggedOutputs{Hazard: p.Hazard, ExpectedMonths: p.ExpectedMonths})
	if err != nil {
		return caresignal.PredictionRecord{}, err
	}
	return caresignal.PredictionRecord{ID: predlog.NewID(), At: at, Model: m, Version: version, Route: ScoreRoute, RequestID: runID,
		PatientID: id, Inputs: in, FeaturesHash: p.FeaturesHash, Outputs: out}, nil
}
