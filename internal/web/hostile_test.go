package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/wire"
)

// The hostile catalogue: adversarial request bodies, one file each in
// testdata/hostile (see its README.txt), plus the large ones built below
// rather than committed. Each goes to POST /api/engagement and to POST
// /invocations through the real handler, and must get exactly the status in
// hostileCases: never a 5xx, never a 200 for a malformed body, a JSON error
// that says something, and neither the error text nor the server log may
// carry the patient id or the feature values the bodies use.

// Markers the bodies use: the patient id and distinctive feature values. A
// 200 answer may echo the patient id (it is the caller's own); error text
// and the log never may.
var hostileMarkers = []string{"PHOSTILE-9931", "VHOSTILE-4417", "47.1337", "9931.5", "0.6173"}

var timeField = regexp.MustCompile(`"time":"[^"]*"`)

// hostileWant is the expected answer to one body on each route.
type hostileWant struct {
	api, inv int    // status from POST /api/engagement and POST /invocations
	ct       string // Content-Type sent; "" is application/json, "-" none
	encoding string // Content-Encoding sent, if any
	field    string // the "field" of the API's error, when checked
}

const (
	st200         = http.StatusOK
	st400         = http.StatusBadRequest
	st413         = http.StatusRequestEntityTooLarge
	st415         = http.StatusUnsupportedMediaType
	noContentType = "-"
)

