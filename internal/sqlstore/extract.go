package sqlstore

import (
	"context"
	"fmt"

	"github.com/caresignal/caresignal"
)

// PersonPeriod returns the person-period table with static features.
func (s *Store) PersonPeriod(ctx context.Context) (*caresignal.Extract, error) {
	return s.extract(ctx, qPersonPeriod)
}

// TrainingExtract returns the rows with a known outcome.
func (s *Store) TrainingExtract(ctx context.Context) (*caresignal.Extract, error) {
	return s.extract(ctx, qTraining)
}

// PredictionExtract returns the month in progress of every enrolled patient.
func (s *Store) PredictionExtract(ctx context.Context) (*caresignal.Extract, error) {
	return s.extract(ctx, qPrediction)
}

// extract runs an extract query. Its first four columns are patient_id,
// month, status and event (0/1); every further column is a feature, named
// by its column name, read as a number, a category label or NULL.
func (s *Store) extract(ctx context.Context, name string, args ...any) (*caresignal.Extract, error) {
	rows, err := s.db.QueryContext(ctx, s.q[name], args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", s.d.Name, name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if len(cols) < 4 || cols[0] != "patient_id" || cols[1] != "month" || cols[2] != "status" || cols[3] != "event" {
		return nil, fmt.Errorf("%s: %s must start with patient_id, month, status, event; has %v", s.d.Name, name, cols)
	}
	x := &caresignal.Extract{Columns: cols[4:]}
	nf := len(x.Columns)
	raw := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	intern := map[string]string{}
	str := func(s string) string {
		if v, ok := intern[s]; ok {
			return v
		}
		intern[s] = s
		return s
	}
	// One backing array for all values: rows × features.
	var values []caresignal.Value
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", s.d.Name, name, err)
		}
		var r caresignal.ExtractRow
		id, ok := asString(raw[0])
		if !ok {
			return nil, fmt.Errorf("%s: %s: patient_id is %T, want text", s.d.Name, name, raw[0])
		}
		r.PatientID = id
		month, ok := raw[1].(int64)
		if !ok {
			return nil, fmt.Errorf("%s: %s: month is %T, want an integer", s.d.Name, name, raw[1])
		}
		r.Month = int(month)
		st, _ := asString(raw[2])
		r.Status = caresignal.Status(str(st))
		ev, ok := raw[3].(int64)
		if !ok {
			return nil, fmt.Errorf("%s: %s: event is %T, want an integer", s.d.Name, name, raw[3])
		}
		r.Event = ev == 1
		if len(values)+nf > cap(values) {
			values = make([]caresignal.Value, 0, max(4096*nf, nf))
		}
		start := len(values)
		for j := 0; j < nf; j++ {
			v, err := toValue(raw[4+j], str)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: column %s: %w", s.d.Name, name, x.Columns[j], err)
			}
			values = append(values, v)
		}
		r.Values = values[start : start+nf : start+nf]
		x.Rows = append(x.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", s.d.Name, name, err)
	}
	return x, nil
}

func asString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return "", false
}

// toValue converts a driver value to a feature value.
func toValue(v any, str func(string) string) (caresignal.Value, error) {
	switch v := v.(type) {
	case nil:
		return caresignal.NullValue(), nil
	case int64:
		return caresignal.Num(float64(v)), nil
	case int32:
		return caresignal.Num(float64(v)), nil
	case float64:
		return caresignal.Num(v), nil
	case float32:
		return caresignal.Num(float64(v)), nil
	case bool:
		if v {
			return caresignal.Num(1), nil
		}
		return caresignal.Num(0), nil
	case string:
		return caresignal.Str(str(v)), nil
	case []byte:
		return caresignal.Str(str(string(v))), nil
	}
	return caresignal.Value{}, fmt.Errorf("unsupported type %T (want a number, text or NULL)", v)
}
