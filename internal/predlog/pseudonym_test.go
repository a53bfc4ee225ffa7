package predlog

import "testing"

// TestPseudonymiseInputs: only the top-level patient_id string changes;
// anything else, or anything that is not such an object, stays as it is.
func TestPseudonymiseInputs(t *testing.T) {
	for in, want := range map[string]string{
		`{"patient_id":"P1","features":{"a":1}}`:                           `{"patient_id":"h:x","features":{"a":1}}`,
		`{ "features" : {"patient_id": "inner"} , "patient_id"  :  "P1" }`: `{ "features" : {"patient_id": "inner"} , "patient_id"  :  "h:x" }`,
		`{"features":{"a":1}}`:                                             `{"features":{"a":1}}`,
		`{"patient_id": 12}`:                                               `{"patient_id": 12}`,
		`[1, 2]`:                                                           `[1, 2]`,
		`{"patient_id": "P\"1", "x": [1,2]}`:                               `{"patient_id": "h:x", "x": [1,2]}`,
		`not json`:                                                         `not json`,
	} {
		if got := string(pseudonymiseInputs([]byte(in), "h:x")); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}
