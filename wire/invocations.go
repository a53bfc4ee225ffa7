package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/caresignal/caresignal"
)

// MLflow's scoring protocol, so that clients of `mlflow models serve` can
// switch by changing the URL. A record is one person-period row: the
// model's features plus its period column, the month of enrolment it
// describes; the prediction is the probability of dropping off in that
// month (the hazard), as a classifier over person-period rows answers
// predict_proba.

// MaxRecords bounds the records of one /invocations request.
const MaxRecords = 10_000

// MLflowError is MLflow's error body.
type MLflowError struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// NewMLflowError returns the body answering err: BAD_REQUEST for the
// caller's errors, INTERNAL_ERROR for server-side ones, with the
// caller-safe message.
func NewMLflowError(err error) MLflowError {
	code := "INTERNAL_ERROR"
	switch caresignal.ErrorCode(err) {
	case caresignal.EINVALID, caresignal.ETOOLARGE, caresignal.ENOTFOUND, caresignal.ECONFLICT, caresignal.ECORRUPT:
		code = "BAD_REQUEST"
	}
	return MLflowError{ErrorCode: code, Message: caresignal.ErrorMessage(err)}
}

// EncodeInvocations encodes MLflow's answer: {"predictions": [...]}, one
// hazard per record.
func EncodeInvocations(hazards []float64) ([]byte, error) {
	b, err := json.Marshal(map[string]any{"predictions": hazards})
	if err != nil {
		return nil, &caresignal.Error{Code: caresignal.EINTERNAL, Message: "internal error", Err: err}
	}
	return append(b, '\n'), nil
}

// DecodeInvocations reads an MLflow scoring request: exactly one of
// dataframe_split ({"columns", "data"}), dataframe_records (a list of
// records), instances or inputs (a list of records, or columns of
// values). Numbers, strings and null become values; anything else is an
// error naming the column.
func DecodeInvocations(body []byte) ([]map[string]caresignal.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		return nil, caresignal.Errorf(caresignal.EINVALID, "the body is not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, caresignal.Errorf(caresignal.EINVALID, "unexpected data after the JSON object")
	}
	// A key given twice would otherwise be decided by the last one.
	if err := eachField(body, "", func(string, []byte) error { return nil }); err != nil {
		return nil, err
	}
	// encoding/json reads invalid UTF-8 and lone surrogates as U+FFFD:
	// the body's own strings are checked.
	if err := checkStrings(body, ""); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	formats := []string{"dataframe_split", "dataframe_records", "instances", "inputs"}
	var format string
	for _, k := range keys {
		switch {
		case slices.Contains(formats, k) && format == "":
			format = k
		case slices.Contains(formats, k):
			return nil, caresignal.Errorf(caresignal.EINVALID, "the request has both %q and %q; give one of %s", format, k, strings.Join(formats, ", "))
		case k == "params":
			return nil, caresignal.Invalidf("params", "inference params are not supported by this model")
		default:
			return nil, caresignal.Invalidf(k, "unknown field %q; give one of %s", k, strings.Join(formats, ", "))
		}
	}
	if format == "" {
		return nil, caresignal.Errorf(caresignal.EINVALID, "the request has none of %s", strings.Join(formats, ", "))
	}
	var records []map[string]caresignal.Value
	var err error
	switch v := top[format]; format {
	case "dataframe_split":
		records, err = splitRecords(v)
	default:
		records, err = listRecords(format, v)
	}
	if err != nil {
		return nil, err
	}
	if len(records) == 0 {
		return nil, caresignal.Invalidf(format, "%s holds no records", format)
	}
	if len(records) > MaxRecords {
		return nil, caresignal.Invalidf(format, "%s holds %d records; at most %d are scored per request", format, len(records), MaxRecords)
	}
	return records, nil
}

