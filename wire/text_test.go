package wire

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/caresignal/caresignal"
)

func TestTextProblem(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	for _, c := range []struct{ lit, want string }{
		{`""`, ""},
		{`"diabetes"`, ""},
		{`"Zürich"`, ""},
		{`"\u00e9\/\"\\"`, ""},
		{`"\ud83d\ude00"`, ""}, // U+1F600, a surrogate pair
		{`"😀"`, ""},
		{`"\u00a0"`, ""}, // after the C1 controls
		{`"` + long + `"`, ""},
		{`"` + long + `x"`, "is longer than 200 bytes"},
		{`"` + strings.Repeat(`\u00e9`, 101) + `"`, "is longer than 200 bytes"},
		{"\"a\xffb\"", "is not valid UTF-8"},
		{"\"\xed\xa0\x80\"", "is not valid UTF-8"}, // a surrogate written as UTF-8
		{`"a\ud800"`, "is not valid UTF-8 (it holds half of a surrogate pair)"},
		{`"a\ud800b"`, "is not valid UTF-8 (it holds half of a surrogate pair)"},
		{`"\ud800\u0041"`, "is not valid UTF-8 (it holds half of a surrogate pair)"},
		{`"\udc00\ud800"`, "is not valid UTF-8 (it holds half of a surrogate pair)"},
		{`"a\u0000"`, "holds a control character (U+0000)"},
		{`"\u001F"`, "holds a control character (U+001F)"},
		{`"a\nb"`, "holds a control character (U+000A)"},
		{`"\t"`, "holds a control character (U+0009)"},
		{`"\b\f\r"`, "holds a control character (U+0008)"},
		{"\"a\x7f\"", "holds a control character (U+007F)"},
		{`"\u007f"`, "holds a control character (U+007F)"},
		{"\"a\u0085\"", "holds a control character (U+0085)"},
		{`"\u009B"`, "holds a control character (U+009B)"},
		{"\"\u0080\"", "holds a control character (U+0080)"},
	} {
		if got := textProblem([]byte(c.lit), MaxStringBytes); got != c.want {
			t.Errorf("textProblem(%q) = %q, want %q", c.lit, got, c.want)
		}
	}
}

