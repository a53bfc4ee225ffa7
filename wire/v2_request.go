package wire

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/caresignal/caresignal"
)

// v2Input is one decoded input tensor: its values, one per row.
type v2Input struct {
	name     string
	datatype string
	raw      [][]byte // the JSON of each value
	values   []caresignal.Value
}

// V2Request is a decoded inference request, before it meets a model.
type V2Request struct {
	id      *string
	horizon int
	rows    int
	inputs  []v2Input
	outputs []string // nil: every output
}

// v2Datatypes are the tensor datatypes accepted, and for the integer
// ones the range of their values.
var v2Datatypes = map[string]struct {
	integer bool
	lo, hi  float64
	rng     string
}{
	"FP64": {}, "FP32": {}, "FP16": {},
	"INT64":  {true, math.MinInt64, math.MaxInt64, "-9223372036854775808 to 9223372036854775807"},
	"INT32":  {true, math.MinInt32, math.MaxInt32, "-2147483648 to 2147483647"},
	"INT16":  {true, math.MinInt16, math.MaxInt16, "-32768 to 32767"},
	"INT8":   {true, math.MinInt8, math.MaxInt8, "-128 to 127"},
	"UINT64": {true, 0, math.MaxUint64, "0 to 18446744073709551615"},
	"UINT32": {true, 0, math.MaxUint32, "0 to 4294967295"},
	"UINT16": {true, 0, math.MaxUint16, "0 to 65535"},
	"UINT8":  {true, 0, math.MaxUint8, "0 to 255"},
	"BOOL":   {}, "BYTES": {},
}

const V2DatatypeList = "FP64, FP32, FP16, INT64, INT32, INT16, INT8, UINT64, UINT32, UINT16, UINT8, BOOL or BYTES"

