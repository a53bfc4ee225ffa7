package wire

import (
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
)

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

// TestStoredPseudonyms: with a key, the patient id is replaced by a keyed
// hash, the same for the same id, in the row and in the inputs; without,
// it is kept.
func TestStoredPseudonyms(t *testing.T) {
	key := []byte("a-secret-of-some-length")
	r := Record{Route: "POST /api/engagement", PatientID: "P000000",
		Inputs: []byte(`{"features": {"age": 54, "note": "patient_id"},  "patient_id" : "P000000", "horizon": 3}`)}
	a, b := r.Stored(key), r.Stored(key)
	want := `{"features": {"age": 54, "note": "patient_id"},  "patient_id" : "` + Pseudonym(key, "P000000") + `", "horizon": 3}`
	if string(a.Inputs) != want {
		t.Errorf("stored inputs %s\nwant %s", a.Inputs, want)
	}
	if a.PatientID != b.PatientID || !strings.HasPrefix(a.PatientID, "h:") || strings.Contains(a.PatientID, "P000000") {
		t.Errorf("stored ids %q, %q", a.PatientID, b.PatientID)
	}
	if a.ID == b.ID || a.ID == "" {
		t.Errorf("ids %q and %q", a.ID, b.ID)
	}
	if plain := r.Stored(nil); plain.PatientID != "P000000" || string(plain.Inputs) != string(r.Inputs) {
		t.Errorf("without a key: %q %s", plain.PatientID, plain.Inputs)
	}
}

// TestRecordRoundTrip: Read gives back what Stored was given, the shadow
// marker and the kind included.
func TestRecordRoundTrip(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	outputs, err := AppendOutputs(nil, []float64{0.1, 1e-7}, 1.9)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []Record{
		{ID: "a", At: at, Model: caresignal.ModelInfo{Name: "m", Version: "v"}, Route: "POST /api/engagement", RequestID: "r", PatientID: "p", Inputs: []byte(`{}`), FeaturesHash: "f", Outputs: outputs},
		{ID: "b", At: at, Route: "POST /api/engagement", Shadow: true, Outputs: outputs},
		{ID: "c", At: at, Route: "POST /invocations", Outputs: outputs},
		{ID: "d", At: at, Route: ScoreRoute, RequestID: ScoreRunID(at, at), Outputs: outputs},
	} {
		row := r.Stored(nil)
		got := Read(&row)
		if got.Route != r.Route || got.Shadow != r.Shadow || got.Kind() != r.Kind() || got.ID != r.ID || got.Model != r.Model || got.PatientID != r.PatientID || got.FeaturesHash != r.FeaturesHash || got.RequestID != r.RequestID {
			t.Errorf("%+v read back as %+v", r, got)
		}
		out, err := got.DecodeOutputs()
		if err != nil || len(out.Hazard) != 2 || out.Hazard[1] != 1e-7 || out.ExpectedMonths != 1.9 {
			t.Errorf("outputs %s read as %+v, %v", row.Outputs, out, err)
		}
	}
	if KindOf("POST /invocations") != KindPersonPeriod || KindOf("POST /api/engagement") != KindPatient || KindOf(ScoreRoute) != KindPatient {
		t.Error("KindOf")
	}
	if asOf, ok := ParseScoreRunID(ScoreRunID(at, at)); !ok || !asOf.Equal(at.Truncate(24*time.Hour)) {
		t.Errorf("ParseScoreRunID: %v %v", asOf, ok)
	}
	if _, ok := ParseScoreRunID("0123-abc"); ok {
		t.Error("an API request id read as a scoring run")
	}
}
