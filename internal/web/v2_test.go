package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sklearnfixture"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/wire"
)

// v2Patients are three patients as POST /api/engagement takes them; the
// second has a missing score (a warning: it is imputed).
var v2Patients = []map[string]any{
	{"patient_id": "P-1", "months_enrolled": 0, "days_elapsed": 0, "features": map[string]any{"age": 54, "sex": "F", "program": "diabetes", "channel": "app", "baseline_score": 0.62, "prior_no_shows": 1, "enrolled_via": "referral", "sessions_last_month": 3, "days_since_last_session": 6, "messages_last_month": 4}},
	{"patient_id": "P-2", "months_enrolled": 5, "days_elapsed": 12, "features": map[string]any{"age": 71, "sex": "M", "program": "copd", "channel": "phone", "baseline_score": nil, "prior_no_shows": 3, "enrolled_via": "self", "sessions_last_month": 0, "days_since_last_session": 45, "messages_last_month": 0}},
	{"patient_id": "P-3", "months_enrolled": 11, "days_elapsed": 29, "features": map[string]any{"age": 33, "sex": "F", "program": "diabetes", "channel": "app", "baseline_score": 0.9, "prior_no_shows": 0, "enrolled_via": "referral", "sessions_last_month": 8, "days_since_last_session": 2, "messages_last_month": 12}},
}

