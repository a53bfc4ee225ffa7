package wire

import (
	"encoding/json"
	"errors"
	"fmt"
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

// TestRequestLogPseudonyms: with a key, each patient id is replaced by a
// keyed hash, the same for the same id, in the item and in the inputs;
// without, it is kept.
func TestRequestLogPseudonyms(t *testing.T) {
	key := []byte("a-secret-of-some-length")
	inputs := `{"features": {"age": 54, "note": "patient_id"},  "patient_id" : "P000000", "horizon": 3}`
	out := func(dst []byte) ([]byte, error) { return AppendOutputs(dst, []float64{0.5}, 0.5) }
	items := func(key []byte) []item {
		r := RequestLog{Route: "POST /api/engagement", Key: key}
		for range 2 {
			if err := r.Add("P000000", []byte(inputs), "", out); err != nil {
				t.Fatal(err)
			}
		}
		rec, _ := r.Stored()
		return decodeItems(t, rec.Items)
	}
	a := items(key)
	want := `{"features": {"age": 54, "note": "patient_id"},  "patient_id" : "` + Pseudonym(key, "P000000") + `", "horizon": 3}`
	if string(a[0].Inputs) != want {
		t.Errorf("stored inputs %s\nwant %s", a[0].Inputs, want)
	}
	if a[0].PatientID != a[1].PatientID || !strings.HasPrefix(a[0].PatientID, "h:") || strings.Contains(a[0].PatientID, "P000000") {
		t.Errorf("stored ids %q, %q", a[0].PatientID, a[1].PatientID)
	}
	if plain := items(nil); plain[0].PatientID != "P000000" || string(plain[0].Inputs) != inputs {
		t.Errorf("without a key: %q %s", plain[0].PatientID, plain[0].Inputs)
	}
}

// item is one element of a RequestRecord's items, as the predictions view
// reads it.
type item struct {
	PatientID    string          `json:"patient_id"`
	FeaturesHash string          `json:"features_hash"`
	Inputs       json.RawMessage `json:"inputs"`
	Outputs      json.RawMessage `json:"outputs"`
}

func decodeItems(t *testing.T, raw []byte) []item {
	t.Helper()
	var out []item
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("items %s: %v", raw, err)
	}
	return out
}

// TestRequestLogStored: the stored row holds one item per Add, in order,
// with the header; a failed Add leaves no trace; no Add, no row.
func TestRequestLogStored(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var r RequestLog
	if _, ok := r.Stored(); ok {
		t.Error("a record without instances")
	}
	r = RequestLog{At: at, Model: caresignal.ModelInfo{Name: "m", Version: "v"}, Route: "POST /api/engagement", Shadow: true, RequestID: "q"}
	fail := func([]byte) ([]byte, error) { return nil, errors.New("NaN") }
	if err := r.Add("x", []byte(`{}`), "", fail); err == nil {
		t.Fatal("a failed output was added")
	}
	for i := range 3 {
		r.Add(fmt.Sprint("p", i), []byte(fmt.Sprintf(`{"i": %d}`, i)), fmt.Sprint("h", i), func(dst []byte) ([]byte, error) {
			return AppendOutputs(dst, []float64{float64(i) / 10}, float64(i))
		})
		if i == 1 {
			r.Add("y", []byte(`{}`), "", fail)
		}
	}
	rec, ok := r.Stored()
	if !ok || rec.Instances != 3 || rec.Route != "POST /api/engagement (shadow)" || rec.Kind != "patient" || rec.ID == "" || rec.Model != "m" || rec.Version != "v" || rec.RequestID != "q" || !rec.At.Equal(at) {
		t.Fatalf("stored %+v", rec)
	}
	for i, it := range decodeItems(t, rec.Items) {
		want, _ := AppendOutputs(nil, []float64{float64(i) / 10}, float64(i))
		if it.PatientID != fmt.Sprint("p", i) || it.FeaturesHash != fmt.Sprint("h", i) || string(it.Inputs) != fmt.Sprintf(`{"i": %d}`, i) || string(it.Outputs) != string(want) {
			t.Errorf("item %d: %+v", i, it)
		}
	}
	anon := RequestLog{Route: "POST /invocations"}
	anon.Add("", []byte(`{"month": 1}`), "", func(dst []byte) ([]byte, error) { return append(dst, `{"hazard":[0.1],"expected_months":0}`...), nil })
	rec, _ = anon.Stored()
	if rec.Kind != "person_period" || string(rec.Items) != `[{"inputs":{"month": 1},"outputs":{"hazard":[0.1],"expected_months":0}}]` {
		t.Errorf("a person-period row stored as %s %s", rec.Kind, rec.Items)
	}
}

// TestLegacy: a per-prediction record of an earlier spill file becomes a
// request of one, with its id, route, shadow marker and item kept.
func TestLegacy(t *testing.T) {
	old := caresignal.PredictionRecord{ID: "old-1", Model: "m", Version: "v", Route: "POST /api/engagement (shadow)", RequestID: "r",
		PatientID: "h:ab", Inputs: []byte(`{"patient_id": "h:ab", "features": {}}`), FeaturesHash: "f", Outputs: []byte(`{"hazard":[0.2],"expected_months":0.8}`)}
	rec, err := Legacy(&old)
	if err != nil {
		t.Fatal(err)
	}
	items := decodeItems(t, rec.Items)
	if rec.ID != "old-1" || rec.Route != old.Route || rec.Kind != "patient" || rec.Instances != 1 || len(items) != 1 ||
		items[0].PatientID != "h:ab" || string(items[0].Inputs) != string(old.Inputs) || string(items[0].Outputs) != string(old.Outputs) {
		t.Errorf("%+v became %+v", old, rec)
	}
	old.Outputs = []byte("{")
	if _, err := Legacy(&old); err == nil {
		t.Error("a record with broken outputs converted")
	}
}

// TestReadKinds: Read takes the stored kind, or for rows stored without
// one, the kind the route implies; the shadow marker comes off the route.
func TestReadKinds(t *testing.T) {
	for _, c := range []struct {
		route, kind string
		want        Kind
		shadow      bool
	}{
		{"POST /api/engagement", "patient", KindPatient, false},
		{"POST /", "whatif", KindWhatIf, false},
		{"POST /invocations", "", KindPersonPeriod, false},
		{"POST /api/engagement (shadow)", "", KindPatient, true},
		{ScoreRoute, "", KindPatient, false},
	} {
		got := Read(&caresignal.PredictionRecord{Route: c.route, Kind: c.kind})
		if got.Kind != c.want || got.Shadow != c.shadow || IsShadow(got.Route) {
			t.Errorf("%q %q read as %v shadow %v route %q", c.route, c.kind, got.Kind, got.Shadow, got.Route)
		}
	}
	for k := KindPatient; k <= KindWhatIf; k++ {
		if ParseKind(k.String(), "") != k {
			t.Errorf("kind %v does not read back", k)
		}
	}
}

func TestScoreRunID(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	if asOf, ok := ParseScoreRunID(ScoreRunID(at, at)); !ok || !asOf.Equal(at.Truncate(24*time.Hour)) {
		t.Errorf("ParseScoreRunID: %v %v", asOf, ok)
	}
	if _, ok := ParseScoreRunID("0123-abc"); ok {
		t.Error("an API request id read as a scoring run")
	}
}
