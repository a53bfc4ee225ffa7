package web

import (
	"fmt"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model"
)

// The Open Inference Protocol (KServe's V2 protocol, Seldon MLServer's
// REST API), beside POST /api/engagement, so that clients written for
// those servers can score patients here. Inputs are columns: one tensor
// per model feature holding one value per patient, plus the optional
// tensors patient_id and months_enrolled; the horizon is a request
// parameter. Outputs are the prediction's curves and summaries as
// tensors, one row per patient.

// Names of the tensors that are not model features.
const (
	v2PatientID      = "patient_id"
	v2MonthsEnrolled = "months_enrolled"
)

// Platforms named by the model metadata.
const (
	v2PlatformNative  = "caresignal-hazard"
	v2PlatformSklearn = "sklearn"
)

// v2Error is the protocol's error body.
type v2Error struct {
	Error string `json:"error"`
}

// v2TensorMeta describes a tensor in the model metadata.
type v2TensorMeta struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
}

// v2ModelMeta is the model metadata response.
type v2ModelMeta struct {
	Name     string         `json:"name"`
	Versions []string       `json:"versions"`
	Platform string         `json:"platform"`
	Inputs   []v2TensorMeta `json:"inputs"`
	Outputs  []v2TensorMeta `json:"outputs"`
}

// v2OutTensor is one output tensor of an inference response.
type v2OutTensor struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
	Data     any    `json:"data"`
}

// v2InferResponse is the inference response.
type v2InferResponse struct {
	ModelName    string         `json:"model_name"`
	ModelVersion string         `json:"model_version"`
	ID           *string        `json:"id,omitempty"`
	Parameters   map[string]any `json:"parameters,omitempty"`
	Outputs      []v2OutTensor  `json:"outputs"`
}

// v2Fail answers err with the protocol's error body.
func (s *server) v2Fail(w http.ResponseWriter, r *http.Request, err error) {
	_, code := NewErrorBody(err)
	if code >= 500 {
		s.log.Error("request failed", "request_id", requestID(r.Context()), "path", r.URL.Path, "err", err)
	}
	writeJSON(s.log, w, code, v2Error{Error: caresignal.ErrorMessage(err)})
}

// handleV2Server is GET /v2: the server metadata.
func (s *server) handleV2Server() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(s.log, w, http.StatusOK, map[string]any{
			"name":       "caresignal",
			"version":    model.CodeVersion(),
			"extensions": []string{},
		})
	})
}

// handleV2Live is GET /v2/health/live: 200 while the process serves.
func (s *server) handleV2Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(s.log, w, http.StatusOK, map[string]bool{"live": true})
	})
}

// handleV2Ready is GET /v2/health/ready: 200 when a model is loaded, 503
// otherwise.
func (s *server) handleV2Ready() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sv := s.models.Load(); sv == nil || sv.Production == nil {
			writeJSON(s.log, w, http.StatusServiceUnavailable, map[string]bool{"ready": false})
			return
		}
		writeJSON(s.log, w, http.StatusOK, map[string]bool{"ready": true})
	})
}

// v2Served returns the models of sv answering to name (production first,
// then the canary) and their distinct versions. The shadow never answers.
func v2Served(sv *Serving, name string) (ms []*model.Model, versions []string) {
	if sv == nil {
		return nil, nil
	}
	for _, m := range []*model.Model{sv.Production, sv.Canary} {
		if m == nil || m.Name != name {
			continue
		}
		ms = append(ms, m)
		if !slices.Contains(versions, m.Version) {
			versions = append(versions, m.Version)
		}
	}
	return ms, versions
}

// v2Lookup finds the model a /v2/models/{name}[/versions/{version}] route
// names in sv: the given version, or the first model of that name (the
// production model when it has that name).
func v2Lookup(sv *Serving, r *http.Request) (*model.Model, []string, error) {
	name, version := r.PathValue("name"), r.PathValue("version")
	ms, versions := v2Served(sv, name)
	if len(ms) == 0 {
		return nil, nil, caresignal.Errorf(caresignal.ENOTFOUND, "no model named %q is served here (served: %s)", name, strings.Join(v2Names(sv), ", "))
	}
	if version == "" {
		return ms[0], versions, nil
	}
	for _, m := range ms {
		if m.Version == version {
			return m, versions, nil
		}
	}
	return nil, nil, caresignal.Errorf(caresignal.ENOTFOUND, "model %q has no version %q served here (served: %s)", name, version, strings.Join(versions, ", "))
}

