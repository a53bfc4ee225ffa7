package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
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
		out := body.Outputs(i)
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
