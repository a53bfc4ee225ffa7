package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/model"
)

// logPredictions hands the request's predictions to the prediction log,
// with each instance's JSON as received. It never waits for the database.
// body, when not nil, is the encoded answer, whose outputs are copied
// rather than formatted again.
func (s *server) logPredictions(r *http.Request, m *model.Model, raws [][]byte, preds []caresignal.Prediction, body *encodedBody) {
	if s.cfg.PredictionLog == nil {
		return
	}
	s.logPredictionsAs(r, r.Pattern, requestID(r.Context()), m, raws, preds, body)
}

func (s *server) logPredictionsAs(r *http.Request, route, reqID string, m *model.Model, raws [][]byte, preds []caresignal.Prediction, body *encodedBody) {
	now := time.Now().UTC()
	recs := make([]caresignal.PredictionRecord, len(preds))
	for i := range preds {
		p := &preds[i]
		var out json.RawMessage
		if body != nil && len(body.spans) == len(preds) {
			out = body.outputs(i)
		} else {
			out = outputsJSON(p.Hazard, p.ExpectedMonths)
		}
		recs[i] = caresignal.PredictionRecord{ID: predlog.NewID(), At: now, Model: m.Name, Version: m.Version,
			Route: route, RequestID: reqID, PatientID: p.PatientID,
			Inputs: raws[i], FeaturesHash: p.FeaturesHash, Outputs: out}
	}
	s.keepRecords(r, recs)
}

// logRecords is logPredictions for /invocations: person-period records,
// each answered with one hazard.
func (s *server) logRecords(r *http.Request, m *model.Model, records []map[string]caresignal.Value, hazards []float64) {
	pl := s.cfg.PredictionLog
	if pl == nil {
		return
	}
	now := time.Now().UTC()
	recs := make([]caresignal.PredictionRecord, len(hazards))
	for i := range hazards {
		in, _ := json.Marshal(records[i])
		recs[i] = caresignal.PredictionRecord{ID: predlog.NewID(), At: now, Model: m.Name, Version: m.Version,
			Route: r.Pattern, RequestID: requestID(r.Context()), Inputs: in, Outputs: outputsJSON(hazards[i:i+1], 0)}
	}
	s.keepRecords(r, recs)
}

func (s *server) keepRecords(r *http.Request, recs []caresignal.PredictionRecord) {
	if err := s.cfg.PredictionLog.Log(recs...); err != nil {
		s.log.Error("prediction log: records not kept", "request_id", requestID(r.Context()), "records", len(recs), "err", err)
	}
}

// outputsJSON is what the log keeps of an answer: the hazards (from which
// survival, expected months and the median follow) and expected months.
func outputsJSON(hazard []float64, expected float64) json.RawMessage {
	b := make([]byte, 0, 24*len(hazard)+48)
	b = append(b, `{"hazard":[`...)
	for i, h := range hazard {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, h, 'g', -1, 64)
	}
	b = append(b, `],"expected_months":`...)
	b = strconv.AppendFloat(b, expected, 'g', -1, 64)
	return append(b, '}')
}

// instancesJSON renders decoded instances (from a protocol without a JSON
// object per patient) in the /api/engagement request shape.
func instancesJSON(insts []caresignal.Instance) [][]byte {
	out := make([][]byte, len(insts))
	for i := range insts {
		in := &insts[i]
		out[i], _ = json.Marshal(map[string]any{"patient_id": in.PatientID, "features": in.Features,
			"months_enrolled": in.MonthsEnrolled, "horizon": in.Horizon})
	}
	return out
}
