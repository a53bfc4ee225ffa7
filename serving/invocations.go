package serving

import (
	"fmt"
	"math"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/wire"
)

// MLflow /invocations: person-period rows, each answered with its hazard.

// Invocations answers an MLflow /invocations body: person-period records,
// each answered with its hazard.
func (s *Scorer) Invocations(call Call, body []byte) ([]byte, error) {
	records, err := wire.DecodeInvocations(body)
	if err != nil {
		return nil, err
	}
	m := s.models.Load().Pick("")
	hazards, err := ScoreRecords(m, records)
	if err != nil {
		return nil, err
	}
	s.count(m, len(hazards))
	if s.log != nil {
		r := wire.RequestLog{At: time.Now().UTC(), Model: m.Info(), Route: call.Route, Kind: wire.KindPersonPeriod, RequestID: call.RequestID}
		var in []byte
		for i, h := range hazards {
			var err error
			if in, err = wire.AppendRow(in[:0], records[i]); err == nil {
				err = r.Add("", in, "", func(dst []byte) ([]byte, error) { return wire.AppendOutputs(dst, []float64{h}, 0) })
			}
			if err != nil {
				s.logger.Error("prediction log: a prediction not kept", "request_id", call.RequestID, "err", err) // not possible: decoded numbers are finite, hazards in [0, 1]
			}
		}
		if err := s.keep(call, &r); err != nil {
			return nil, err
		}
	}
	return wire.EncodeInvocations(hazards)
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
