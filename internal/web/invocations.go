package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model"
)

// MLflow's scoring protocol, so that clients of `mlflow models serve` can
// switch by changing the URL. A record is one person-period row: the
// model's features plus MonthColumn, the month of enrolment it describes;
// the prediction is the probability of dropping off in that month (the
// hazard), as a classifier over person-period rows answers predict_proba.

// MonthColumn names the month of a person-period row in /invocations
// records, as in the training extract.
const MonthColumn = "month"

// MaxRecords bounds the records of one /invocations request.
const MaxRecords = 10_000

// mlflowError is MLflow's error body.
type mlflowError struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

func (s *server) handleInvocations() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(err error) {
			_, code := NewErrorBody(err)
			if code >= 500 {
				s.log.Error("request failed", "request_id", requestID(r.Context()), "path", r.URL.Path, "err", err)
			}
			errCode := "BAD_REQUEST"
			if code >= 500 {
				errCode = "INTERNAL_ERROR"
			}
			writeJSON(s.log, w, code, mlflowError{ErrorCode: errCode, Message: caresignal.ErrorMessage(err)})
		}
		if ct := r.Header.Get("Content-Type"); ct != "" && !isJSONMediaType(ct) {
			writeJSON(s.log, w, http.StatusUnsupportedMediaType, mlflowError{ErrorCode: "BAD_REQUEST",
				Message: fmt.Sprintf("content type %q is not supported; send application/json", ct)})
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			fail(err)
			return
		}
		records, err := DecodeInvocations(body)
		if err != nil {
			fail(err)
			return
		}
		m := s.models.Load().Pick("")
		preds, err := ScoreRecords(m, records)
		if err != nil {
			fail(err)
			return
		}
		s.countPredictions(m, len(preds))
		s.logRecords(r, m, records, preds)
		writeJSON(s.log, w, http.StatusOK, map[string]any{"predictions": preds})
	})
}

// ScoreRecords answers /invocations records with each row's hazard. The
// month is read from MonthColumn, or from an imported model's own period
// column.
func ScoreRecords(m *model.Model, records []map[string]caresignal.Value) ([]float64, error) {
	monthColumn := MonthColumn
	if m.Imported != nil {
		monthColumn = m.Imported.PeriodColumn
	}
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
			rec := make(map[string]caresignal.Value, len(obj))
			for k, val := range obj {
				cv, err := jsonValue(val, fmt.Sprintf("%s[%d].%s", format, i, k))
				if err != nil {
					return nil, err
				}
				rec[k] = cv
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

// handlePing answers MLflow's /ping and /health: 200 while the model is
// loaded.
func (s *server) handlePing() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("\n"))
	})
}

// handleVersion answers MLflow's /version with this build's version.
func (s *server) handleVersion() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "caresignal %s\n", model.CodeVersion())
	})
}

// isJSONMediaType accepts application/json with any parameters (charset).
func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}