// v2Tensor is an input tensor of a test request.
type v2Tensor struct {
	Name       string         `json:"name"`
	Shape      []int          `json:"shape"`
	Datatype   string         `json:"datatype"`
	Data       any            `json:"data"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// v2Columns turns patients into the tensors of an inference request: the
// model's inputs in its order (numbers FP64, strings BYTES), then
// patient_id, months_enrolled and days_elapsed. nested sends [N, 1]
// tensors of rows.
func v2Columns(m *model.Model, patients []map[string]any, nested bool) []v2Tensor {
	col := func(name, dt string, get func(p map[string]any) any) v2Tensor {
		t := v2Tensor{Name: name, Datatype: dt, Shape: []int{len(patients)}}
		var flat, rows []any
		for _, p := range patients {
			flat = append(flat, get(p))
			rows = append(rows, []any{get(p)})
		}
		t.Data = flat
		if nested {
			t.Shape, t.Data = []int{len(patients), 1}, rows
		}
		return t
	}
	var ts []v2Tensor
	for _, in := range m.Inputs() {
		dt := "FP64"
		if in.Categorical {
			dt = "BYTES"
		}
		ts = append(ts, col(in.Name, dt, func(p map[string]any) any { return p["features"].(map[string]any)[in.Name] }))
	}
	ts = append(ts, col("patient_id", "BYTES", func(p map[string]any) any { return p["patient_id"] }))
	ts = append(ts, col("months_enrolled", "INT64", func(p map[string]any) any { return p["months_enrolled"] }))
	ts = append(ts, col("days_elapsed", "INT64", func(p map[string]any) any { return p["days_elapsed"] }))
	return ts
}

func v2Do(t testing.TB, srv *httptest.Server, method, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return resp.StatusCode, b
}

func v2Get(t testing.TB, srv *httptest.Server, path string) (int, []byte) {
	t.Helper()
	return v2Do(t, srv, http.MethodGet, path, "", nil)
}

func v2Infer(t testing.TB, srv *httptest.Server, path string, req any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return v2Do(t, srv, http.MethodPost, path, "application/json", b)
}

type v2Out struct {
	Name     string          `json:"name"`
	Datatype string          `json:"datatype"`
	Shape    []int           `json:"shape"`
	Data     json.RawMessage `json:"data"`
}

type v2Resp struct {
	ModelName    string         `json:"model_name"`
	ModelVersion string         `json:"model_version"`
	ID           *string        `json:"id"`
	Parameters   map[string]int `json:"parameters"`
	Outputs      []v2Out        `json:"outputs"`
}

func decodeV2Resp(t testing.TB, body []byte) v2Resp {
	t.Helper()
	var r v2Resp
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return r
}

func (r v2Resp) output(t testing.TB, name string, dst any) v2Out {
	t.Helper()
	for _, o := range r.Outputs {
		if o.Name == name {
			if err := json.Unmarshal(o.Data, dst); err != nil {
				t.Fatalf("output %s: %v", name, err)
			}
			return o
		}
	}
	t.Fatalf("no output %q", name)
	return v2Out{}
}

func TestV2ServerMetadataAndHealth(t *testing.T) {
	srv, _ := testServer(t)
	code, body := v2Get(t, srv, "/v2")
	var meta map[string]any
	json.Unmarshal(body, &meta)
	if code != 200 || meta["name"] != "caresignal" || meta["version"] != model.CodeVersion() || fmt.Sprint(meta["extensions"]) != "[]" || strings.Contains(string(body), `"extensions":null`) {
		t.Errorf("GET /v2: %d %s", code, body)
	}
	if code, body := v2Get(t, srv, "/v2/health/live"); code != 200 || string(body) != "{\"live\":true}\n" {
		t.Errorf("live: %d %s", code, body)
	}
	if code, body := v2Get(t, srv, "/v2/health/ready"); code != 200 || string(body) != "{\"ready\":true}\n" {
		t.Errorf("ready: %d %s", code, body)
	}

	// Without a model: not ready, and nothing to score with.
	empty := httptest.NewServer(NewHandler(Config{Models: &serving.Models{}, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}))
	defer empty.Close()
	if code, body := v2Get(t, empty, "/v2/health/ready"); code != 503 || string(body) != "{\"ready\":false}\n" {
		t.Errorf("ready without a model: %d %s", code, body)
	}
	if code, body := v2Get(t, empty, "/v2/health/live"); code != 200 {
		t.Errorf("live without a model: %d %s", code, body)
	}
	if code, body := v2Infer(t, empty, "/v2/models/engagement/infer", map[string]any{}); code != 503 || string(body) != "{\"error\":\"no model is loaded\"}\n" {
		t.Errorf("infer without a model: %d %s", code, body)
	}
	if code, body := v2Get(t, empty, "/v2/models/engagement"); code != 404 || string(body) != "{\"error\":\"no model named \\\"engagement\\\" is served here (served: none)\"}\n" {
		t.Errorf("metadata without a model: %d %s", code, body)
	}
}

func TestV2ModelMetadata(t *testing.T) {
	srv, _ := testServer(t)
	m := testModel(t)
	for _, path := range []string{"/v2/models/engagement", "/v2/models/engagement/versions/" + m.Version} {
		code, body := v2Get(t, srv, path)
		if code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		var meta wire.V2ModelMeta
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&meta); err != nil {
			t.Fatal(err)
		}
		if meta.Name != "engagement" || !slices.Equal(meta.Versions, []string{m.Version}) || meta.Platform != "caresignal-hazard" {
			t.Errorf("%s: %s", path, body)
		}
		inputs := m.Inputs()
		if len(meta.Inputs) != len(inputs)+3 {
			t.Fatalf("%s: inputs %+v", path, meta.Inputs)
		}
		for i, in := range inputs {
			want := wire.V2TensorMeta{Name: in.Name, Datatype: "FP64", Shape: []int{-1}}
			if in.Categorical {
				want.Datatype = "BYTES"
			}
			if got := meta.Inputs[i]; got.Name != want.Name || got.Datatype != want.Datatype || !slices.Equal(got.Shape, want.Shape) {
				t.Errorf("input %d: %+v, want %+v", i, got, want)
			}
		}
		if got := fmt.Sprint(meta.Inputs[len(inputs):]); got != "[{patient_id BYTES [-1]} {months_enrolled INT64 [-1]} {days_elapsed INT64 [-1]}]" {
			t.Errorf("extra inputs %s", got)
		}
		want := fmt.Sprintf("[{hazard FP64 [-1 -1]} {survival FP64 [-1 -1]} {expected_months FP64 [-1]} {median_months INT64 [-1]} {contributions FP64 [-1 %d]} {warnings BYTES [-1]}]", len(inputs))
		if got := fmt.Sprint(meta.Outputs); got != want {
			t.Errorf("outputs %s, want %s", got, want)
		}
	}
	if meta := must200(t, srv, "/v2/models/engagement"); !strings.Contains(meta, `{"name":"age","datatype":"FP64","shape":[-1]}`) || !strings.Contains(meta, `{"name":"sex","datatype":"BYTES","shape":[-1]}`) {
		t.Errorf("metadata %s", meta)
	}
	for _, path := range []string{"/v2/models/engagement/ready", "/v2/models/engagement/versions/" + m.Version + "/ready"} {
		if got := must200(t, srv, path); got != "{\"name\":\"engagement\",\"ready\":true}\n" {
			t.Errorf("%s: %s", path, got)
		}
	}
	for path, msg := range map[string]string{
		"/v2/models/nope":                              `no model named "nope" is served here (served: "engagement")`,
		"/v2/models/nope/ready":                        `no model named "nope" is served here (served: "engagement")`,
		"/v2/models/engagement/versions/0123abc":       `model "engagement" has no version "0123abc" served here (served: ` + m.Version + `)`,
		"/v2/models/engagement/versions/0123abc/ready": `model "engagement" has no version "0123abc" served here (served: ` + m.Version + `)`,
	} {
		code, body := v2Get(t, srv, path)
		var e map[string]string
		if code != 404 || json.Unmarshal(body, &e) != nil || len(e) != 1 || e["error"] != msg {
			t.Errorf("%s: %d %s, want 404 %s", path, code, body, msg)
		}
	}
}

func must200(t *testing.T, srv *httptest.Server, path string) string {
	t.Helper()
	code, body := v2Get(t, srv, path)
	if code != 200 {
		t.Fatalf("%s: %d %s", path, code, body)
	}
	return string(body)
}

// TestV2InferMatchesEngagement: three patients scored through the V2
// protocol get exactly, to the bit, what POST /api/engagement answers for
// them, and are counted once.
func TestV2InferMatchesEngagement(t *testing.T) {
	srv, _ := testServer(t)
	m := testModel(t)
	const horizon = 6
	var insts []map[string]any
	for _, p := range v2Patients {
		q := map[string]any{"horizon": horizon}
		for k, v := range p {
			q[k] = v
		}
		insts = append(insts, q)
	}
	b, _ := json.Marshal(map[string]any{"instances": insts})
	code, body := post(t, srv, string(b))
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var want wire.Answer
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatal(err)
	}

	code, body = v2Infer(t, srv, "/v2/models/engagement/infer", map[string]any{
		"id": "req-7", "parameters": map[string]any{"horizon": horizon}, "inputs": v2Columns(m, v2Patients, false)})
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	got := decodeV2Resp(t, body)
	if got.ModelName != "engagement" || got.ModelVersion != m.Version || got.ID == nil || *got.ID != "req-7" || got.Parameters["horizon"] != horizon {
		t.Errorf("response %s", body)
	}
	names := make([]string, len(got.Outputs))
	for i, o := range got.Outputs {
		names[i] = o.Name
	}
	if !slices.Equal(names, []string{"hazard", "survival", "expected_months", "median_months", "contributions", "warnings"}) {
		t.Errorf("outputs %v", names)
	}
	var hazard, survival, expected, contributions []float64
	var median []int
	var warnings []string
	inputs := m.Inputs()
	for _, c := range []struct {
		name  string
		dst   any
		dt    string
		shape []int
	}{
		{"hazard", &hazard, "FP64", []int{3, horizon}},
		{"survival", &survival, "FP64", []int{3, horizon}},
		{"expected_months", &expected, "FP64", []int{3}},
		{"median_months", &median, "INT64", []int{3}},
		{"contributions", &contributions, "FP64", []int{3, len(inputs)}},
		{"warnings", &warnings, "BYTES", []int{3}},
	} {
		o := got.output(t, c.name, c.dst)
		if o.Datatype != c.dt || !slices.Equal(o.Shape, c.shape) {
			t.Errorf("%s: %s %v, want %s %v", c.name, o.Datatype, o.Shape, c.dt, c.shape)
		}
	}
	bits := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
	for i, p := range want.Predictions {
		for k := range horizon {
			if !bits(hazard[i*horizon+k], p.Hazard[k]) || !bits(survival[i*horizon+k], p.Survival[k]) {
				t.Errorf("patient %d month %d: hazard %v survival %v, /api/engagement %v %v", i, k, hazard[i*horizon+k], survival[i*horizon+k], p.Hazard[k], p.Survival[k])
			}
		}
		if !bits(expected[i], p.ExpectedMonths) {
			t.Errorf("patient %d: expected_months %v, /api/engagement %v", i, expected[i], p.ExpectedMonths)
		}
		wantMedian := -1
		if p.MedianMonths != nil {
			wantMedian = *p.MedianMonths
		}
		if median[i] != wantMedian {
			t.Errorf("patient %d: median_months %d, want %d", i, median[i], wantMedian)
		}
		for _, c := range p.Explanation {
			k := slices.IndexFunc(inputs, func(in caresignal.Input) bool { return in.Name == c.Feature })
			if !bits(contributions[i*len(inputs)+k], c.Contribution) {
				t.Errorf("patient %d: %s contribution %v, /api/engagement %v", i, c.Feature, contributions[i*len(inputs)+k], c.Contribution)
			}
		}
		if warnings[i] != strings.Join(p.Warnings, "; ") {
			t.Errorf("patient %d: warnings %q, /api/engagement %q", i, warnings[i], p.Warnings)
		}
	}
	if warnings[1] == "" || warnings[0] != "" {
		t.Errorf("warnings %q: the second patient has one, the first none", warnings)
	}

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `caresignal_predictions_total{model="engagement",version="`+m.Version+`"} 6`) {
		t.Errorf("three patients through each route; /metrics says\n%s", grep(string(body), "predictions_total"))
	}
	if !strings.Contains(string(body), `caresignal_http_request_duration_seconds_count{route="POST /v2/models/{name}/infer",status="200"} 1`) {
		t.Errorf("the infer route is not timed by its pattern:\n%s", grep(string(body), "/v2"))
	}

	// Nested rows ([N, 1]) answer exactly as flat data; without an id
	// there is none in the answer, and the horizon defaults to 12.
	flatCode, flat := v2Infer(t, srv, "/v2/models/engagement/infer", map[string]any{"inputs": v2Columns(m, v2Patients, false)})
	nestedCode, nested := v2Infer(t, srv, "/v2/models/engagement/infer", map[string]any{"inputs": v2Columns(m, v2Patients, true)})
	if flatCode != 200 || nestedCode != 200 || !bytes.Equal(flat, nested) {
		t.Errorf("flat %d %s\nnested %d %s", flatCode, flat, nestedCode, nested)
	}
	if r := decodeV2Resp(t, flat); r.ID != nil || r.Parameters["horizon"] != 12 || !slices.Equal(r.Outputs[0].Shape, []int{3, 12}) {
		t.Errorf("defaults: %s", flat)
	}
}

// TestV2InferDatatypes: integer, boolean and 32-bit datatypes carry the
// same numbers; an integer-coded category may be numeric.
func TestV2InferDatatypes(t *testing.T) {
	srv, _ := testServer(t)
	m := testModel(t)
	base := v2Columns(m, v2Patients[:1], false)
	_, want := v2Infer(t, srv, "/v2/models/engagement/infer", map[string]any{"inputs": base})
	retype := func(name, dt string, data any) []v2Tensor {
		ts := slices.Clone(base)
		for i := range ts {
			if ts[i].Name == name {
				ts[i].Datatype, ts[i].Data = dt, data
			}
		}
		return ts
	}
	for _, ts := range [][]v2Tensor{
		retype("age", "INT32", []int{54}),
		retype("age", "UINT8", []int{54}),
		retype("age", "FP32", []float64{54}),
		retype("prior_no_shows", "BOOL", []bool{true}),
		retype("months_enrolled", "INT8", []int{0}),
		retype("months_enrolled", "FP64", []float64{0}),
	} {
		code, got := v2Infer(t, srv, "/v2/models/engagement/infer", map[string]any{"inputs": ts})
		if code != 200 || !bytes.Equal(got, want) {
			t.Errorf("%d %s\nwant %s", code, got, want)
		}
	}
}

// TestV2OutputsFilter: only the outputs asked for, in the order asked.
func TestV2OutputsFilter(t *testing.T) {
	srv, _ := testServer(t)
	m := testModel(t)
	code, body := v2Infer(t, srv, "/v2/models/engagement/infer", map[string]any{
		"inputs":  v2Columns(m, v2Patients, false),
		"outputs": []any{map[string]any{"name": "expected_months"}, map[string]any{"name": "hazard", "parameters": map[string]any{"binary_data": false}}},
	})
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	r := decodeV2Resp(t, body)
	if len(r.Outputs) != 2 || r.Outputs[0].Name != "expected_months" || r.Outputs[1].Name != "hazard" {
		t.Errorf("outputs %s", body)
	}
	code, body = v2Infer(t, srv, "/v2/models/engagement/infer", map[string]any{"inputs": v2Columns(m, v2Patients, false), "outputs": []any{}})
	if r := decodeV2Resp(t, body); code != 200 || len(r.Outputs) != 6 {
		t.Errorf("an empty outputs list: %d %s", code, body)
	}
}

// TestV2Versions: with a canary, both versions are listed; a request
// naming a version is answered by exactly that version; without a version
// the split decides, as for /api/engagement; other versions are 404.
func TestV2Versions(t *testing.T) {
	m := testModel(t)
	canary := *m
	canary.Version = "c0ffee000001"
	ms := serving.NewModels(m)
	ms.Set(&serving.Set{Production: m, Canary: &canary, CanaryPercent: 100})
	srv := httptest.NewServer(NewHandler(Config{Models: ms, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}))
	defer srv.Close()

	var meta wire.V2ModelMeta
	json.Unmarshal([]byte(must200(t, srv, "/v2/models/engagement")), &meta)
	if !slices.Equal(meta.Versions, []string{m.Version, canary.Version}) {
		t.Errorf("versions %v", meta.Versions)
	}
	must200(t, srv, "/v2/models/engagement/versions/"+canary.Version+"/ready")

	req := map[string]any{"inputs": v2Columns(m, v2Patients, false)}
	for path, version := range map[string]string{
		"/v2/models/engagement/infer":                                    canary.Version,
		"/v2/models/engagement/versions/" + m.Version + "/infer":         m.Version,
		"/v2/models/engagement/versions/" + canary.Version + "/infer":    canary.Version,
		"/v2/models/engagement/versions/" + canary.Version + "/infer?x=": canary.Version,
	} {
		code, body := v2Infer(t, srv, path, req)
		if r := decodeV2Resp(t, body); code != 200 || r.ModelVersion != version {
			t.Errorf("%s: %d, version %s, want %s", path, code, r.ModelVersion, version)
		}
	}
	for path, msg := range map[string]string{
		"/v2/models/engagement/versions/0123456789ab/infer": `model "engagement" has no version "0123456789ab" served here (served: ` + m.Version + `, ` + canary.Version + `)`,
		"/v2/models/lung/infer":                             `no model named "lung" is served here (served: "engagement")`,
	} {
		code, body := v2Infer(t, srv, path, req)
		if code != 404 || string(body) != `{"error":`+jsonString(msg)+"}\n" {
			t.Errorf("%s: %d %s, want 404 %s", path, code, body, msg)
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestV2Errors: every refusal, with its status and the message naming the
// tensor (and row); the model's own refusals read as /api/engagement's.
func TestV2Errors(t *testing.T) {
	srv, _ := testServer(t)
	m := testModel(t)
	idx := func(name string) int {
		return slices.IndexFunc(m.Inputs(), func(in caresignal.Input) bool { return in.Name == name })
	}
	n := len(m.Inputs())
	good := func() []v2Tensor { return v2Columns(m, v2Patients, false) }
	with := func(name string, f func(t *v2Tensor)) []v2Tensor {
		ts := good()
		for i := range ts {
			if ts[i].Name == name {
				f(&ts[i])
			}
		}
		return ts
	}
	without := func(name string) []v2Tensor {
		return slices.DeleteFunc(good(), func(t v2Tensor) bool { return t.Name == name })
	}
	body := func(req map[string]any) string {
		b, _ := json.Marshal(req)
		return string(b)
	}
	inputs := func(ts []v2Tensor) string { return body(map[string]any{"inputs": ts}) }
	tensor := func(ts []v2Tensor) string { b, _ := json.Marshal(ts[0]); return string(b) }
	age, sex, sessions := idx("age"), idx("sex"), idx("sessions_last_month")

	// The message POST /api/engagement gives for one patient.
	engagement := func(p map[string]any) string {
		b, _ := json.Marshal(p)
		code, body := post(t, srv, string(b))
		var e wire.ErrorBody
		if code != 400 || json.Unmarshal(body, &e) != nil {
			t.Fatalf("/api/engagement: %d %s", code, body)
		}
		return e.Error
	}
	badPatient := func(feature string, v any) map[string]any {
		f := map[string]any{}
		for k, x := range v2Patients[1]["features"].(map[string]any) {
			f[k] = x
		}
		f[feature] = v
		return map[string]any{"features": f}
	}

	big := `{"inputs": [{"name": "age", "shape": [1], "datatype": "BYTES", "data": ["` + strings.Repeat("x", wire.MaxBodyBytes) + `"]}]}`
	cases := []struct {
		name, ct, body string
		code           int
		msg            string
	}{
		{"not JSON", "", `{"inputs": [`, 400, "request body is not valid JSON (at byte 12)"},
		{"empty", "", ``, 400, "request body is empty: send a JSON object"},
		{"not an object", "", `[1]`, 400, "request body must be a JSON object"},
		{"CSV", "text/csv", `age\n54`, 415, `content type "text/csv" is not supported; send application/json`},
		{"JSON with charset", "application/json; charset=utf-8", inputs(good()), 200, ""},
		{"too large", "", big, 413, "request body exceeds 2097152 bytes"},
		{"unknown field", "", `{"inputs": [], "instances": []}`, 400, "instances is not a known field (a request has id, parameters, inputs and outputs)"},
		{"field twice", "", `{"inputs": [], "inputs": []}`, 400, "inputs appears more than once"},
		{"no inputs", "", `{}`, 400, "inputs is required: an array of tensors, one per feature"},
		{"inputs not an array", "", `{"inputs": {"age": [1]}}`, 400, "inputs is required: an array of tensors, one per feature"},
		{"no tensors", "", `{"inputs": []}`, 400, "inputs holds no tensors"},
		{"tensor not an object", "", `{"inputs": [1]}`, 400, "inputs[0] must be a JSON object"},
		{"id not a string", "", `{"id": 7, "inputs": []}`, 400, "id must be a string"},
		{"tensor without name", "", `{"inputs": [{"shape": [1], "datatype": "FP64", "data": [1]}]}`, 400, "inputs[0].name is required: the feature the tensor holds"},
		{"unknown tensor field", "", `{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1], "dtype": "x"}]}`, 400, "inputs[0].dtype is not a known field (a tensor has name, shape, datatype, data and parameters)"},
		{"no datatype", "", `{"inputs": [{"name": "age", "shape": [1], "data": [1]}]}`, 400, `inputs[0] "age": datatype is required, one of ` + wire.V2DatatypeList},
		{"unknown datatype", "", `{"inputs": [{"name": "age", "shape": [1], "datatype": "FLOAT", "data": [1]}]}`, 400, `inputs[0] "age": datatype "FLOAT" is not supported; use one of ` + wire.V2DatatypeList},
		{"no shape", "", `{"inputs": [{"name": "age", "datatype": "FP64", "data": [1]}]}`, 400, `inputs[0] "age": shape is required: [N] or [N, 1], one value per patient`},
		{"2-d shape", "", `{"inputs": [{"name": "age", "shape": [3, 2], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]}]}`, 400, `inputs[0] "age": shape must be [N] or [N, 1], one value per patient; got [3, 2]`},
		{"3-d shape", "", `{"inputs": [{"name": "age", "shape": [1, 1, 1], "datatype": "FP64", "data": [1]}]}`, 400, `inputs[0] "age": shape must be [N] or [N, 1], one value per patient; got [1, 1, 1]`},
		{"negative shape", "", `{"inputs": [{"name": "age", "shape": [-1], "datatype": "FP64", "data": [1]}]}`, 400, `inputs[0] "age": shape must be [N] or [N, 1], one value per patient; got [-1]`},
		{"fractional shape", "", `{"inputs": [{"name": "age", "shape": [1.5], "datatype": "FP64", "data": [1]}]}`, 400, `inputs[0] "age": shape must be [N] or [N, 1], one value per patient; got [1.5]`},
		{"shape not an array", "", `{"inputs": [{"name": "age", "shape": 3, "datatype": "FP64", "data": [1]}]}`, 400, `inputs[0] "age": shape must be [N] or [N, 1], one value per patient; got 3`},
		{"no rows", "", `{"inputs": [{"name": "age", "shape": [0], "datatype": "FP64", "data": []}]}`, 400, `inputs[0] "age": shape [0] holds no rows; send 1 to 1000 patients`},
		{"above the cap", "", `{"inputs": [{"name": "age", "shape": [1001], "datatype": "FP64", "data": []}]}`, 400, `inputs[0] "age": shape [1001] has 1001 rows; at most 1000 patients are scored per request`},
		{"far above the cap", "", `{"inputs": [{"name": "age", "shape": [1e300, 1], "datatype": "FP64", "data": []}]}`, 400, `inputs[0] "age": shape [1e300, 1] has 1e300 rows; at most 1000 patients are scored per request`},
		{"shape mismatch", "", inputs(with("sessions_last_month", func(t *v2Tensor) { t.Shape, t.Data = []int{5}, []int{1, 2, 3, 4, 5} })), 400,
			fmt.Sprintf(`inputs[%d] "sessions_last_month": shape [5] does not match the 3 rows of inputs[0]`, sessions)},
		{"first tensor sets the rows", "", inputs(with(m.Inputs()[0].Name, func(t *v2Tensor) { t.Shape, t.Data = []int{5, 1}, []int{1, 2, 3, 4, 5} })), 400,
			fmt.Sprintf(`inputs[1] %q: shape [3] does not match the 5 rows of inputs[0]`, m.Inputs()[1].Name)},
		{"data shorter than the shape", "", inputs(with("sex", func(t *v2Tensor) { t.Data = []string{"F", "M"} })), 400,
			fmt.Sprintf(`inputs[%d] "sex": shape [3] holds 3 values, but data holds 2`, sex)},
		{"nested data longer than the shape", "", inputs(with("age", func(t *v2Tensor) { t.Shape, t.Data = []int{3, 1}, [][]int{{1, 2}, {3}, {4}} })), 400,
			fmt.Sprintf(`inputs[%d] "age": shape [3, 1] holds 3 values, but data holds 4`, age)},
		{"no data", "", `{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64"}]}`, 400, `inputs[0] "age": data is required: an array of values, one per row`},
		{"data nested twice", "", `{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [[[1]]]}]}`, 400, `inputs[0] "age": data is nested more than one level`},
		{"data mixed", "", `{"inputs": [{"name": "age", "shape": [2], "datatype": "FP64", "data": [1, [2]]}]}`, 400, `inputs[0] "age": data must be a flat array of values or an array of rows, not a mix`},
		{"data mixed, rows first", "", `{"inputs": [{"name": "age", "shape": [2], "datatype": "FP64", "data": [[1], 2]}]}`, 400, `inputs[0] "age": data must be a flat array of values or an array of rows, not a mix`},
		{"string in FP64", "", inputs(with("age", func(t *v2Tensor) { t.Data = []any{54, "71", 33} })), 400,
			fmt.Sprintf(`inputs[%d] "age" row 1: FP64 data must be numbers`, age)},
		{"huge number", "", `{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1e999]}]}`, 400, `inputs[0] "age" row 0: must be a finite number`},
		{"fraction in INT64", "", inputs(with("months_enrolled", func(t *v2Tensor) { t.Data = []any{0, 1.5, 2} })), 400,
			fmt.Sprintf(`inputs[%d] "months_enrolled" row 1: INT64 data must be whole numbers from -9223372036854775808 to 9223372036854775807`, n+1)},
		{"INT8 out of range", "", inputs(with("age", func(t *v2Tensor) { t.Datatype = "INT8"; t.Data = []int{54, 71, 300} })), 400,
			fmt.Sprintf(`inputs[%d] "age" row 2: INT8 data must be whole numbers from -128 to 127`, age)},
		{"negative UINT8", "", inputs(with("age", func(t *v2Tensor) { t.Datatype = "UINT8"; t.Data = []int{-1, 71, 30} })), 400,
			fmt.Sprintf(`inputs[%d] "age" row 0: UINT8 data must be whole numbers from 0 to 255`, age)},
		{"number in BOOL", "", inputs(with("prior_no_shows", func(t *v2Tensor) { t.Datatype = "BOOL"; t.Data = []any{true, 1, false} })), 400,
			fmt.Sprintf(`inputs[%d] "prior_no_shows" row 1: BOOL data must be true or false`, idx("prior_no_shows"))},
		{"number in BYTES", "", inputs(with("sex", func(t *v2Tensor) { t.Data = []any{"F", 1, "M"} })), 400,
			fmt.Sprintf(`inputs[%d] "sex" row 1: BYTES data must be strings`, sex)},
		{"numeric feature as BYTES", "", inputs(with("age", func(t *v2Tensor) { t.Datatype = "BYTES"; t.Data = []string{"54", "71", "33"} })), 400,
			fmt.Sprintf(`inputs[%d] "age": datatype BYTES, but age is a numeric feature; send FP64 (or another numeric datatype)`, age)},
		{"patient_id not BYTES", "", inputs(with("patient_id", func(t *v2Tensor) { t.Datatype = "INT64"; t.Data = []int{1, 2, 3} })), 400,
			fmt.Sprintf(`inputs[%d] "patient_id": datatype INT64; patient ids are BYTES (strings)`, n)},
		{"patient_id too long", "", inputs(with("patient_id", func(t *v2Tensor) { t.Data = []string{"a", strings.Repeat("b", 201), "c"} })), 400,
			fmt.Sprintf(`inputs[%d] "patient_id" row 1: patient_id is longer than 200 bytes`, n)},
		{"months_enrolled as BYTES", "", inputs(with("months_enrolled", func(t *v2Tensor) { t.Datatype = "BYTES"; t.Data = []string{"1", "2", "3"} })), 400,
			fmt.Sprintf(`inputs[%d] "months_enrolled": datatype BYTES; months_enrolled takes whole numbers (INT64)`, n+1)},
		{"months_enrolled out of range", "", inputs(with("months_enrolled", func(t *v2Tensor) { t.Data = []int{1, 2, 5000} })), 400,
			fmt.Sprintf(`inputs[%d] "months_enrolled" row 2: months_enrolled must be between 0 and 1200, got 5000`, n+1)},
		{"months_enrolled as BOOL", "", inputs(with("months_enrolled", func(t *v2Tensor) { t.Datatype = "BOOL"; t.Data = []bool{true, true, false} })), 400,
			fmt.Sprintf(`inputs[%d] "months_enrolled" row 0: months_enrolled must be a whole number between 0 and 1200`, n+1)},
		{"tensor twice", "", inputs(append(good(), good()[sex])), 400,
			fmt.Sprintf(`inputs[%d] "sex": the name is also that of inputs[%d]`, n+3, sex)},
		{"tensor parameters", "", inputs(with("sex", func(t *v2Tensor) { t.Parameters = map[string]any{"content_type": "str"} })), 200, ""},
		{"binary tensor", "", inputs(with("sex", func(t *v2Tensor) { t.Parameters = map[string]any{"binary_data_size": 12} })), 400,
			fmt.Sprintf(`inputs[%d]: binary tensor data is not supported; send the values in data`, sex)},
		{"unknown tensor parameter", "", `{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1], "parameters": {"x": 1}}]}`, 400, `inputs[0].parameters.x is not a known parameter (tensors take content_type)`},
		{"horizon zero", "", body(map[string]any{"inputs": good(), "parameters": map[string]any{"horizon": 0}}), 400, "parameters.horizon must be between 1 and 120, got 0"},
		{"horizon fractional", "", body(map[string]any{"inputs": good(), "parameters": map[string]any{"horizon": 2.5}}), 400, "parameters.horizon must be a whole number between 1 and 120"},
		{"horizon as string", "", body(map[string]any{"inputs": good(), "parameters": map[string]any{"horizon": "6"}}), 400, "parameters.horizon must be a whole number between 1 and 120"},
		{"unknown parameter", "", body(map[string]any{"inputs": good(), "parameters": map[string]any{"horizn": 6}}), 400, "parameters.horizn is not a known parameter (this server takes horizon)"},
		{"request content_type", "", body(map[string]any{"inputs": good(), "parameters": map[string]any{"content_type": "pd", "horizon": 3}}), 200, ""},
		{"parameters not an object", "", body(map[string]any{"inputs": good(), "parameters": 6}), 400, "parameters must be a JSON object"},
		{"unknown output", "", body(map[string]any{"inputs": good(), "outputs": []any{map[string]any{"name": "hazard"}, map[string]any{"name": "risk"}}}), 400,
			`outputs[1] "risk" is not an output of model "engagement" (outputs: hazard, survival, expected_months, median_months, contributions, warnings)`},
		{"output twice", "", body(map[string]any{"inputs": good(), "outputs": []any{map[string]any{"name": "hazard"}, map[string]any{"name": "hazard"}}}), 400, `outputs[1] "hazard" is asked for more than once`},
		{"output without name", "", body(map[string]any{"inputs": good(), "outputs": []any{map[string]any{}}}), 400,
			"outputs[0].name is required: one of hazard, survival, expected_months, median_months, contributions, warnings"},
		{"outputs not an array", "", body(map[string]any{"inputs": good(), "outputs": "hazard"}), 400, `outputs must be an array of {"name": ...} objects`},
		{"binary output", "", body(map[string]any{"inputs": good(), "outputs": []any{map[string]any{"name": "hazard", "parameters": map[string]any{"binary_data": true}}}}), 400,
			"outputs[0]: binary tensor data is not supported; set binary_data to false"},

		// The model's own refusals: the text after the tensor and row is
		// what /api/engagement answers for that patient.
		{"value out of range", "", inputs(with("sessions_last_month", func(t *v2Tensor) { t.Data = []any{3, -2, 8} })), 400,
			fmt.Sprintf(`inputs[%d] "sessions_last_month" row 1: %s`, sessions, engagement(badPatient("sessions_last_month", -2)))},
		{"unseen level", "", inputs(with("sex", func(t *v2Tensor) { t.Data = []any{"F", "F", "X"} })), 400,
			fmt.Sprintf(`inputs[%d] "sex" row 2: %s`, sex, engagement(badPatient("sex", "X")))},
		{"null without imputation", "", inputs(with("age", func(t *v2Tensor) { t.Data = []any{54, nil, 33} })), 400,
			fmt.Sprintf(`inputs[%d] "age" row 1: %s`, age, engagement(badPatient("age", nil)))},
		{"missing tensor", "", inputs(without("age")), 400, `no input tensor "age": features.age is required`},
		{"unknown tensor", "", inputs(append(good(), v2Tensor{Name: "agee", Shape: []int{3}, Datatype: "FP64", Data: []int{1, 2, 3}})), 400,
			fmt.Sprintf(`inputs[%d] "agee": features.agee is not a feature of this model`, n+3)},
		{"only one tensor", "", `{"inputs": [` + tensor(good()) + `]}`, 400, `no input tensor "sex": features.sex is required`},
	}
	for _, c := range cases {
		ct := c.ct
		if ct == "" {
			ct = "application/json"
		}
		code, got := v2Do(t, srv, http.MethodPost, "/v2/models/engagement/infer", ct, []byte(c.body))
		if code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, code, got, c.code)
			continue
		}
		if c.code == 200 {
			continue
		}
		var e map[string]string
		if err := json.Unmarshal(got, &e); err != nil || len(e) != 1 || e["error"] != c.msg {
			t.Errorf("%s: %s\nwant {\"error\": %q}", c.name, got, c.msg)
		}
	}
}

