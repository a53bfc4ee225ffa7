package wire

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/caresignal/caresignal"
)

// AppendInstance appends inst in the POST /api/engagement request shape,
// for the log of a prediction whose request was not one JSON object per
// patient (the Open Inference Protocol's columns, batch scoring):
// patient_id, features (sorted by name), months_enrolled, horizon, and
// days_elapsed when it is not 0.
// Numbers JSON cannot hold are an error.
func AppendInstance(b []byte, inst *caresignal.Instance) ([]byte, error) {
	b = append(b, `{"patient_id":`...)
	b = AppendString(b, inst.PatientID)
	b = append(b, `,"features":`...)
	b, err := appendValues(b, inst.Features)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"months_enrolled":`...)
	b = strconv.AppendInt(b, int64(inst.MonthsEnrolled), 10)
	b = append(b, `,"horizon":`...)
	b = strconv.AppendInt(b, int64(inst.Horizon), 10)
	if inst.DaysElapsed != 0 {
		b = append(b, `,"days_elapsed":`...)
		b = strconv.AppendInt(b, int64(inst.DaysElapsed), 10)
	}
	return append(b, '}'), nil
}

// appendValues appends an object of values, keys sorted.
func appendValues(b []byte, vals map[string]caresignal.Value) ([]byte, error) {
	if vals == nil {
		return append(b, "null"...), nil
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		if b, err = appendValue(b, vals[k]); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return append(b, '}'), nil
}

// appendValue appends a value: a number, a string, or null (missing).
func appendValue(b []byte, v caresignal.Value) ([]byte, error) {
	switch v.Kind {
	case caresignal.Number:
		return AppendFloat(b, v.Num)
	case caresignal.String:
		return AppendString(b, v.Str), nil
	}
	return append(b, "null"...), nil
}
