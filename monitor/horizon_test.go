package monitor

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/internal/modeltest"
	"github.com/caresignal/caresignal/model"
)

// TestCompareHorizons rescores a run's patients with a carry-forward and a
// landmark model and checks each model's metrics against eval.ByHorizon on
// that model's own predictions, the patients left out (not followed up,
// or refused by a model), and the rendered section.
func TestCompareHorizons(t *testing.T) {
	cf, _ := testModel(t)
	lm, _ := modeltest.Engagement(t, modeltest.Cohort{Patients: 2000, Seed: 11, HorizonModel: model.HorizonLandmark})
	if cf.HorizonModel() != model.HorizonCarryForward || lm.HorizonModel() != model.HorizonLandmark {
		t.Fatalf("models are %s and %s", cf.HorizonModel(), lm.HorizonModel())
	}
	base := map[string]caresignal.Value{}
	var raw map[string]any
	if err := json.Unmarshal([]byte(modeltest.Features), &raw); err != nil {
		t.Fatal(err)
	}
	for k, v := range raw {
		switch v := v.(type) {
		case float64:
			base[k] = caresignal.Num(v)
		case string:
			base[k] = caresignal.Str(v)
		}
	}
	run := &ScoreRun{ID: "score@2026-05-01#x", Model: cf.Name, Version: cf.Version}
	var outcomes []Outcome
	for i := range 60 {
		f := map[string]caresignal.Value{}
		for k, v := range base {
			f[k] = v
		}
		f["sessions_last_month"] = caresignal.Num(float64(i % 7))
		f["days_since_last_session"] = caresignal.Num(float64(3 * (i % 11)))
		f["age"] = caresignal.Num(float64(30 + i))
		run.Patients = append(run.Patients, Scored{PatientID: "p", MonthsEnrolled: i % 5, DaysElapsed: i % 30, Features: f})
		outcomes = append(outcomes, Outcome{Time: 1 + i%4, Event: i%3 == 0})
	}
	// Not followed up yet, and refused (a feature missing without
	// imputation).
	run.Patients = append(run.Patients, Scored{Features: base}, Scored{Features: map[string]caresignal.Value{"age": caresignal.Num(40)}})
	outcomes = append(outcomes, Outcome{Time: 0}, Outcome{Time: 2, Event: true})

	c, err := CompareHorizons(run, outcomes, []*model.Model{cf, lm}, HorizonOptions{Bootstrap: 50, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if c.Patients != 60 || c.Refused != 1 || c.Horizon != 4 || len(c.Models) != 2 {
		t.Fatalf("patients %d, refused %d, horizon %d, models %d; want 60, 1, 4, 2", c.Patients, c.Refused, c.Horizon, len(c.Models))
	}
	for k, m := range []*model.Model{cf, lm} {
		var obs []eval.Outcome
		var surv [][]float64
		for i := range 60 {
			p := run.Patients[i]
			pred, err := m.PredictFor(feature.SurfaceBatch, &caresignal.Instance{Features: p.Features, MonthsEnrolled: p.MonthsEnrolled, DaysElapsed: p.DaysElapsed, Horizon: 4}, false)
			if err != nil {
				t.Fatal(err)
			}
			surv = append(surv, pred.Survival)
			obs = append(obs, eval.Outcome{Time: float64(outcomes[i].Time), Event: outcomes[i].Event})
		}
		want, err := eval.ByHorizon(obs, surv)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Models[k]; got.HorizonModel != m.HorizonModel() || !reflect.DeepEqual(got.ByHorizon, want) {
			t.Errorf("%s: metrics differ from eval.ByHorizon on its predictions", m.HorizonModel())
		}
	}
	for _, m := range c.Models {
		if len(m.SlopeCI) != 4 || len(m.IBSCI) != 4 {
			t.Fatalf("%s: %d slope and %d IBS intervals, want 4", m.HorizonModel, len(m.SlopeCI), len(m.IBSCI))
		}
		for k, iv := range m.IBSCI {
			if ibs := m.ByHorizon[k].IBS; !(iv[0] <= iv[1]) || iv[0] > ibs+0.05 || iv[1] < ibs-0.05 {
				t.Errorf("%s month %d: IBS %g, interval %v", m.HorizonModel, k+1, ibs, iv)
			}
		}
	}
	if len(c.Closer) != 4 {
		t.Errorf("closer: %v", c.Closer)
	}
	for _, f := range c.Closer {
		if f < 0 || f > 1 {
			t.Errorf("closer share %g", f)
		}
	}
	if c.Verdict == "" {
		t.Error("no verdict for a carry-forward and a landmark model")
	}
	html := string(horizonSection(c))
	for _, want := range []string{"Month by month ahead", "landmark", "carry-forward", c.Verdict[:20]} {
		if !strings.Contains(html, want) {
			t.Errorf("the section lacks %q", want)
		}
	}
}

// TestHorizonVerdict applies the default rule to made-up metrics.
func TestHorizonVerdict(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	res := func(hm string, slopes []float64, ibs float64) HorizonModelResult {
		r := HorizonModelResult{HorizonModel: hm}
		for k, s := range slopes {
			r.ByHorizon = append(r.ByHorizon, eval.HorizonMetric{Horizon: k + 1, CalibrationSlope: f(s), IBS: ibs})
		}
		return r
	}
	cf := res(model.HorizonCarryForward, []float64{1, 0.5, 0.6, 0.6, 0.7}, 0.09)
	for _, tt := range []struct {
		name string
		lm   HorizonModelResult
		want string
	}{
		{"better everywhere", res(model.HorizonLandmark, []float64{1, 0.8, 0.9, 1.1, 0.95}, 0.08), "landmark:"},
		{"worse at month 2 only (not looked at)", res(model.HorizonLandmark, []float64{1, 0.3, 0.9, 1.1, 0.95}, 0.08), "landmark:"},
		{"a tie at month 5", res(model.HorizonLandmark, []float64{1, 0.8, 0.9, 1.1, 1.3}, 0.08), "carry-forward: "},
		{"worse IBS", res(model.HorizonLandmark, []float64{1, 0.8, 0.9, 1.1, 0.95}, 0.0901), "carry-forward: "},
	} {
		c := HorizonComparison{Horizon: 5, Models: []HorizonModelResult{cf, tt.lm}}
		if got := c.verdict(); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: %q", tt.name, got)
		}
	}
	if got := (&HorizonComparison{Horizon: 2, Models: []HorizonModelResult{cf, cf}}).verdict(); got != "" {
		t.Errorf("two carry-forward models: %q", got)
	}
}
