package serving

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/modeltest"
	"github.com/caresignal/caresignal/model"
)

// TestLandmarkAnswers: a landmark model answers the API as a carry-forward
// one does — a hazard per future month, the survival curve, the
// explanation of the month in progress — with its own lags' hazards, and
// records what it answered.
func TestLandmarkAnswers(t *testing.T) {
	m, _ := modeltest.Engagement(t, modeltest.Cohort{Patients: 1500, Seed: 5, HorizonModel: model.HorizonLandmark})
	cf := testModel(t)
	if m.HorizonModel() != model.HorizonLandmark {
		t.Fatalf("horizon model %q", m.HorizonModel())
	}
	log := &recorder{}
	s, err := NewScorer(Config{Models: NewModels(m), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"patient_id": "P1", "features": ` + features + `, "months_enrolled": 2, "horizon": 15, "days_elapsed": 10}`
	enc, err := s.Engagement(Call{RequestID: "r1", Route: "POST /api/engagement"}, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Model       caresignal.ModelInfo `json:"model"`
		Predictions []struct {
			Hazard         []float64                 `json:"hazard"`
			Survival       []float64                 `json:"survival"`
			ExpectedMonths float64                   `json:"expected_months"`
			Explanation    []caresignal.Contribution `json:"explanation"`
		} `json:"predictions"`
	}
	if err := json.Unmarshal(enc.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, enc.Bytes())
	}
	enc.Release()
	var feats map[string]any
	if err := json.Unmarshal([]byte(features), &feats); err != nil {
		t.Fatal(err)
	}
	inst := caresignal.Instance{PatientID: "P1", Features: map[string]caresignal.Value{}, MonthsEnrolled: 2, Horizon: 15, DaysElapsed: 10}
	for k, v := range feats {
		switch v := v.(type) {
		case float64:
			inst.Features[k] = caresignal.Num(v)
		case string:
			inst.Features[k] = caresignal.Str(v)
		}
	}
	want, err := m.Predict(&inst)
	if err != nil {
		t.Fatal(err)
	}
	if got.Model.Version != m.Version || len(got.Predictions) != 1 {
		t.Fatalf("answer: %s", enc.Bytes())
	}
	p := got.Predictions[0]
	if len(p.Hazard) != 15 || len(p.Survival) != 15 || len(p.Explanation) != len(m.Features.Features) {
		t.Fatalf("answer has %d hazards, %d survival points, %d contributions", len(p.Hazard), len(p.Survival), len(p.Explanation))
	}
	for i := range p.Hazard {
		if math.Abs(p.Hazard[i]-want.Hazard[i]) > 1e-15 || math.Abs(p.Survival[i]-want.Survival[i]) > 1e-15 {
			t.Errorf("month %d: answered %g/%g, the model gives %g/%g", i+1, p.Hazard[i], p.Survival[i], want.Hazard[i], want.Survival[i])
		}
	}
	for i, c := range p.Explanation {
		if c.Feature != want.Explanation[i].Feature || math.Abs(c.Contribution-want.Explanation[i].Contribution) > 1e-15 {
			t.Errorf("contribution %d: %+v, the model gives %+v", i, c, want.Explanation[i])
		}
	}
	// The lags matter: a carry-forward model of the same data answers the
	// months ahead differently, while the month in progress is close.
	other, err := cf.Predict(&inst)
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Hazard[8] / other.Hazard[8]; math.Abs(r-1) < 1e-6 {
		t.Errorf("month 9 ahead: landmark %g, carry-forward %g: the lags changed nothing", p.Hazard[8], other.Hazard[8])
	}
	if len(log.recs) != 1 {
		t.Errorf("%d records logged, want 1", len(log.recs))
	}
}