// v2Names lists the names of the models sv serves, quoted.
func v2Names(sv *Serving) []string {
	var out []string
	if sv != nil {
		for _, m := range []*model.Model{sv.Production, sv.Canary} {
			if m != nil && !slices.Contains(out, strconv.Quote(m.Name)) {
				out = append(out, strconv.Quote(m.Name))
			}
		}
	}
	if len(out) == 0 {
		out = []string{"none"}
	}
	return out
}

// handleV2Model is GET /v2/models/{name}[/versions/{version}]: the model
// metadata.
func (s *server) handleV2Model() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, versions, err := v2Lookup(s.models.Load(), r)
		if err != nil {
			s.v2Fail(w, r, err)
			return
		}
		meta := v2ModelMeta{Name: m.Name, Versions: versions, Platform: v2PlatformNative, Outputs: v2Outputs(m)}
		if m.Imported != nil {
			meta.Platform = v2PlatformSklearn
		}
		for _, in := range m.Inputs() {
			dt := "FP64"
			if in.Categorical {
				dt = "BYTES"
			}
			meta.Inputs = append(meta.Inputs, v2TensorMeta{Name: in.Name, Datatype: dt, Shape: []int{-1}})
		}
		meta.Inputs = append(meta.Inputs,
			v2TensorMeta{Name: v2PatientID, Datatype: "BYTES", Shape: []int{-1}},
			v2TensorMeta{Name: v2MonthsEnrolled, Datatype: "INT64", Shape: []int{-1}})
		writeJSON(s.log, w, http.StatusOK, meta)
	})
}

// v2Outputs lists the output tensors m answers with.
func v2Outputs(m *model.Model) []v2TensorMeta {
	out := []v2TensorMeta{
		{Name: "hazard", Datatype: "FP64", Shape: []int{-1, -1}},
		{Name: "survival", Datatype: "FP64", Shape: []int{-1, -1}},
		{Name: "expected_months", Datatype: "FP64", Shape: []int{-1}},
		{Name: "median_months", Datatype: "INT64", Shape: []int{-1}},
	}
	if m.Imported == nil {
		out = append(out, v2TensorMeta{Name: "contributions", Datatype: "FP64", Shape: []int{-1, len(m.Inputs())}})
	}
	return append(out, v2TensorMeta{Name: "warnings", Datatype: "BYTES", Shape: []int{-1}})
}

// handleV2ModelReady is GET /v2/models/{name}[/versions/{version}]/ready.
func (s *server) handleV2ModelReady() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _, err := v2Lookup(s.models.Load(), r)
		if err != nil {
			s.v2Fail(w, r, err)
			return
		}
		writeJSON(s.log, w, http.StatusOK, map[string]any{"name": m.Name, "ready": true})
	})
}

// handleV2Infer is POST /v2/models/{name}[/versions/{version}]/infer.
// With a version, exactly that version answers (404 unless it is the
// production or canary model); without one, the model is picked as POST
// /api/engagement picks it, by the patient_id of the first row.
func (s *server) handleV2Infer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
				writeJSON(s.log, w, http.StatusUnsupportedMediaType, v2Error{
					Error: fmt.Sprintf("content type %q is not supported; send application/json", ct)})
				return
			}
		}
		sv := s.models.Load()
		if sv == nil || sv.Production == nil {
			s.v2Fail(w, r, caresignal.Errorf(caresignal.EUNAVAILABLE, "no model is loaded"))
			return
		}
		// Answer 404 before reading a body no model will score.
		m, _, err := v2Lookup(sv, r)
		if err != nil {
			s.v2Fail(w, r, err)
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			s.v2Fail(w, r, err)
			return
		}
		req, err := decodeV2Request(body)
		if err != nil {
			s.v2Fail(w, r, err)
			return
		}
		if r.PathValue("version") == "" {
			if p := sv.Pick(req.firstPatientID()); p.Name == m.Name {
				m = p
			}
		}
		insts, outputs, err := req.instances(m)
		if err != nil {
			s.v2Fail(w, r, err)
			return
		}
		resp, err := Score(m, insts, true)
		if err != nil {
			s.v2Fail(w, r, req.scoreError(m, err))
			return
		}
		s.countPredictions(m, len(resp.Predictions))
		s.logPredictions(r, m, instancesJSON(insts), resp.Predictions, nil)
		if sv.Shadow != nil {
			s.shadowScore(r, sv.Shadow, insts, nil, true, resp)
		}
		writeJSON(s.log, w, http.StatusOK, v2InferResponse{
			ModelName:    m.Name,
			ModelVersion: m.Version,
			ID:           req.id,
			Parameters:   map[string]any{"horizon": req.horizon},
			Outputs:      v2Tensors(m, resp.Predictions, req.horizon, outputs),
		})
	})
}

