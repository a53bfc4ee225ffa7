package serving

import (
	"fmt"
	"math"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/wire"
)

// Score answers decoded instances with m: the answer of POST
// /api/engagement. batch says the request used "instances", so errors
// name "instances[i].…".
func Score(m *model.Model, insts []caresignal.Instance, batch bool) (*wire.Answer, error) {
	var preds []caresignal.Prediction
	if !batch {
		p, err := m.Predict(&insts[0])
		if err != nil {
			return nil, err
		}
		preds = []caresignal.Prediction{p}
	} else {
		var err error
		if preds, err = m.PredictBatch(insts); err != nil {
			return nil, err
		}
	}
	return &wire.Answer{Model: m.Info(), Predictions: preds}, nil
}

// ScoreRecords answers person-period records (MLflow /invocations) with
// each row's hazard. The month is read from the model's period column.
func ScoreRecords(m *model.Model, records []map[string]caresignal.Value) ([]float64, error) {
	monthColumn := m.PeriodColumn()
	out := make([]float64, len(records))
	for i, rec := range records {
		mv, ok := rec[monthColumn]
		if !ok {
			return nil, caresignal.Invalidf(fmt.Sprintf("records[%d].%s", i, monthColumn), "records[%d]: the %q column (the month of enrolment the row describes, from 1) is missing", i, monthColumn)
		}
		if mv.Kind != caresignal.Number || mv.Num != math.Trunc(mv.Num) || mv.Num < 1 || mv.Num > caresignal.MaxMonthsEnrolled+1 {
			return nil, caresignal.Invalidf(fmt.Sprintf("records[%d].%s", i, monthColumn), "records[%d]: %q must be a whole number from 1 to %d", i, monthColumn, caresignal.MaxMonthsEnrolled+1)
		}
		feats := make(map[string]caresignal.Value, len(rec))
		for k, v := range rec {
			if k != monthColumn {
				feats[k] = v
			}
		}
		h, err := m.Hazard(feats, int(mv.Num))
		if err != nil {
			return nil, prefixed(err, fmt.Sprintf("records[%d].", i))
		}
		out[i] = h
	}
	return out, nil
}

// prefixed puts the record's path before an error's field and message.
func prefixed(err error, prefix string) error {
	e, ok := err.(*caresignal.Error)
	if !ok {
		return err
	}
	return &caresignal.Error{Code: e.Code, Field: prefix + e.Field, Message: prefix + e.Message, Err: e.Err}
}