func splitRecords(v any) ([]map[string]caresignal.Value, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, caresignal.Invalidf("dataframe_split", "dataframe_split must be an object with columns and data")
	}
	colsV, ok1 := obj["columns"].([]any)
	data, ok2 := obj["data"].([]any)
	if !ok1 || !ok2 {
		return nil, caresignal.Invalidf("dataframe_split", "dataframe_split needs a columns list and a data list")
	}
	for k := range obj {
		if k != "columns" && k != "data" && k != "index" {
			return nil, caresignal.Invalidf("dataframe_split."+k, "dataframe_split has an unknown field %q", k)
		}
	}
	cols := make([]string, len(colsV))
	var seen keySet
	for i, c := range colsV {
		s, ok := c.(string)
		if !ok {
			return nil, caresignal.Invalidf(fmt.Sprintf("dataframe_split.columns[%d]", i), "column names must be strings")
		}
		if !seen.add(s) {
			return nil, caresignal.Invalidf("dataframe_split.columns", "column %q appears twice", s)
		}
		cols[i] = s
	}
	if len(data) > MaxRecords {
		return nil, caresignal.Invalidf("dataframe_split.data", "%d rows; at most %d are scored per request", len(data), MaxRecords)
	}
	out := make([]map[string]caresignal.Value, len(data))
	for i, row := range data {
		vals, ok := row.([]any)
		if !ok || len(vals) != len(cols) {
			return nil, caresignal.Invalidf(fmt.Sprintf("dataframe_split.data[%d]", i), "row %d must be a list of %d values, one per column", i, len(cols))
		}
		rec := make(map[string]caresignal.Value, len(cols))
		for j, c := range cols {
			val, err := jsonValue(vals[j], fmt.Sprintf("dataframe_split.data[%d].%s", i, c))
			if err != nil {
				return nil, err
			}
			rec[c] = val
		}
		out[i] = rec
	}
	return out, nil
}

func listRecords(format string, v any) ([]map[string]caresignal.Value, error) {
	switch x := v.(type) {
	case []any:
		if len(x) > MaxRecords {
			return nil, caresignal.Invalidf(format, "%d records; at most %d are scored per request", len(x), MaxRecords)
		}
		out := make([]map[string]caresignal.Value, len(x))
		for i, r := range x {
			obj, ok := r.(map[string]any)
			if !ok {
				return nil, caresignal.Invalidf(fmt.Sprintf("%s[%d]", format, i), "%s[%d] must be an object of column values", format, i)
			}
			rec, err := rowValues(obj, fmt.Sprintf("%s[%d].", format, i))
			if err != nil {
				return nil, err
			}
			out[i] = rec
		}
		return out, nil
	case map[string]any:
		if format == "dataframe_records" {
			break
		}
		// Columns of values: {"age": [54, 61], "sex": ["F", "M"]}.
		n := -1
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			col, ok := x[k].([]any)
			if !ok || (n >= 0 && len(col) != n) {
				return nil, caresignal.Invalidf(format+"."+k, "%s.%s must be a list as long as the other columns", format, k)
			}
			n = len(col)
		}
		if n > MaxRecords {
			return nil, caresignal.Invalidf(format, "%d records; at most %d are scored per request", n, MaxRecords)
		}
		out := make([]map[string]caresignal.Value, max(n, 0))
		for i := range out {
			out[i] = make(map[string]caresignal.Value, len(names))
			for _, k := range names {
				cv, err := jsonValue(x[k].([]any)[i], fmt.Sprintf("%s.%s[%d]", format, k, i))
				if err != nil {
					return nil, err
				}
				out[i][k] = cv
			}
		}
		return out, nil
	}
	return nil, caresignal.Invalidf(format, "%s must be a list of records", format)
}

// rowValues converts one decoded record; prefix starts each field's name.
func rowValues(obj map[string]any, prefix string) (map[string]caresignal.Value, error) {
	rec := make(map[string]caresignal.Value, len(obj))
	for k, val := range obj {
		cv, err := jsonValue(val, prefix+k)
		if err != nil {
			return nil, err
		}
		rec[k] = cv
	}
	return rec, nil
}

// DecodeRow reads one person-period row, as a record of /invocations
// holds it and the log keeps it: an object of column values.
func DecodeRow(raw []byte) (map[string]caresignal.Value, error) {
	if err := validJSON(raw); err != nil {
		return nil, err
	}
	// A key given twice would otherwise be decided by the last one.
	if err := eachField(raw, "", func(string, []byte) error { return nil }); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, caresignal.Invalidf("", "a person-period row must be an object of column values")
	}
	return rowValues(obj, "")
}

// AppendRow appends a person-period row as an object of column values,
// columns in sorted order. Numbers JSON cannot hold are an error.
func AppendRow(b []byte, row map[string]caresignal.Value) ([]byte, error) {
	return appendValues(b, row)
}

func jsonValue(v any, field string) (caresignal.Value, error) {
	switch x := v.(type) {
	case nil:
		return caresignal.NullValue(), nil
	case string:
		return caresignal.Str(x), nil
	case json.Number:
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			return caresignal.Value{}, caresignal.Invalidf(field, "%s is not a finite number", field)
		}
		return caresignal.Num(f), nil
	}
	return caresignal.Value{}, caresignal.Invalidf(field, "%s must be a number, a string or null", field)
}