// hostileCases holds the expectation of every file in testdata/hostile.
// Bodies shaped for one route are malformed on the other. A 200 marks a body
// that is odd but valid.
var hostileCases = map[string]hostileWant{
	// Structure and nesting.
	"deeply_nested_array_in_feature.json":    {api: st400, inv: st400},
	"deeply_nested_unknown_field.json":       {api: st400, inv: st400},
	"features_as_array.json":                 {api: st400, inv: st400},
	"features_as_string.json":                {api: st400, inv: st400},
	"feature_value_object.json":              {api: st400, inv: st400},
	"instances_nested_array.json":            {api: st400, inv: st400},
	"instances_null_element.json":            {api: st400, inv: st400},
	"instances_as_string.json":               {api: st400, inv: st400},
	"top_level_array_of_patients.json":       {api: st400, inv: st400},
	"top_level_string.json":                  {api: st400, inv: st400},
	"top_level_number.json":                  {api: st400, inv: st400},
	"null_body.json":                         {api: st400, inv: st400},
	"empty_body.json":                        {api: st400, inv: st400},
	"whitespace_only_body.json":              {api: st400, inv: st400},
	"prototype_pollution_keys.json":          {api: st400, inv: st400},
	"features_all_null.json":                 {api: st400, inv: st400},
	"batch_second_instance_horizon_1e9.json": {api: st400, inv: st400},

	// Duplicate keys: the API refuses them; /invocations decodes with
	// encoding/json, where the last one wins.
	"duplicate_patient_id.json":                 {api: st400, inv: st400},
	"duplicate_feature_via_unicode_escape.json": {api: st400, inv: st400},
	"duplicate_features_object.json":            {api: st400, inv: st400},
	"duplicate_instances_key.json":              {api: st400, inv: st400},
	"invocations_duplicate_instances_key.json":  {api: st400, inv: st400},

	// Not JSON, or JSON with something around it.
	"nan_literal_in_third_instance.json": {api: st400, inv: st400},
	"negative_infinity_literal.json":     {api: st400, inv: st400},
	"number_leading_zero.json":           {api: st400, inv: st400},
	"number_hex.json":                    {api: st400, inv: st400},
	"number_plus_sign.json":              {api: st400, inv: st400},
	"utf8_bom.json":                      {api: st400, inv: st400},
	"utf16le_with_bom.bin":               {api: st400, inv: st400},
	"trailing_garbage.json":              {api: st400, inv: st400},
	"trailing_nul_byte.bin":              {api: st400, inv: st400},
	"xssi_prefix.json":                   {api: st400, inv: st400},
	"javascript_comment.json":            {api: st400, inv: st400},
	"single_quoted_strings.json":         {api: st400, inv: st400},
	"raw_newline_in_string.json":         {api: st400, inv: st400},
	"form_feed_between_tokens.json":      {api: st400, inv: st400},
	"whitespace_heavy.json":              {api: st200, inv: st400},

	// Numbers at and past the limits.
	"number_1e400_feature.json":          {api: st400, inv: st400},
	"number_1e400_months_enrolled.json":  {api: st400, inv: st400},
	"number_400_digits.json":             {api: st400, inv: st400},
	"number_5000_digit_mantissa.json":    {api: st200, inv: st400},
	"number_underflow_1e-400.json":       {api: st200, inv: st400}, // parses as 0
	"months_enrolled_negative_zero.json": {api: st200, inv: st400},
	"months_enrolled_minus_one.json":     {api: st400, inv: st400},
	"months_enrolled_2pow53_plus_1.json": {api: st400, inv: st400},
	"months_enrolled_as_string.json":     {api: st400, inv: st400},
	"months_and_horizon_at_limits.json":  {api: st200, inv: st400},
	"horizon_negative.json":              {api: st400, inv: st400},
	"horizon_1e9.json":                   {api: st400, inv: st400},
	"horizon_1e9_exponent.json":          {api: st400, inv: st400},
	"horizon_exponent_form_12.json":      {api: st200, inv: st400},
	"horizon_just_above_120.json":        {api: st400, inv: st400},
	"horizon_rounds_to_120.json":         {api: st200, inv: st400}, // 120.000000000000001 is the float 120
	"horizon_boolean.json":               {api: st400, inv: st400},
	"horizon_array.json":                 {api: st400, inv: st400},

	// Strings: encodings, escapes, control characters, lengths.
	// Every string must be valid UTF-8 without control characters (C0,
	// DEL, C1; raw or escaped) and at most 200 bytes once unescaped.
	"invalid_utf8_in_patient_id.bin":                     {api: st400, inv: st400, field: "patient_id"},
	"invalid_utf8_in_feature_name.bin":                   {api: st400, inv: st400, field: "features"},
	"invalid_utf8_in_category.bin":                       {api: st400, inv: st400, field: "features.sex"},
	"invalid_utf8_in_program.bin":                        {api: st400, inv: st400, field: "features.program"},
	"patient_id_escaped_control_chars.json":              {api: st400, inv: st400, field: "patient_id"},
	"patient_id_lone_surrogate_escape.json":              {api: st400, inv: st400, field: "patient_id"},
	"patient_id_lone_low_surrogate_escape.json":          {api: st400, inv: st400, field: "patient_id"},
	"patient_id_surrogate_pair_escape.json":              {api: st200, inv: st400}, // U+1F600, a character
	"patient_id_nul_escape.json":                         {api: st400, inv: st400, field: "patient_id"},
	"patient_id_c1_escape.json":                          {api: st400, inv: st400, field: "patient_id"},
	"category_nul_escape.json":                           {api: st400, inv: st400, field: "features.program"},
	"category_escaped_newline.json":                      {api: st400, inv: st400, field: "features.program"},
	"category_escaped_c1.json":                           {api: st400, inv: st400, field: "features.program"},
	"category_raw_del.bin":                               {api: st400, inv: st400, field: "features.program"},
	"category_raw_c1_csi.bin":                            {api: st400, inv: st400, field: "features.program"},
	"category_200_bytes_at_limit.json":                   {api: st400, inv: st400, field: "features.program"}, // the decoder takes it; the model knows no such program
	"category_201_bytes.json":                            {api: st400, inv: st400, field: "features.program"},
	"category_201_bytes_after_unescape.json":             {api: st400, inv: st400, field: "features.program"},
	"batch_third_patient_id_nul_escape.json":             {api: st400, inv: st400, field: "instances[2].patient_id"},
	"batch_third_category_raw_del.bin":                   {api: st400, inv: st400, field: "instances[2].features.program"},
	"feature_name_with_del.bin":                          {api: st400, inv: st400, field: "features"},
	"feature_name_201_bytes.json":                        {api: st400, inv: st400, field: "features"},
	"feature_name_escaped_newline.json":                  {api: st400, inv: st400, field: "features"},
	"invocations_record_nul_in_category.json":            {api: st400, inv: st400},
	"invocations_record_invalid_utf8_program.bin":        {api: st400, inv: st400},
	"invocations_record_raw_c1_in_category.bin":          {api: st400, inv: st400},
	"invocations_record_category_201_bytes.json":         {api: st400, inv: st400},
	"invocations_record_lone_surrogate_in_category.json": {api: st400, inv: st400},
	"invocations_split_nul_in_cell.json":                 {api: st400, inv: st400},
	"patient_id_201_bytes_multibyte.json":                {api: st400, inv: st400},
	"patient_id_201_bytes_after_unescape.json":           {api: st400, inv: st400},
	"patient_id_object.json":                             {api: st400, inv: st400},
	"patient_id_array.json":                              {api: st400, inv: st400},
	"patient_id_boolean.json":                            {api: st400, inv: st400},
	"unicode_escaped_known_values.json":                  {api: st200, inv: st400},
	"long_feature_name_15k.json":                         {api: st400, inv: st400, field: "features"},
	"long_top_level_key_15k.json":                        {api: st400, inv: st400, field: ""},
	"empty_feature_name.json":                            {api: st400, inv: st400}, // "features has a key that is empty"
	"empty_top_level_key.json":                           {api: st400, inv: st400}, // "the request body has a key that is empty"
	"feature_name_with_nul_escape.json":                  {api: st400, inv: st400, field: "features"},
	"feature_name_upper_case.json":                       {api: st400, inv: st400},
	"many_unknown_features_1000.json":                    {api: st400, inv: st400},

	// Content types and encodings. Both routes take application/json (or
	// none) only.
	"content_type_text_plain.json":         {api: st415, inv: st415, ct: "text/plain"},
	"content_type_form_urlencoded.json":    {api: st415, inv: st415, ct: "application/x-www-form-urlencoded"},
	"content_type_missing.json":            {api: st200, inv: st400, ct: noContentType},
	"content_type_jsonp_prefix_match.json": {api: st415, inv: st415, ct: "application/jsonp"}, // not application/json, whatever its prefix
	"content_type_xml.xml":                 {api: st415, inv: st415, ct: "application/xml"},
	"content_type_multipart.txt":           {api: st415, inv: st415, ct: "multipart/form-data; boundary=XBOUNDARY"},
	"content_type_utf16_declared.bin":      {api: st400, inv: st400, ct: "application/json; charset=utf-16"},
	"content_encoding_gzip.gz":             {api: st400, inv: st400, encoding: "gzip"},

	// Bodies shaped for POST /invocations.
	"invocations_month_1201_at_limit.json":        {api: st400, inv: st200},
	"invocations_month_1202.json":                 {api: st400, inv: st400},
	"invocations_month_fraction.json":             {api: st400, inv: st400},
	"invocations_month_string.json":               {api: st400, inv: st400},
	"invocations_month_1e400.json":                {api: st400, inv: st400},
	"invocations_month_negative_zero.json":        {api: st400, inv: st400},
	"invocations_month_null.json":                 {api: st400, inv: st400},
	"invocations_feature_1e400.json":              {api: st400, inv: st400},
	"invocations_nan_in_dataframe_split.json":     {api: st400, inv: st400},
	"invocations_split_duplicate_columns.json":    {api: st400, inv: st400},
	"invocations_split_ragged_rows.json":          {api: st400, inv: st400},
	"invocations_split_columns_not_strings.json":  {api: st400, inv: st400},
	"invocations_split_unknown_field.json":        {api: st400, inv: st400},
	"invocations_split_data_object.json":          {api: st400, inv: st400},
	"invocations_inputs_ragged_columns.json":      {api: st400, inv: st400},
	"invocations_inputs_empty_object.json":        {api: st400, inv: st400},
	"invocations_instances_null.json":             {api: st400, inv: st400},
	"invocations_record_with_patient_id.json":     {api: st400, inv: st400},
	"invocations_record_value_object.json":        {api: st400, inv: st400},
	"invocations_record_deeply_nested_value.json": {api: st400, inv: st400},
	"invocations_record_unseen_category.json":     {api: st400, inv: st400},
	"invocations_empty_record.json":               {api: st400, inv: st400},
	"invocations_key_case_variant.json":           {api: st400, inv: st400},
	"invocations_utf8_bom.json":                   {api: st400, inv: st400},
	"invocations_trailing_garbage.json":           {api: st400, inv: st400},
	"invocations_records_and_split.json":          {api: st400, inv: st400},
}