// Each decoder refuses bad text with an error naming the field.
func TestDecodersRefuseBadText(t *testing.T) {
	long := strings.Repeat("x", MaxStringBytes+1)
	type decoder func([]byte) error
	api := func(b []byte) error { _, err := DecodeRequest(b, testNames()); return err }
	v2 := func(b []byte) error { _, err := DecodeV2(b); return err }
	inv := func(b []byte) error { _, err := DecodeInvocations(b); return err }
	for _, c := range []struct {
		name   string
		decode decoder
		body   string
		field  string
	}{
		{"api patient_id NUL", api, `{"patient_id": "a\u0000", "features": {"age": 1}}`, "patient_id"},
		{"api patient_id 201 bytes", api, `{"patient_id": "` + long + `", "features": {"age": 1}}`, "patient_id"},
		{"api category DEL", api, "{\"features\": {\"program\": \"a\x7f\"}}", "features.program"},
		{"api category C1", api, "{\"features\": {\"program\": \"a\u0085\"}}", "features.program"},
		{"api category 201 bytes", api, `{"features": {"program": "` + long + `"}}`, "features.program"},
		{"api category invalid UTF-8", api, "{\"instances\": [{\"features\": {}}, {\"features\": {\"program\": \"\xff\"}}]}", "instances[1].features.program"},
		{"api feature name NUL", api, `{"features": {"a\u0000": 1}}`, "features"},
		{"api feature name 201 bytes", api, `{"features": {"` + long + `": 1}}`, "features"},
		{"api feature name in a batch", api, "{\"instances\": [{\"features\": {\"a\x7f\": 1}}]}", "instances[0].features"},
		{"api top-level key", api, "{\"features\": {}, \"\xff\": 1}", ""},
		{"v2 BYTES NUL", v2, `{"inputs": [{"name": "program", "shape": [2], "datatype": "BYTES", "data": ["a", "b\u0000"]}]}`, "inputs[0].data"},
		{"v2 BYTES 201 bytes", v2, `{"inputs": [{"name": "program", "shape": [1], "datatype": "BYTES", "data": ["` + long + `"]}]}`, "inputs[0].data"},
		{"v2 patient_id invalid UTF-8", v2, "{\"inputs\": [{\"name\": \"patient_id\", \"shape\": [1], \"datatype\": \"BYTES\", \"data\": [\"\xff\"]}]}", "inputs[0].data"},
		{"v2 name C1", v2, `{"inputs": [{"name": "age\u0085", "shape": [1], "datatype": "FP64", "data": [1]}]}`, "inputs[0].name"},
		{"v2 name 201 bytes", v2, `{"inputs": [{"name": "` + long + `", "shape": [1], "datatype": "FP64", "data": [1]}]}`, "inputs[0].name"},
		{"v2 id NUL", v2, `{"id": "\u0000", "inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1]}]}`, "id"},
		{"v2 datatype", v2, `{"inputs": [{"name": "age", "shape": [1], "datatype": "` + long + `", "data": [1]}]}`, "inputs[0].datatype"},
		{"v2 output name", v2, `{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1]}], "outputs": [{"name": "\u0007"}]}`, "outputs[0].name"},
		{"v2 content type", v2, `{"parameters": {"content_type": "\u0000"}, "inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1]}]}`, "parameters.content_type"},
		{"v2 tensor key", v2, `{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1], "\u0000": 1}]}`, "inputs[0]"},
		{"invocations record NUL", inv, `{"instances": [{"month": 1, "program": "a\u0000"}]}`, "instances[0].program"},
		{"invocations record invalid UTF-8", inv, "{\"dataframe_records\": [{\"month\": 1, \"program\": \"\xff\"}]}", "dataframe_records[0].program"},
		{"invocations split cell", inv, `{"dataframe_split": {"columns": ["month", "program"], "data": [[1, "a"], [2, "` + long + `"]]}}`, "dataframe_split.data[1][1]"},
		{"invocations split column", inv, `{"dataframe_split": {"columns": ["month", "a\u0085"], "data": [[1, "a"]]}}`, "dataframe_split.columns[1]"},
		{"invocations column of values", inv, `{"inputs": {"month": [1], "program": ["\ud800"]}}`, "inputs.program[0]"},
		{"invocations record key", inv, `{"instances": [{"month": 1, "` + long + `": 1}]}`, "instances[0]"},
	} {
		err := c.decode([]byte(c.body))
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if caresignal.ErrorCode(err) != caresignal.EINVALID || caresignal.ErrorField(err) != c.field {
			t.Errorf("%s: %v (field %q), want EINVALID naming %q", c.name, err, caresignal.ErrorField(err), c.field)
		}
		msg := caresignal.ErrorMessage(err)
		if !strings.Contains(msg, "UTF-8") && !strings.Contains(msg, "control character") && !strings.Contains(msg, "longer than") {
			t.Errorf("%s: %q does not say what is wrong", c.name, msg)
		}
		if strings.Contains(msg, long) || strings.ContainsAny(msg, "\x00\x07\x7f\u0085") || strings.Contains(msg, "\xff") {
			t.Errorf("%s: the message echoes the string: %q", c.name, msg)
		}
	}
}

// FuzzTextProblem holds textProblem to encoding/json's reading of the
// string: what it accepts decodes to valid text within the limit, and
// what decodes to such text without a U+FFFD (which is how encoding/json
// reads invalid UTF-8 and lone surrogates) it accepts.
func FuzzTextProblem(f *testing.F) {
	for _, s := range []string{`abc`, `\u00e9\ud83d\ude00`, `\ud800`, "\xff", "\x7f", `\u0085`, "\u0085", `\\ufffd`, "\uFFFD", `\n`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lit := append(append([]byte{'"'}, b...), '"')
		var s string
		if !json.Valid(lit) || json.Unmarshal(lit, &s) != nil {
			return
		}
		good := acceptedText(s, MaxStringBytes) && utf8.Valid(lit)
		replaced := strings.ContainsRune(s, utf8.RuneError)
		problem := textProblem(lit, MaxStringBytes)
		lower := strings.ToLower(string(lit))
		if problem == "" && (!good || replaced && !strings.ContainsRune(lower, utf8.RuneError) && !strings.Contains(lower, `ufffd`)) {
			t.Fatalf("textProblem accepts %q, read as %q", lit, s)
		}
		if problem != "" && good && !replaced {
			t.Fatalf("textProblem refuses %q (%s), read as %q", lit, problem, s)
		}
	})
}
