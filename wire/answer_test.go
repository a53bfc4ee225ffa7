package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/caresignal/caresignal"
)

// TestEncoderMatchesEncodingJSON: the hand-written encoder writes exactly
// what json.Marshal writes, on random predictions with awkward strings and
// floats of every magnitude.
func TestEncoderMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "P000123", "a\"b\\c", "<script>&", "tab\tnew\nline\r\x00\x1f\x7f", "é ü 中文", "\u2028\u2029", "bad\xffutf8\xc3", "→ −0.62", "emoji 🙂"}
	float := func() float64 {
		switch rng.IntN(6) {
		case 0:
			return 0
		case 1:
			return math.Copysign(0, -1)
		case 2:
			return rng.Float64() * math.Pow(10, float64(rng.IntN(60)-30))
		case 3:
			return -rng.Float64() * math.Pow(10, float64(rng.IntN(60)-30))
		case 4:
			return []float64{1e-6, 1e-7, 1e21, 1e20, 5e-324, math.MaxFloat64, 0.1, 1.0 / 3}[rng.IntN(8)]
		}
		return rng.Float64()
	}
	for trial := range 2000 {
		resp := &Answer{Model: caresignal.ModelInfo{Name: strs[rng.IntN(len(strs))], Version: strs[rng.IntN(len(strs))]}}
		for range rng.IntN(4) {
			p := caresignal.Prediction{PatientID: strs[rng.IntN(len(strs))], ExpectedMonths: float()}
			if rng.IntN(5) > 0 {
				for range rng.IntN(13) {
					p.Hazard = append(p.Hazard, float())
					p.Survival = append(p.Survival, float())
				}
			}
			if rng.IntN(2) == 0 {
				m := rng.IntN(100) - 50
				p.MedianMonths = &m
			}
			if rng.IntN(4) > 0 {
				p.Explanation = []caresignal.Contribution{}
				for range rng.IntN(5) {
					p.Explanation = append(p.Explanation, caresignal.Contribution{Feature: strs[rng.IntN(len(strs))], Value: strs[rng.IntN(len(strs))], Contribution: float(), Text: strs[rng.IntN(len(strs))]})
				}
			}
			for range rng.IntN(3) {
				p.Warnings = append(p.Warnings, strs[rng.IntN(len(strs))])
			}
			resp.Predictions = append(resp.Predictions, p)
		}
		want, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := appendAnswer(nil, resp, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("trial %d:\n got %s\nwant %s", trial, got, want)
		}
		checkLoggedOutputs(t, resp)
		checkFields(t, resp, want, Fields(1+rng.IntN(int(AllFields))))
	}
	if _, _, err := appendAnswer(nil, &Answer{Predictions: []caresignal.Prediction{{Hazard: []float64{math.NaN()}}}}, nil); err == nil {
		t.Error("NaN encoded")
	}
}

// checkLoggedOutputs: the outputs the prediction log copies out of an
// encoded body read back as exactly the hazards and expected months.
func checkLoggedOutputs(t *testing.T, resp *Answer) {
	t.Helper()
	body, err := Encode(resp, true)
	if err != nil {
		t.Fatalf("Encode refused a finite answer: %v", err)
	}
	defer body.Release()
	if len(body.spans) != len(resp.Predictions) {
		t.Fatalf("%d spans for %d predictions", len(body.spans), len(resp.Predictions))
	}
	for i, p := range resp.Predictions {
		var got struct {
			Hazard   []float64 `json:"hazard"`
			Expected float64   `json:"expected_months"`
		}
		out := body.AppendOutputs(nil, i)
		if again, err := AppendOutputs(nil, p.Hazard, p.ExpectedMonths); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("outputs copied from the body %s, formatted again %s", out, again)
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("logged outputs %s: %v", out, err)
		}
		if len(got.Hazard) != len(p.Hazard) || got.Expected != p.ExpectedMonths {
			t.Fatalf("logged outputs %s for %+v", out, p)
		}
		for k := range p.Hazard {
			if got.Hazard[k] != p.Hazard[k] {
				t.Fatalf("logged hazard %d: %v, answered %v", k, got.Hazard[k], p.Hazard[k])
			}
		}
	}
}

// checkFields: an answer asking for some outputs is the whole answer
// (full, as encoding/json writes it) without the members not asked for;
// patient_id and warnings stay.
func checkFields(t *testing.T, resp *Answer, full []byte, f Fields) {
	t.Helper()
	sub := *resp
	sub.Fields = f
	got, _, err := appendAnswer(nil, &sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want, have map[string]any
	if err := json.Unmarshal(full, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &have); err != nil {
		t.Fatalf("outputs %s: %s does not parse: %v", f, got, err)
	}
	if preds, ok := want["predictions"].([]any); ok {
		for _, p := range preds {
			for i, name := range fieldNames {
				if f&(1<<i) == 0 {
					delete(p.(map[string]any), name)
				}
			}
		}
	}
	if !reflect.DeepEqual(have, want) {
		t.Fatalf("outputs %s:\n got %s\nfrom %s", f, got, full)
	}
}

func TestFieldsDecode(t *testing.T) {
	one := `{"features": {"age": 1}, "outputs": ["survival", "hazard"]}`
	req, err := DecodeRequest([]byte(one), nil)
	if err != nil || req.Fields != FieldHazard|FieldSurvival || req.Batch {
		t.Fatalf("%s: %+v %v", one, req, err)
	}
	batch := `{"outputs": ["expected_months"], "instances": [{"features": {"age": 1}}]}`
	if req, err = DecodeRequest([]byte(batch), nil); err != nil || req.Fields != FieldExpectedMonths || !req.Batch {
		t.Fatalf("%s: %+v %v", batch, req, err)
	}
	for _, body := range []string{`{"features": {"age": 1}}`, `{"features": {"age": 1}, "outputs": null}`} {
		if req, err = DecodeRequest([]byte(body), nil); err != nil || req.Fields != 0 || !req.Fields.Has(AllFields) {
			t.Fatalf("%s: %+v %v", body, req, err)
		}
	}
	for body, field := range map[string]string{
		`{"features": {}, "outputs": []}`:                                        "outputs",
		`{"features": {}, "outputs": "hazard"}`:                                  "outputs",
		`{"features": {}, "outputs": ["hazard", 1]}`:                             "outputs[1]",
		`{"features": {}, "outputs": ["hazard", "odds"]}`:                        "outputs[1]",
		`{"features": {}, "outputs": ["hazard", "hazard"]}`:                      "outputs[1]",
		`{"features": {}, "outputs": ["hazard"], "outputs": ["hazard"]}`:         "outputs",
		`{"instances": [{"features": {}, "outputs": ["hazard"]}]}`:               "instances[0].outputs",
		`{"instances": [{"features": {}}], "outputs": ["survival", "survival"]}`: "outputs[1]",
	} {
		_, err := DecodeRequest([]byte(body), nil)
		if caresignal.ErrorField(err) != field {
			t.Errorf("%s: error %v names %q, want %q", body, err, caresignal.ErrorField(err), field)
		}
	}
}