// hostilePatient is a valid patient carrying the markers.
const hostilePatient = `{"patient_id": "PHOSTILE-9931", "features": {"age": 47.1337, "sex": "F", "program": "weight", "channel": "app", "baseline_score": 0.6173, "prior_no_shows": 1, "enrolled_via": "referral", "sessions_last_month": 3, "days_since_last_session": 9931.5, "messages_last_month": 4}}`

// hostileGenerated are the cases too large to commit, built here.
func hostileGenerated() []struct {
	name string
	body []byte
	want hostileWant
} {
	withPatientID := func(id string) []byte {
		return []byte(strings.Replace(hostilePatient, "PHOSTILE-9931", id, 1))
	}
	withFeature := func(old, new string) []byte {
		return []byte(strings.Replace(hostilePatient, old, new, 1))
	}
	repeat := func(prefix, elem, sep, suffix string, n int) []byte {
		var b bytes.Buffer
		b.WriteString(prefix)
		for i := range n {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(elem)
		}
		b.WriteString(suffix)
		return b.Bytes()
	}
	exactly := func(n int) []byte { // a valid patient padded with spaces to n bytes
		b := []byte(hostilePatient)
		return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
	}
	manyNames := func(n int) []byte {
		var b bytes.Buffer
		for i := range n {
			fmt.Fprintf(&b, `, "f%d": 1`, i)
		}
		return withFeature(`"age": 47.1337`, `"age": 47.1337`+b.String())
	}
	return []struct {
		name string
		body []byte
		want hostileWant
	}{
		{"patient_id of 10 MB", withPatientID("PHOSTILE-9931" + strings.Repeat("x", 10<<20)), hostileWant{api: st413, inv: st413}},
		{"category of 10 MB", withFeature(`"program": "weight"`, `"program": "`+strings.Repeat("V", 10<<20)+`"`), hostileWant{api: st413, inv: st413}},
		{"a program the model does not know", withFeature(`"program": "weight"`, `"program": "VHOSTILE-4417"`), hostileWant{api: st400, inv: st400}},
		{"100k empty instances", repeat(`{"instances": [`, `{}`, `,`, `]}`, 100_000), hostileWant{api: st400, inv: st400}},
		{"100k invocation records", repeat(`{"instances": [`, `{"month": 1}`, `,`, `]}`, 100_000), hostileWant{api: st400, inv: st400}},
		{"10001 dataframe_split rows", repeat(`{"dataframe_split": {"columns": ["month"], "data": [`, `[1]`, `,`, `]}}`, wire.MaxRecords+1), hostileWant{api: st400, inv: st400}},
		{"nesting depth 100k", withFeature(`"age": 47.1337`, `"age": `+strings.Repeat("[", 100_000)+strings.Repeat("]", 100_000)), hostileWant{api: st400, inv: st400}},
		{"object nesting depth 100k", repeat(``, `{"a":`, ``, `1`+strings.Repeat("}", 100_000), 100_000), hostileWant{api: st400, inv: st400}},
		{"feature name of 1 MB", withFeature(`"age": 47.1337`, `"age": 47.1337, "`+strings.Repeat("n", 1<<20)+`": 1`), hostileWant{api: st400, inv: st400}},
		{"5000 unknown feature names", manyNames(5000), hostileWant{api: st400, inv: st400}},
		{"body of exactly wire.MaxBodyBytes", exactly(wire.MaxBodyBytes), hostileWant{api: st200, inv: st400}},
		{"body of wire.MaxBodyBytes+1", exactly(wire.MaxBodyBytes + 1), hostileWant{api: st413, inv: st413}},
		{"1000 patients at horizon 120", repeat(`{"instances": [`, strings.Replace(hostilePatient, `}}`, `}, "horizon": 120}`, 1), `,`, `]}`, caresignal.MaxInstances), hostileWant{api: st200, inv: st400}},
	}
}

