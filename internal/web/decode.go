package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"

	"github.com/caresignal/caresignal"
)

// MaxBodyBytes bounds a request body: a full batch of MaxInstances patients
// takes about a quarter of this.
const MaxBodyBytes = 2 << 20

// MaxPatientIDBytes bounds a patient id.
const MaxPatientIDBytes = 200

// DecodeRequest parses a POST /api/engagement body: one patient, or
// {"instances": [...]} (batch is then true). Keys must match exactly and
// appear once; anything else is an error. Errors are *caresignal.Error
// naming the field as a path ("instances[2].features.age").
func DecodeRequest(body []byte) (insts []caresignal.Instance, batch bool, err error) {
	var one wireInstance
	var instances json.RawMessage
	err = eachField(body, "", func(key string, val json.RawMessage) error {
		if key == "instances" {
			instances = val
			return nil
		}
		return one.set(key, val, "")
	})
	if err != nil {
		return nil, false, err
	}
	if instances == nil {
		inst, err := one.instance("")
		if err != nil {
			return nil, false, err
		}
		return []caresignal.Instance{inst}, false, nil
	}
	if one.seen {
		return nil, true, caresignal.Invalidf("instances", "send either one patient or \"instances\", not both")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(instances, &raws); err != nil || raws == nil {
		return nil, true, caresignal.Invalidf("instances", "instances must be an array of patient objects")
	}
	if len(raws) == 0 || len(raws) > caresignal.MaxInstances {
		return nil, true, caresignal.Invalidf("instances", "instances must hold 1 to %d patients, got %d", caresignal.MaxInstances, len(raws))
	}
	insts = make([]caresignal.Instance, len(raws))
	for i, raw := range raws {
		prefix := "instances[" + strconv.Itoa(i) + "]"
		var w wireInstance
		if err := eachField(raw, prefix, func(key string, val json.RawMessage) error { return w.set(key, val, prefix+".") }); err != nil {
			return nil, true, err
		}
		if insts[i], err = w.instance(prefix + "."); err != nil {
			return nil, true, err
		}
	}
	return insts, true, nil
}

// eachField walks one JSON object, calling fn with each key, in document
// order, and its raw value. A key that appears twice is an error, and so is
// anything after the object. where names the object in messages ("" for
// the request body).
func eachField(raw []byte, where string, fn func(key string, val json.RawMessage) error) error {
	name := where
	if name == "" {
		name = "request body"
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	syntax := func(err error) error {
		var syn *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return caresignal.Invalidf(where, "%s is empty: send a JSON object", name)
		case errors.As(err, &syn):
			return caresignal.Invalidf(where, "%s is not valid JSON (at byte %d)", name, syn.Offset)
		}
		return caresignal.Invalidf(where, "%s is not valid JSON", name)
	}
	tok, err := dec.Token()
	if err != nil {
		return syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return caresignal.Invalidf(where, "%s must be a JSON object", name)
	}
	var seen []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		key, _ := tok.(string)
		field := join(where, key)
		if slices.Contains(seen, key) {
			return caresignal.Invalidf(field, "%s appears more than once", field)
		}
		seen = append(seen, key)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return syntax(err)
		}
		if err := fn(key, val); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return syntax(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return caresignal.Invalidf(where, "%s has data after the JSON object", name)
	}
	return nil
}

func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// wireInstance is one patient as sent, its scalars kept raw so that each
// error can name its field exactly.
type wireInstance struct {
	seen           bool // any field was set
	patientID      json.RawMessage
	features       json.RawMessage
	monthsEnrolled json.RawMessage
	horizon        json.RawMessage
}

// set records one field of a patient object; prefix is "" or "instances[i].".
func (w *wireInstance) set(key string, val json.RawMessage, prefix string) error {
	switch key {
	case "patient_id":
		w.patientID = val
	case "features":
		w.features = val
	case "months_enrolled":
		w.monthsEnrolled = val
	case "horizon":
		w.horizon = val
	default:
		return caresignal.Invalidf(prefix+key, "%s%s is not a known field", prefix, key)
	}
	w.seen = true
	return nil
}

// instance converts a decoded patient; prefix is "" or "instances[i].".
func (w *wireInstance) instance(prefix string) (caresignal.Instance, error) {
	inst := caresignal.Instance{Horizon: caresignal.DefaultHorizon}
	if w.patientID != nil && string(w.patientID) != "null" {
		if err := json.Unmarshal(w.patientID, &inst.PatientID); err != nil || w.patientID[0] != '"' {
			return inst, caresignal.Invalidf(prefix+"patient_id", "%spatient_id must be a string", prefix)
		}
		if len(inst.PatientID) > MaxPatientIDBytes {
			return inst, caresignal.Invalidf(prefix+"patient_id", "%spatient_id is longer than %d bytes", prefix, MaxPatientIDBytes)
		}
	}
	if w.features == nil || string(w.features) == "null" {
		return inst, caresignal.Invalidf(prefix+"features", "%sfeatures is required: an object of feature values", prefix)
	}
	inst.Features = make(map[string]caresignal.Value, 16)
	err := eachField(w.features, prefix+"features", func(name string, raw json.RawMessage) error {
		v, err := featureValue(raw)
		if err != nil {
			field := prefix + "features." + name
			return caresignal.Invalidf(field, "%s %s", field, err)
		}
		inst.Features[name] = v
		return nil
	})
	if err != nil {
		return inst, err
	}
	if inst.MonthsEnrolled, err = integer(w.monthsEnrolled, 0, 0, caresignal.MaxMonthsEnrolled); err != nil {
		return inst, caresignal.Invalidf(prefix+"months_enrolled", "%smonths_enrolled %s", prefix, err)
	}
	if inst.Horizon, err = integer(w.horizon, caresignal.DefaultHorizon, 1, caresignal.MaxHorizon); err != nil {
		return inst, caresignal.Invalidf(prefix+"horizon", "%shorizon %s", prefix, err)
	}
	return inst, nil
}

// featureValue reads a feature: a JSON number, string or null.
func featureValue(raw json.RawMessage) (caresignal.Value, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return caresignal.Value{}, errors.New("is empty")
	}
	switch c := raw[0]; {
	case c == 'n':
		return caresignal.NullValue(), nil
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return caresignal.Value{}, errors.New("is not a valid string")
		}
		return caresignal.Str(s), nil
	case c == '-' || c >= '0' && c <= '9':
		x, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsInf(x, 0) {
			return caresignal.Value{}, errors.New("must be a finite number")
		}
		return caresignal.Num(x), nil
	}
	return caresignal.Value{}, errors.New("must be a number, a string or null")
}

// integer reads an optional whole number in [lo, hi].
func integer(raw json.RawMessage, def, lo, hi int) (int, error) {
	if raw == nil || string(raw) == "null" {
		return def, nil
	}
	x, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
	if err != nil || x != math.Trunc(x) {
		return 0, fmt.Errorf("must be a whole number between %d and %d", lo, hi)
	}
	if x < float64(lo) || x > float64(hi) {
		return 0, fmt.Errorf("must be between %d and %d, got %s", lo, hi, raw)
	}
	return int(x), nil
}

// readBody reads a request body of at most MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &caresignal.Error{Code: caresignal.ETOOLARGE, Message: fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit)}
		}
		return nil, &caresignal.Error{Code: caresignal.EINVALID, Message: "could not read the request body", Err: err}
	}
	return body, nil
}