// TestV2BatchCap: 1,000 patients are scored; 1,001 are refused with 400,
// as /api/engagement refuses them.
func TestV2BatchCap(t *testing.T) {
	srv, _ := testServer(t)
	m := testModel(t)
	patients := func(n int) []map[string]any {
		out := make([]map[string]any, n)
		for i := range out {
			out[i] = v2Patients[i%3]
		}
		return out
	}
	code, body := v2Infer(t, srv, "/v2/models/engagement/infer", map[string]any{"inputs": v2Columns(m, patients(1000), false), "parameters": map[string]any{"horizon": 1}, "outputs": []any{map[string]any{"name": "hazard"}}})
	if r := decodeV2Resp(t, body); code != 200 || !slices.Equal(r.Outputs[0].Shape, []int{1000, 1}) {
		t.Fatalf("1,000 patients: %d %.300s", code, body)
	}
	code, body = v2Infer(t, srv, "/v2/models/engagement/infer", map[string]any{"inputs": v2Columns(m, patients(1001), false)})
	if code != 400 || !strings.Contains(string(body), `"inputs[0] \"`+m.Inputs()[0].Name+`\": shape [1001] has 1001 rows; at most 1000 patients are scored per request"`) {
		t.Errorf("1,001 patients: %d %s", code, body)
	}
	insts, _ := json.Marshal(map[string]any{"instances": patients(1001)})
	if code, body := post(t, srv, string(insts)); code != 400 {
		t.Errorf("/api/engagement takes 1,001 patients: %d %.200s", code, body)
	}
}

