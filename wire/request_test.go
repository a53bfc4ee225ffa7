package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/modeltest"
)

// FuzzEachField checks the object scanner against encoding/json: on any
// valid JSON object without repeated keys, and whose keys are all text the
// API accepts, it must find the same keys with the same values.
func FuzzEachField(f *testing.F) {
	f.Add([]byte(`{"a": 1, "b": [1, {"c": "}"}], "d\\"": "x\\"y", "e": {"f": null}}`))
	f.Add([]byte(`{ }`))
	f.Add([]byte(`{"\u0061": true,"b":-1.5e3}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var want map[string]json.RawMessage
		if !json.Valid(body) || json.Unmarshal(body, &want) != nil || want == nil {
			return
		}
		got := map[string]string{}
		err := eachField(body, "", func(key string, val []byte) error {
			got[key] = string(val)
			return nil
		})
		if err != nil {
			// Repeated keys are refused, and so are keys that are empty
			// or not text the API accepts (textProblem).
			if strings.Contains(err.Error(), "more than once") || strings.Contains(err.Error(), "has a key that") {
				return
			}
			t.Fatalf("eachField(%q): %v", body, err)
		}
		if len(got) != len(want) {
			t.Fatalf("eachField(%q) found %d keys, encoding/json %d", body, len(got), len(want))
		}
		for k, v := range want {
			var a, b bytes.Buffer
			json.Compact(&a, v)
			json.Compact(&b, []byte(got[k]))
			if a.String() != b.String() {
				t.Fatalf("key %q: eachField %q, encoding/json %q", k, got[k], v)
			}
		}
	})
}

// FuzzDecodeRequest feeds arbitrary bodies to the API decoder: it must
// return instances within the limits, or an error naming what is wrong —
// never panic.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"features": ` + modeltest.Features + `}`))
	f.Add([]byte(`{"instances": [{"patient_id": "a", "features": {"age": null}, "horizon": 3}]}`))
	f.Add([]byte(`{"features": {"age": 1e400}, "months_enrolled": -0}`))
	f.Add([]byte("{\"patient_id\": \"a\\u0000\", \"features\": {\"sex\": \"\xc2\x85\", \"a\x7f\": \"\\ud800\"}}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body, nil)
		if err != nil {
			if caresignal.ErrorCode(err) != caresignal.EINVALID {
				t.Fatalf("error without EINVALID code: %v", err)
			}
			return
		}
		insts := req.Instances
		if len(insts) < 1 || len(insts) > caresignal.MaxInstances {
			t.Fatalf("%d instances", len(insts))
		}
		for _, in := range insts {
			if !acceptedText(in.PatientID, MaxPatientIDBytes) {
				t.Fatalf("patient_id %q accepted", in.PatientID)
			}
			for name, v := range in.Features {
				if !acceptedText(name, MaxStringBytes) || v.Kind == caresignal.String && !acceptedText(v.Str, MaxStringBytes) {
					t.Fatalf("feature %q = %q accepted", name, v.Str)
				}
			}
			if in.Features == nil || in.Horizon < 1 || in.Horizon > caresignal.MaxHorizon || in.MonthsEnrolled < 0 || in.MonthsEnrolled > caresignal.MaxMonthsEnrolled {
				t.Fatalf("instance out of bounds: %+v", in)
			}
		}
	})
}

// acceptedText reports whether s is text the API may accept: valid UTF-8,
// no control character, at most limit bytes.
func acceptedText(s string, limit int) bool {
	return len(s) <= limit && utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}
