package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/caresignal/caresignal"
)

// MaxBodyBytes bounds a request body: a full batch of MaxInstances patients
// takes about a quarter of this.
const MaxBodyBytes = 2 << 20

// wireInstance is one patient as sent. Scalars stay raw so that each type
// error can name its field exactly.
type wireInstance struct {
	PatientID      json.RawMessage            `json:"patient_id"`
	Features       map[string]json.RawMessage `json:"features"`
	MonthsEnrolled json.RawMessage            `json:"months_enrolled"`
	Horizon        json.RawMessage            `json:"horizon"`
}

type wireRequest struct {
	wireInstance
	Instances json.RawMessage `json:"instances"`
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

// DecodeRequest parses a POST /api/engagement body: one patient, or
// {"instances": [...]}. Errors are *caresignal.Error naming the field.
func DecodeRequest(body []byte) ([]caresignal.Instance, error) {
	var err error
	var req wireRequest
	if err := strictDecode(body, &req, ""); err != nil {
		return nil, err
	}
	if req.Instances == nil {
		inst, err := req.wireInstance.instance("")
		if err != nil {
			return nil, err
		}
		return []caresignal.Instance{inst}, nil
	}
	if req.Features != nil || req.PatientID != nil || req.Horizon != nil || req.MonthsEnrolled != nil {
		return nil, caresignal.Invalidf("instances", "send either one patient or \"instances\", not both")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(req.Instances, &raws); err != nil || raws == nil {
		return nil, caresignal.Invalidf("instances", "instances must be an array of patient objects")
	}
	if len(raws) == 0 || len(raws) > caresignal.MaxInstances {
		return nil, caresignal.Invalidf("instances", "instances must hold 1 to %d patients, got %d", caresignal.MaxInstances, len(raws))
	}
	out := make([]caresignal.Instance, len(raws))
	for i, raw := range raws {
		prefix := "instances[" + strconv.Itoa(i) + "]"
		var w wireInstance
		if err := strictDecode(raw, &w, prefix); err != nil {
			return nil, err
		}
		if out[i], err = w.instance(prefix + "."); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// strictDecode decodes one JSON object, refusing unknown fields and
// trailing data.
func strictDecode(b []byte, v any, where string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	name := where
	if name == "" {
		name = "request body"
	}
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return caresignal.Invalidf(where, "%s is empty: send a JSON object", name)
		case errors.As(err, &syn):
			return caresignal.Invalidf(where, "%s is not valid JSON (at byte %d)", name, syn.Offset)
		case errors.As(err, &typ) && typ.Field == "":
			return caresignal.Invalidf(where, "%s must be a JSON object", name)
		case errors.As(err, &typ):
			// Field is the Go path, which names the embedded struct.
			field := join(where, strings.TrimPrefix(typ.Field, "wireInstance."))
			return caresignal.Invalidf(field, "%s must be %s", field, jsonKind(typ.Type.Kind()))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
			return caresignal.Invalidf(join(where, field), "%s is not a known field", join(where, field))
		}
		return caresignal.Invalidf(where, "%s is not valid JSON", name)
	}
	if dec.More() {
		return caresignal.Invalidf(where, "%s has data after the JSON object", name)
	}
	return nil
}

// jsonKind names the JSON type that decodes into a Go kind.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Map, reflect.Struct:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	}
	return "a " + k.String()
}

func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// instance converts a decoded patient; prefix is "" or "instances[i].".
func (w *wireInstance) instance(prefix string) (caresignal.Instance, error) {
	inst := caresignal.Instance{Horizon: caresignal.DefaultHorizon}
	if w.PatientID != nil && string(w.PatientID) != "null" {
		if err := json.Unmarshal(w.PatientID, &inst.PatientID); err != nil {
			return inst, caresignal.Invalidf(prefix+"patient_id", "%spatient_id must be a string", prefix)
		}
		if len(inst.PatientID) > 200 {
			return inst, caresignal.Invalidf(prefix+"patient_id", "%spatient_id is longer than 200 characters", prefix)
		}
	}
	if w.Features == nil {
		return inst, caresignal.Invalidf(prefix+"features", "%sfeatures is required: an object of feature values", prefix)
	}
	inst.Features = make(map[string]caresignal.Value, len(w.Features))
	for name, raw := range w.Features {
		v, err := featureValue(raw)
		if err != nil {
			field := prefix + "features." + name
			return inst, caresignal.Invalidf(field, "%s %s", field, err)
		}
		inst.Features[name] = v
	}
	var err error
	if inst.MonthsEnrolled, err = integer(w.MonthsEnrolled, 0, 0, caresignal.MaxMonthsEnrolled); err != nil {
		return inst, caresignal.Invalidf(prefix+"months_enrolled", "%smonths_enrolled %s", prefix, err)
	}
	if inst.Horizon, err = integer(w.Horizon, caresignal.DefaultHorizon, 1, caresignal.MaxHorizon); err != nil {
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