// v2Input is one decoded input tensor: its values, one per row.
type v2Input struct {
	name     string
	datatype string
	raw      [][]byte // the JSON of each value
	values   []caresignal.Value
}

// v2Request is a decoded inference request, before it meets a model.
type v2Request struct {
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

const v2DatatypeList = "FP64, FP32, FP16, INT64, INT32, INT16, INT8, UINT64, UINT32, UINT16, UINT8, BOOL or BYTES"

// decodeV2Request parses an inference request body: its structure, the
// shapes and the values against their datatypes. What the values mean is
// left to instances, which knows the model.
func decodeV2Request(body []byte) (*v2Request, error) {
	if err := validJSON(body); err != nil {
		return nil, err
	}
	req := &v2Request{horizon: caresignal.DefaultHorizon}
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
	return req, nil
}

// parameters reads the request's parameters: horizon, and content_type,
// which MLServer's clients send and which changes nothing here.
func (req *v2Request) parameters(raw []byte) error {
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
func (req *v2Request) input(j int, raw []byte) (v2Input, error) {
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
	in.name = unquote(name)
	where = fmt.Sprintf("inputs[%d] %q", j, in.name)
	field := fmt.Sprintf("inputs[%d]", j)
	if datatype == nil || datatype[0] != '"' {
		return in, caresignal.Invalidf(field+".datatype", "%s: datatype is required, one of %s", where, v2DatatypeList)
	}
	in.datatype = unquote(datatype)
	dt, ok := v2Datatypes[in.datatype]
	if !ok {
		return in, caresignal.Invalidf(field+".datatype", "%s: datatype %q is not supported; use one of %s", where, in.datatype, v2DatatypeList)
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
	for i, v := range in.raw {
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
func (req *v2Request) decodeOutputs(raw []byte) error {
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
		n := unquote(name)
		if slices.Contains(req.outputs, n) {
			return caresignal.Invalidf(where+".name", "%s %q is asked for more than once", where, n)
		}
		req.outputs = append(req.outputs, n)
	}
	return nil
}

// firstPatientID is the patient_id of the first row, or "".
func (req *v2Request) firstPatientID() string {
	for _, in := range req.inputs {
		if in.name == v2PatientID && len(in.values) > 0 && in.values[0].Kind == caresignal.String {
			return in.values[0].Str
		}
	}
	return ""
}

// instances builds one instance per row for m, and checks the outputs
// asked for against m's.
func (req *v2Request) instances(m *model.Model) ([]caresignal.Instance, []string, error) {
	outs := v2Outputs(m)
	for k, name := range req.outputs {
		if !slices.ContainsFunc(outs, func(t v2TensorMeta) bool { return t.Name == name }) {
			names := make([]string, len(outs))
			for i, t := range outs {
				names[i] = t.Name
			}
			return nil, nil, caresignal.Invalidf(fmt.Sprintf("outputs[%d].name", k), "outputs[%d] %q is not an output of model %q (outputs: %s)", k, name, m.Name, strings.Join(names, ", "))
		}
	}
	inputs := m.Inputs()
	insts := make([]caresignal.Instance, req.rows)
	for i := range insts {
		insts[i] = caresignal.Instance{Features: make(map[string]caresignal.Value, len(req.inputs)), Horizon: req.horizon}
	}
	for j, in := range req.inputs {
		where := fmt.Sprintf("inputs[%d] %q", j, in.name)
		field := fmt.Sprintf("inputs[%d]", j)
		switch in.name {
		case v2PatientID:
			if in.datatype != "BYTES" {
				return nil, nil, caresignal.Invalidf(field+".datatype", "%s: datatype %s; patient ids are BYTES (strings)", where, in.datatype)
			}
			for i, v := range in.values {
				insts[i].PatientID = v.Str
				if len(v.Str) > MaxPatientIDBytes {
					return nil, nil, caresignal.Invalidf(field+".data", "%s row %d: patient_id is longer than %d bytes", where, i, MaxPatientIDBytes)
				}
			}
		case v2MonthsEnrolled:
			if in.datatype == "BYTES" {
				return nil, nil, caresignal.Invalidf(field+".datatype", "%s: datatype BYTES; months_enrolled takes whole numbers (INT64)", where)
			}
			for i, raw := range in.raw {
				n, err := integer(raw, 0, 0, caresignal.MaxMonthsEnrolled)
				if err != nil {
					return nil, nil, caresignal.Invalidf(field+".data", "%s row %d: months_enrolled %s", where, i, err)
				}
				insts[i].MonthsEnrolled = n
			}
		default:
			k := slices.IndexFunc(inputs, func(x model.Input) bool { return x.Name == in.name })
			if k >= 0 && !inputs[k].Categorical && in.datatype == "BYTES" {
				return nil, nil, caresignal.Invalidf(field+".datatype", "%s: datatype BYTES, but %s is a numeric feature; send FP64 (or another numeric datatype)", where, in.name)
			}
			for i, v := range in.values {
				insts[i].Features[in.name] = v
			}
		}
	}
	return insts, req.outputs, nil
}

// scoreError names the tensor and row of a model's refusal: the model's
// "instances[2].features.age must be at least 0" becomes `inputs[1] "age"
// row 2: features.age must be at least 0`, whose text after the colon is
// what POST /api/engagement answers for that patient alone.
func (req *v2Request) scoreError(m *model.Model, err error) error {
	e, ok := err.(*caresignal.Error)
	if !ok || e.Code != caresignal.EINVALID || !strings.HasPrefix(e.Field, "instances[") {
		return err
	}
	row, rest, ok := strings.Cut(strings.TrimPrefix(e.Field, "instances["), "].")
	if !ok {
		return err
	}
	msg := strings.TrimPrefix(e.Message, "instances["+row+"].")
	feature, isFeature := strings.CutPrefix(rest, "features.")
	if !isFeature {
		return &caresignal.Error{Code: e.Code, Field: rest, Message: "row " + row + ": " + msg, Err: e.Err}
	}
	j := slices.IndexFunc(req.inputs, func(in v2Input) bool { return in.name == feature })
	if j < 0 {
		return &caresignal.Error{Code: e.Code, Field: "inputs", Message: fmt.Sprintf("no input tensor %q: %s", feature, msg), Err: e.Err}
	}
	known := slices.ContainsFunc(m.Inputs(), func(in model.Input) bool { return in.Name == feature })
	where := fmt.Sprintf("inputs[%d] %q", j, feature)
	if known {
		where += " row " + row
	}
	return &caresignal.Error{Code: e.Code, Field: fmt.Sprintf("inputs[%d]", j), Message: where + ": " + msg, Err: e.Err}
}

// v2Tensors lays the predictions out as output tensors, row-major: those
// asked for in that order, or (want nil) all in the order of the metadata.
func v2Tensors(m *model.Model, preds []caresignal.Prediction, horizon int, want []string) []v2OutTensor {
	n := len(preds)
	metas := v2Outputs(m)
	if want != nil {
		// In the order asked for; instances checked that m has them.
		all := metas
		metas = make([]v2TensorMeta, 0, len(want))
		for _, name := range want {
			if k := slices.IndexFunc(all, func(t v2TensorMeta) bool { return t.Name == name }); k >= 0 {
				metas = append(metas, all[k])
			}
		}
	}
	var out []v2OutTensor
	for _, t := range metas {
		o := v2OutTensor{Name: t.Name, Datatype: t.Datatype, Shape: []int{n}}
		switch t.Name {
		case "hazard", "survival":
			data := make([]float64, 0, n*horizon)
			for _, p := range preds {
				if t.Name == "hazard" {
					data = append(data, p.Hazard...)
				} else {
					data = append(data, p.Survival...)
				}
			}
			o.Shape, o.Data = []int{n, horizon}, data
		case "expected_months":
			data := make([]float64, n)
			for i, p := range preds {
				data[i] = p.ExpectedMonths
			}
			o.Data = data
		case "median_months":
			data := make([]int, n)
			for i, p := range preds {
				data[i] = -1
				if p.MedianMonths != nil {
					data[i] = *p.MedianMonths
				}
			}
			o.Data = data
		case "contributions":
			inputs := m.Inputs()
			data := make([]float64, n*len(inputs))
			for i, p := range preds {
				for _, c := range p.Explanation {
					if k := slices.IndexFunc(inputs, func(in model.Input) bool { return in.Name == c.Feature }); k >= 0 {
						data[i*len(inputs)+k] = c.Contribution
					}
				}
			}
			o.Shape, o.Data = []int{n, len(inputs)}, data
		case "warnings":
			data := make([]string, n)
			for i, p := range preds {
				data[i] = strings.Join(p.Warnings, "; ")
			}
			o.Data = data
		}
		out = append(out, o)
	}
	return out
}