func TestHostileRequests(t *testing.T) {
	srv, logs := testServer(t)
	h := srv.Config.Handler // served in process: no sockets, so large bodies behave the same everywhere
	dir := filepath.Join("testdata", "hostile")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	type hostileCase struct {
		name string
		body []byte
		want hostileWant
	}
	var cases []hostileCase
	for _, e := range entries {
		if e.IsDir() || e.Name() == "README.txt" {
			continue
		}
		want, ok := hostileCases[e.Name()]
		if !ok {
			t.Errorf("%s: no expectation in hostileCases", e.Name())
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if len(body) >= 20<<10 {
			t.Errorf("%s: %d bytes; build bodies of 20 KB or more in hostileGenerated", e.Name(), len(body))
		}
		cases = append(cases, hostileCase{e.Name(), body, want})
	}
	for name := range hostileCases {
		if !slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == name }) {
			t.Errorf("hostileCases lists %s, which is not in %s", name, dir)
		}
	}
	for _, g := range hostileGenerated() {
		cases = append(cases, hostileCase{"generated: " + g.name, g.body, g.want})
	}

	requests := 0
	for _, c := range cases {
		for _, route := range []struct {
			path string
			want int
		}{{"/api/engagement", c.want.api}, {"/invocations", c.want.inv}} {
			req := httptest.NewRequest(http.MethodPost, route.path, bytes.NewReader(c.body))
			switch c.want.ct {
			case "":
				req.Header.Set("Content-Type", "application/json")
			case noContentType:
			default:
				req.Header.Set("Content-Type", c.want.ct)
			}
			if c.want.encoding != "" {
				req.Header.Set("Content-Encoding", c.want.encoding)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			requests++
			checkHostileAnswer(t, c.name, route.path, route.want, rec)
			if route.path == "/api/engagement" && c.want.field != "" {
				var e wire.ErrorBody
				json.Unmarshal(rec.Body.Bytes(), &e)
				if e.Field != c.want.field {
					t.Errorf("%s → POST /api/engagement: field %q, want %q", c.name, hostileExcerpt(e.Field), c.want.field)
				}
			}
		}
	}

	log := logs.String()
	// Timestamps are the server's own, and a nanosecond fraction can
	// spell a marker ("…:10.6173…"): look past them.
	untimed := timeField.ReplaceAllString(log, `"time":""`)
	for _, m := range hostileMarkers {
		if strings.Contains(untimed, m) {
			t.Errorf("the server log carries %q from a request body", m)
		}
	}
	if strings.Contains(log, `"level":"ERROR"`) || strings.Contains(log, `"status":5`) {
		t.Errorf("the server logged an error or a 5xx for a hostile body:\n%s", hostileExcerpt(log))
	}
	if n := strings.Count(log, `"msg":"request"`); n != requests {
		t.Errorf("%d request log lines for %d requests", n, requests)
	}
}