// DecodeV2 parses an inference request body: its structure, the
// shapes and the values against their datatypes. What the values mean is
// left to Instances, which knows the model.
func DecodeV2(body []byte) (*V2Request, error) {
	if err := validJSON(body); err != nil {
		return nil, err
	}
	req := &V2Request{horizon: caresignal.DefaultHorizon}
	var inputs, outputs []byte
	err := eachField(body, "", func(key string, val []byte) error {
		switch key {
		case "id":
			if string(val) == "null" {
				return nil
			}
			if val[0] != '"' {
				return caresignal.Invalidf("id", "id must be a string")
			}
			if p := textProblem(val, MaxStringBytes); p != "" {
				return caresignal.Invalidf("id", "id %s", p)
			}
			id := unquote(val)
			req.id = &id
		case "parameters":
			return req.parameters(val)
		case "inputs":
			inputs = val
		case "outputs":
			outputs = val
		default:
			return caresignal.Invalidf(key, "%s is not a known field (a request has id, parameters, inputs and outputs)", key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if inputs == nil || inputs[0] != '[' {
		return nil, caresignal.Invalidf("inputs", "inputs is required: an array of tensors, one per feature")
	}
	raws := elements(inputs, nil)
	if len(raws) == 0 {
		return nil, caresignal.Invalidf("inputs", "inputs holds no tensors")
	}
	seen := make(map[string]int, len(raws))
	for j, raw := range raws {
		in, err := req.input(j, raw)
		if err != nil {
			return nil, err
		}
		if k, dup := seen[in.name]; dup {
			return nil, caresignal.Invalidf(fmt.Sprintf("inputs[%d]", j), "inputs[%d] %q: the name is also that of inputs[%d]", j, in.name, k)
		}
		seen[in.name] = j
		req.inputs = append(req.inputs, in)
	}
	if outputs != nil && string(outputs) != "null" {
		if err := req.decodeOutputs(outputs); err != nil {
			return nil, err
		}
	}
	// The strings read above were checked as they were read; this checks
	// the rest (the parameters' content types, say).
	if err := checkStrings(body, ""); err != nil {
		return nil, err
	}
	return req, nil
}

// parameters reads the request's parameters: horizon, and content_type,
// which MLServer's clients send and which changes nothing here.
func (req *V2Request) parameters(raw []byte) error {
	if string(raw) == "null" {
		return nil
	}
	return eachField(raw, "parameters", func(key string, val []byte) error {
		switch key {
		case "horizon":
			h, err := integer(val, caresignal.DefaultHorizon, 1, caresignal.MaxHorizon)
			if err != nil {
				return caresignal.Invalidf("parameters.horizon", "parameters.horizon %s", err)
			}
			req.horizon = h
		case "content_type":
		default:
			return caresignal.Invalidf("parameters."+key, "parameters.%s is not a known parameter (this server takes horizon)", key)
		}
		return nil
	})
}

// input decodes inputs[j].
func (req *V2Request) input(j int, raw []byte) (v2Input, error) {
	where := fmt.Sprintf("inputs[%d]", j)
	var in v2Input
	var name, shape, datatype, data []byte
	err := eachField(raw, where, func(key string, val []byte) error {
		switch key {
		case "name":
			name = val
		case "shape":
			shape = val
		case "datatype":
			datatype = val
		case "data":
			data = val
		case "parameters":
			return tensorParameters(val, where)
		default:
			return caresignal.Invalidf(where+"."+key, "%s.%s is not a known field (a tensor has name, shape, datatype, data and parameters)", where, key)
		}
		return nil
	})
	if err != nil {
		return in, err
	}
	if name == nil || name[0] != '"' || len(name) == 2 {
		return in, caresignal.Invalidf(where+".name", "%s.name is required: the feature the tensor holds", where)
	}
	if p := textProblem(name, MaxStringBytes); p != "" {
		return in, caresignal.Invalidf(where+".name", "%s.name %s", where, p)
	}
	in.name = unquote(name)
	where = fmt.Sprintf("inputs[%d] %q", j, in.name)
	field := fmt.Sprintf("inputs[%d]", j)
	if datatype == nil || datatype[0] != '"' {
		return in, caresignal.Invalidf(field+".datatype", "%s: datatype is required, one of %s", where, V2DatatypeList)
	}
	if p := textProblem(datatype, MaxStringBytes); p != "" {
		return in, caresignal.Invalidf(field+".datatype", "%s: datatype %s", where, p)
	}
	in.datatype = unquote(datatype)
	dt, ok := v2Datatypes[in.datatype]
	if !ok {
		return in, caresignal.Invalidf(field+".datatype", "%s: datatype %q is not supported; use one of %s", where, in.datatype, V2DatatypeList)
	}
	rows, err := v2Shape(shape, where, field)
	if err != nil {
		return in, err
	}
	switch {
	case j == 0 && rows == 0:
		return in, caresignal.Invalidf(field+".shape", "%s: shape [0] holds no rows; send 1 to %d patients", where, caresignal.MaxInstances)
	case j == 0:
		req.rows = rows
	case rows != req.rows:
		return in, caresignal.Invalidf(field+".shape", "%s: shape %s does not match the %d rows of inputs[0]", where, shapeText(shape), req.rows)
	}
	if data == nil || data[0] != '[' {
		return in, caresignal.Invalidf(field+".data", "%s: data is required: an array of values, one per row", where)
	}
	in.raw, err = flatten(data, where, field)
	if err != nil {
		return in, err
	}
	if len(in.raw) != rows {
		return in, caresignal.Invalidf(field+".data", "%s: shape %s holds %d values, but data holds %d", where, shapeText(shape), rows, len(in.raw))
	}
	in.values = make([]caresignal.Value, rows)
	limit := MaxStringBytes
	if in.name == v2PatientID {
		limit = MaxPatientIDBytes
	}
	for i, v := range in.raw {
		if v[0] == '"' {
			if p := textProblem(v, limit); p != "" {
				return in, caresignal.Invalidf(field+".data", "%s row %d: %s %s", where, i, in.name, p)
			}
		}
		if in.values[i], err = v2Value(v, in.datatype, dt.integer, dt.lo, dt.hi, dt.rng); err != nil {
			return in, caresignal.Invalidf(field+".data", "%s row %d: %s", where, i, err)
		}
	}
	return in, nil
}

// tensorParameters checks a tensor's parameters: content_type, which
// MLServer's codecs send, changes nothing; binary data is not supported.
func tensorParameters(raw []byte, where string) error {
	if string(raw) == "null" {
		return nil
	}
	return eachField(raw, where+".parameters", func(key string, val []byte) error {
		switch key {
		case "content_type":
			return nil
		case "binary_data_size":
			return caresignal.Invalidf(where+".parameters."+key, "%s: binary tensor data is not supported; send the values in data", where)
		}
		return caresignal.Invalidf(where+".parameters."+key, "%s.parameters.%s is not a known parameter (tensors take content_type)", where, key)
	})
}

// v2Shape reads a tensor's shape, which must be [N] or [N, 1], and returns
// N, at most caresignal.MaxInstances.
func v2Shape(raw []byte, where, field string) (int, error) {
	bad := func() error {
		return caresignal.Invalidf(field+".shape", "%s: shape must be [N] or [N, 1], one value per patient; got %s", where, shapeText(raw))
	}
	if raw == nil {
		return 0, caresignal.Invalidf(field+".shape", "%s: shape is required: [N] or [N, 1], one value per patient", where)
	}
	if raw[0] != '[' {
		return 0, bad()
	}
	dims := elements(raw, nil)
	if len(dims) == 0 || len(dims) > 2 {
		return 0, bad()
	}
	xs := make([]float64, len(dims))
	for k, d := range dims {
		x, err := strconv.ParseFloat(string(d), 64)
		if err != nil || x != math.Trunc(x) || x < 0 {
			return 0, bad()
		}
		xs[k] = x
	}
	if len(xs) == 2 && xs[1] != 1 {
		return 0, bad()
	}
	if xs[0] > caresignal.MaxInstances {
		return 0, caresignal.Invalidf(field+".shape", "%s: shape %s has %s rows; at most %d patients are scored per request", where, shapeText(raw), dims[0], caresignal.MaxInstances)
	}
	return int(xs[0]), nil
}

// shapeText shows a shape as sent, compactly: "[3, 1]".
func shapeText(raw []byte) string {
	if raw == nil {
		return "(none)"
	}
	if raw[0] != '[' {
		if len(raw) > 40 {
			return string(raw[:40]) + "…"
		}
		return string(raw)
	}
	dims := elements(raw, nil)
	parts := make([]string, len(dims))
	for i, d := range dims {
		if len(d) > 24 {
			d = append(d[:24:24], "…"...)
		}
		parts[i] = string(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// flatten returns the values of a tensor's data: a flat array, or an array
// of arrays of values (row-major), nested one level.
func flatten(data []byte, where, field string) ([][]byte, error) {
	outer := elements(data, nil)
	if len(outer) == 0 || outer[0][0] != '[' {
		for _, v := range outer {
			if v[0] == '[' || v[0] == '{' {
				return nil, caresignal.Invalidf(field+".data", "%s: data must be a flat array of values or an array of rows, not a mix", where)
			}
		}
		return outer, nil
	}
	var flat [][]byte
	for _, row := range outer {
		if row[0] != '[' {
			return nil, caresignal.Invalidf(field+".data", "%s: data must be a flat array of values or an array of rows, not a mix", where)
		}
		n := len(flat)
		flat = elements(row, flat)
		for _, v := range flat[n:] {
			if v[0] == '[' || v[0] == '{' {
				return nil, caresignal.Invalidf(field+".data", "%s: data is nested more than one level", where)
			}
		}
	}
	return flat, nil
}

// v2Value reads one value of a tensor of the given datatype. JSON null is
// a missing value, as in POST /api/engagement.
func v2Value(raw []byte, datatype string, isInt bool, lo, hi float64, rng string) (caresignal.Value, error) {
	if string(raw) == "null" {
		return caresignal.NullValue(), nil
	}
	switch datatype {
	case "BYTES":
		if raw[0] != '"' {
			return caresignal.Value{}, fmt.Errorf("BYTES data must be strings")
		}
		return caresignal.Str(unquote(raw)), nil
	case "BOOL":
		switch string(raw) {
		case "true":
			return caresignal.Num(1), nil
		case "false":
			return caresignal.Num(0), nil
		}
		return caresignal.Value{}, fmt.Errorf("BOOL data must be true or false")
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return caresignal.Value{}, fmt.Errorf("%s data must be numbers", datatype)
	}
	v, err := featureValue(raw)
	if err != nil {
		return v, err
	}
	if isInt && (v.Num != math.Trunc(v.Num) || v.Num < lo || v.Num > hi) {
		return caresignal.Value{}, fmt.Errorf("%s data must be whole numbers from %s", datatype, rng)
	}
	return v, nil
}

// v2OutputNames lists every output name, for messages.
var v2OutputNames = []string{"hazard", "survival", "expected_months", "median_months", "contributions", "warnings"}

// decodeOutputs reads the outputs the caller asks for.
func (req *V2Request) decodeOutputs(raw []byte) error {
	if raw[0] != '[' {
		return caresignal.Invalidf("outputs", "outputs must be an array of {\"name\": ...} objects")
	}
	for k, o := range elements(raw, nil) {
		where := fmt.Sprintf("outputs[%d]", k)
		var name []byte
		err := eachField(o, where, func(key string, val []byte) error {
			switch key {
			case "name":
				name = val
			case "parameters":
				if string(val) == "null" {
					return nil
				}
				return eachField(val, where+".parameters", func(key string, val []byte) error {
					switch {
					case key == "binary_data" && string(val) == "true":
						return caresignal.Invalidf(where+".parameters.binary_data", "%s: binary tensor data is not supported; set binary_data to false", where)
					case key == "binary_data", key == "content_type":
						return nil
					}
					return caresignal.Invalidf(where+".parameters."+key, "%s.parameters.%s is not a known parameter", where, key)
				})
			default:
				return caresignal.Invalidf(where+"."+key, "%s.%s is not a known field (an output has name and parameters)", where, key)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if name == nil || name[0] != '"' {
			return caresignal.Invalidf(where+".name", "%s.name is required: one of %s", where, strings.Join(v2OutputNames, ", "))
		}
		if p := textProblem(name, MaxStringBytes); p != "" {
			return caresignal.Invalidf(where+".name", "%s.name %s", where, p)
		}
		n := unquote(name)
		if slices.Contains(req.outputs, n) {
			return caresignal.Invalidf(where+".name", "%s %q is asked for more than once", where, n)
		}
		req.outputs = append(req.outputs, n)
	}
	return nil
}
