package wire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
)

const goodFeatures = `{"age": 54, "sex": "F", "program": "diabetes", "channel": "app", "baseline_score": 0.62, "prior_no_shows": 1, "enrolled_via": "referral", "sessions_last_month": 3, "days_since_last_session": 6, "messages_last_month": 4}`

const benchSingle = `{"patient_id": "P0012345", "features": ` + goodFeatures + `, "horizon": 12}`

// benchBatch100 is a batch of 100 patients at various months.
func benchBatch100() string {
	var sb strings.Builder
	sb.WriteString(`{"instances": [`)
	for i := range 100 {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(`{"patient_id": "P` + strconv.Itoa(1000+i) + `", "features": ` + goodFeatures + `, "months_enrolled": ` + strconv.Itoa(i%7) + `, "horizon": 12}`)
	}
	sb.WriteString(`]}`)
	return sb.String()
}

// FuzzEachField checks the object scanner against encoding/json: on any
// valid JSON object without repeated keys it must find the same keys with
// the same values.
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
			if strings.Contains(err.Error(), "more than once") {
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
	f.Add([]byte(`{"features": ` + goodFeatures + `}`))
	f.Add([]byte(`{"instances": [{"patient_id": "a", "features": {"age": null}, "horizon": 3}]}`))
	f.Add([]byte(`{"features": {"age": 1e400}, "months_enrolled": -0}`))
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
			if in.Features == nil || in.Horizon < 1 || in.Horizon > caresignal.MaxHorizon || in.MonthsEnrolled < 0 || in.MonthsEnrolled > caresignal.MaxMonthsEnrolled {
				t.Fatalf("instance out of bounds: %+v", in)
			}
		}
	})
}