func checkHostileAnswer(t *testing.T, name, path string, want int, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.Bytes()
	where := fmt.Sprintf("%s → POST %s", name, path)
	if rec.Code >= 500 {
		t.Errorf("%s: status %d (a server error): %s", where, rec.Code, hostileExcerpt(string(body)))
		return
	}
	if rec.Code != want {
		t.Errorf("%s: status %d, want %d: %s", where, rec.Code, want, hostileExcerpt(string(body)))
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", where, ct)
	}
	if !json.Valid(body) {
		t.Errorf("%s: the body is not JSON: %s", where, hostileExcerpt(string(body)))
		return
	}
	if rec.Code == http.StatusOK {
		checkHostileScores(t, where, path, body)
		return
	}
	// The API answers {"error", "field"}; /invocations, MLflow's
	// {"error_code", "message"}.
	var e struct {
		Error     string `json:"error"`
		Field     string `json:"field"`
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	json.Unmarshal(body, &e)
	text := e.Error + " " + e.Field
	if path == "/invocations" {
		text = e.Message
		if e.ErrorCode != "BAD_REQUEST" {
			t.Errorf("%s: error_code %q, want BAD_REQUEST", where, e.ErrorCode)
		}
	}
	if strings.TrimSpace(text) == "" {
		t.Errorf("%s: the error says nothing: %s", where, hostileExcerpt(string(body)))
	}
	for _, m := range hostileMarkers {
		if strings.Contains(text, m) {
			t.Errorf("%s: the error echoes %q from the body: %s", where, m, hostileExcerpt(text))
		}
	}
}

// checkHostileScores checks that a 200 to an odd body holds probabilities.
func checkHostileScores(t *testing.T, where, path string, body []byte) {
	t.Helper()
	var hazards []float64
	if path == "/invocations" {
		var r struct{ Predictions []float64 }
		if err := json.Unmarshal(body, &r); err != nil || len(r.Predictions) == 0 {
			t.Errorf("%s: 200 without predictions: %s", where, hostileExcerpt(string(body)))
		}
		hazards = r.Predictions
	} else {
		var r wire.Answer
		if err := json.Unmarshal(body, &r); err != nil || len(r.Predictions) == 0 {
			t.Errorf("%s: 200 without predictions: %s", where, hostileExcerpt(string(body)))
		}
		for _, p := range r.Predictions {
			hazards = append(hazards, p.Hazard...)
			hazards = append(hazards, p.Survival...)
		}
	}
	for _, h := range hazards {
		if !(h >= 0 && h <= 1) || math.IsNaN(h) {
			t.Errorf("%s: probability %v", where, h)
			return
		}
	}
}

// hostileExcerpt shortens s for a failure message.
func hostileExcerpt(s string) string {
	if len(s) > 300 {
		return fmt.Sprintf("%s… (%d bytes)", s[:300], len(s))
	}
	return s
}