// TestV2WrongMethod: the mux answers a wrong method on a V2 route.
func TestV2WrongMethod(t *testing.T) {
	srv, _ := testServer(t)
	resp, err := http.Get(srv.URL + "/v2/models/engagement/infer")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET infer: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// FuzzV2Infer: no request body makes the inference route fail with a 5xx
// or panic; every refusal is a V2 error body.
func FuzzV2Infer(f *testing.F) {
	m := testModel(f)
	h := NewHandler(Config{Model: m, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	good, _ := json.Marshal(map[string]any{"id": "x", "parameters": map[string]any{"horizon": 3}, "inputs": v2Columns(m, v2Patients, false),
		"outputs": []any{map[string]any{"name": "hazard"}, map[string]any{"name": "warnings"}}})
	nested, _ := json.Marshal(map[string]any{"inputs": v2Columns(m, v2Patients[:2], true)})
	f.Add(good)
	f.Add(nested)
	for _, s := range []string{
		``, `{}`, `null`, `{"inputs": []}`, `{"inputs": [{}]}`,
		`{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [54]}]}`,
		`{"inputs": [{"name": "age", "shape": [2, 1], "datatype": "INT8", "data": [[1], [2]]}]}`,
		`{"inputs": [{"name": "sex", "shape": [1], "datatype": "BYTES", "data": [null]}], "outputs": [{"name": "x"}]}`,
		`{"inputs": [{"name": "patient_id", "shape": [1], "datatype": "BYTES", "data": ["\u00e9"]}]}`,
		`{"inputs": [{"name": "age", "shape": [1e400], "datatype": "FP64", "data": [[]]}]}`,
		`{"inputs": [{"name": "", "shape": [], "datatype": "", "data": {}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/v2/models/engagement/infer", "/v2/models/engagement/versions/" + m.Version + "/infer"} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
			}
			if rec.Code == 200 {
				var r v2Resp
				if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.ModelVersion != m.Version || len(r.Outputs) == 0 {
					t.Fatalf("200 %s", rec.Body)
				}
				continue
			}
			var e map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e["error"] == "" || len(e) != 1 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
}

// TestV2ImportedModel: an imported scikit-learn model is described as
// platform sklearn, without contributions, and answers as
// /api/engagement does.
func TestV2ImportedModel(t *testing.T) {
	m, c := importedLungModel(t)
	srv := httptest.NewServer(NewHandler(Config{Model: m, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}))
	defer srv.Close()

	var meta wire.V2ModelMeta
	json.Unmarshal([]byte(must200(t, srv, "/v2/models/lung")), &meta)
	if meta.Platform != "sklearn" || len(meta.Inputs) != len(m.Inputs())+3 || slices.ContainsFunc(meta.Outputs, func(o wire.V2TensorMeta) bool { return o.Name == "contributions" }) {
		t.Errorf("metadata %+v", meta)
	}

	rows, err := c.Heldout(sklearnDir)
	if err != nil {
		t.Fatal(err)
	}
	var patients []map[string]any
	for _, row := range rows[:3] {
		feats := sklearnfixture.JSON(row)
		month := feats[c.PeriodColumn].(float64)
		delete(feats, c.PeriodColumn)
		patients = append(patients, map[string]any{"features": feats, "months_enrolled": month - 1, "horizon": 4})
	}
	b, _ := json.Marshal(map[string]any{"instances": patients})
	code, body := v2Do(t, srv, http.MethodPost, "/api/engagement", "application/json", b)
	var want wire.Answer
	if code != 200 || json.Unmarshal(body, &want) != nil {
		t.Fatalf("/api/engagement: %d %s", code, body)
	}
	var ts []v2Tensor
	for _, in := range m.Inputs() {
		col := v2Tensor{Name: in.Name, Shape: []int{3}, Datatype: "FP64"}
		var data []any
		for _, p := range patients {
			v := p["features"].(map[string]any)[in.Name]
			if _, ok := v.(string); ok {
				col.Datatype = "BYTES"
			}
			data = append(data, v)
		}
		col.Data = data
		ts = append(ts, col)
	}
	ts = append(ts, v2Tensor{Name: "months_enrolled", Shape: []int{3}, Datatype: "INT32",
		Data: []any{patients[0]["months_enrolled"], patients[1]["months_enrolled"], patients[2]["months_enrolled"]}})
	code, body = v2Infer(t, srv, "/v2/models/lung/infer", map[string]any{"inputs": ts, "parameters": map[string]any{"horizon": 4}})
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var hazard []float64
	decodeV2Resp(t, body).output(t, "hazard", &hazard)
	for i, p := range want.Predictions {
		for k := range 4 {
			if math.Float64bits(hazard[i*4+k]) != math.Float64bits(p.Hazard[k]) {
				t.Errorf("row %d month %d: %v, /api/engagement %v", i, k, hazard[i*4+k], p.Hazard[k])
			}
		}
	}
}
