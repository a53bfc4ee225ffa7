package serving

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/modeltest"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/wire"
)

func testModel(t testing.TB) *model.Model {
	m, _ := modeltest.Engagement(t, modeltest.Cohort{Patients: 1500, Seed: 5})
	return m
}

// recorder keeps the records a scorer hands it, or refuses them with
// fail.
type recorder struct {
	mu   sync.Mutex
	recs []caresignal.RequestRecord
	fail error
}

func (r *recorder) Log(recs ...caresignal.RequestRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.recs = append(r.recs, recs...)
	return nil
}

// TestUnrecordedIsUnanswered: when the log cannot keep a request's record
// (the durable log's journal cannot be written), no protocol answers it:
// the call fails as unavailable, and the what-if form's too.
func TestUnrecordedIsUnanswered(t *testing.T) {
	m := testModel(t)
	log := &recorder{fail: caresignal.Errorf(caresignal.EUNAVAILABLE, "the disk is full")}
	s, err := NewScorer(Config{Models: NewModels(m), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	call := Call{RequestID: "r", Route: "POST /api/engagement"}
	if _, err := s.Engagement(call, []byte(`{"patient_id": "P1", "features": `+features+`}`)); caresignal.ErrorCode(err) != caresignal.EUNAVAILABLE {
		t.Errorf("engagement: %v", err)
	}
	inv := `{"dataframe_records": [{"month": 2, "age": 40, "sex": "M", "program": "diabetes", "channel": "sms", "baseline_score": 0.5, "prior_no_shows": 0, "enrolled_via": "self", "sessions_last_month": 2, "days_since_last_session": 12, "messages_last_month": 1}]}`
	if _, err := s.Invocations(call, []byte(inv)); caresignal.ErrorCode(err) != caresignal.EUNAVAILABLE {
		t.Errorf("invocations: %v", err)
	}
	req, err := wire.DecodeRequest([]byte(`{"patient_id": "P1", "features": `+features+`}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WhatIf(call, m, &req.Instances[0]); caresignal.ErrorCode(err) != caresignal.EUNAVAILABLE {
		t.Errorf("what-if: %v", err)
	}
	// An error without a code is the log's all the same.
	log.fail = errors.New("closed")
	if _, err := s.Engagement(call, []byte(`{"patient_id": "P1", "features": `+features+`}`)); caresignal.ErrorCode(err) != caresignal.EUNAVAILABLE {
		t.Errorf("engagement, an uncoded error: %v", err)
	}
}

const features = modeltest.Features

// TestScorerRecordsWhatItAnswers: every protocol's answer is recorded
// once per patient or row, with the route and request it came from, the
// inputs as received (or in the request shape), the hazards answered, and
// the patient id pseudonymised under the key; each record rescores to the
// hazards it holds.
func TestScorerRecordsWhatItAnswers(t *testing.T) {
	m := testModel(t)
	key := []byte("a-key-of-some-length")
	log := &recorder{}
	s, err := NewScorer(Config{Models: NewModels(m), Log: log, PseudonymKey: key})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"instances": [{"patient_id": "P1", "features": ` + features + `, "horizon": 3}, {"patient_id": "P2",  "features": ` + features + `, "months_enrolled": 4, "days_elapsed": 12}]}`
	enc, err := s.Engagement(Call{RequestID: "r1", Route: "POST /api/engagement"}, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var ans wire.Answer
	if err := json.Unmarshal(enc.Bytes(), &ans); err != nil {
		t.Fatal(err)
	}
	enc.Release()
	var feats map[string]any
	if err := json.Unmarshal([]byte(features), &feats); err != nil {
		t.Fatal(err)
	}
	inputs := []map[string]any{{"name": "patient_id", "shape": []int{1}, "datatype": "BYTES", "data": []string{"P3"}}}
	for name, v := range feats {
		dt := "FP64"
		if _, ok := v.(string); ok {
			dt = "BYTES"
		}
		inputs = append(inputs, map[string]any{"name": name, "shape": []int{1}, "datatype": dt, "data": []any{v}})
	}
	v2, _ := json.Marshal(map[string]any{"inputs": inputs})
	if _, err := s.InferV2(Call{RequestID: "r2", Route: "POST /v2/models/{name}/infer"}, m.Name, "", v2); err != nil {
		t.Fatal(err)
	}
	inv := `{"dataframe_records": [{"month": 2, "age": 40, "sex": "M", "program": "diabetes", "channel": "sms", "baseline_score": 0.5, "prior_no_shows": 0, "enrolled_via": "self", "sessions_last_month": 2, "days_since_last_session": 12, "messages_last_month": 1}]}`
	if _, err := s.Invocations(Call{RequestID: "r3", Route: "POST /invocations"}, []byte(inv)); err != nil {
		t.Fatal(err)
	}
	if len(log.recs) != 3 || log.recs[0].Instances != 2 {
		t.Fatalf("%d records, want one per request (3)", len(log.recs))
	}
	rows := modeltest.Predictions(t, log.recs)
	for i, row := range rows {
		rec := wire.Read(&row)
		if rec.Model != m.Info() || rec.ID == "" || rec.At.IsZero() || rec.Shadow {
			t.Errorf("record %d: %+v", i, rec)
		}
		if strings.Contains(string(rec.Inputs), `"P`) || (i < 3 && rec.PatientID != wire.Pseudonym(key, []string{"P1", "P2", "P3"}[i])) {
			t.Errorf("record %d keeps a source id: %q %s", i, rec.PatientID, rec.Inputs)
		}
		out, err := rec.DecodeOutputs()
		if err != nil {
			t.Fatalf("record %d outputs %s: %v", i, rec.Outputs, err)
		}
		var want []float64
		switch rec.Kind {
		case wire.KindPatient:
			inst, err := rec.DecodePatient()
			if err != nil {
				t.Fatalf("record %d inputs %s: %v", i, rec.Inputs, err)
			}
			p, err := m.Predict(&inst)
			if err != nil {
				t.Fatal(err)
			}
			want = p.Hazard
		case wire.KindPersonPeriod:
			row, err := wire.DecodeRow(rec.Inputs)
			if err != nil {
				t.Fatal(err)
			}
			if want, err = ScoreRecords(m, []map[string]caresignal.Value{row}); err != nil {
				t.Fatal(err)
			}
		}
		if len(out.Hazard) != len(want) {
			t.Fatalf("record %d: %d hazards, rescored %d", i, len(out.Hazard), len(want))
		}
		for k := range want {
			if out.Hazard[k] != want[k] {
				t.Errorf("record %d month %d: logged %v, rescored %v", i, k+1, out.Hazard[k], want[k])
			}
		}
	}
	if r := rows[1]; r.Route != "POST /api/engagement" || r.RequestID != "r1" || string(r.Inputs) != `{"patient_id": "`+wire.Pseudonym(key, "P2")+`",  "features": `+features+`, "months_enrolled": 4, "days_elapsed": 12}` {
		t.Errorf("the second patient of the batch: %+v %s", r, r.Inputs)
	}
	if h := ans.Predictions[0].Hazard; len(h) != 3 {
		t.Errorf("answer %+v", ans)
	}
	if rows[3].Kind != "person_period" || rows[2].Route != "POST /v2/models/{name}/infer" || rows[2].Kind != "patient" {
		t.Errorf("routes %q, %q", rows[2].Route, rows[3].Route)
	}
}

// TestShadowRecordsBesideProduction: a shadow's answers are recorded
// marked as such, never returned.
func TestShadowRecordsBesideProduction(t *testing.T) {
	m := testModel(t)
	log := &recorder{}
	ms := NewModels(m)
	ms.Set(&Set{Production: m, Shadow: m})
	s, err := NewScorer(Config{Models: ms, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := s.Engagement(Call{RequestID: "r", Route: "POST /api/engagement"}, []byte(`{"patient_id": "P1", "features": `+features+`}`))
	if err != nil {
		t.Fatal(err)
	}
	enc.Release()
	s.Wait()
	if len(log.recs) != 2 {
		t.Fatalf("%d records, want production's and the shadow's", len(log.recs))
	}
	rows := modeltest.Predictions(t, log.recs)
	prod, shadow := wire.Read(&rows[0]), wire.Read(&rows[1])
	if prod.Shadow || !shadow.Shadow || shadow.Route != prod.Route || !wire.IsShadow(rows[1].Route) || string(prod.Outputs) != string(shadow.Outputs) {
		t.Errorf("production %+v\nshadow %+v", prod, shadow)
	}
}

// TestPickAndLookup: the canary takes its share by patient, the same
// patient always the same version; Lookup names what is served.
func TestPickAndLookup(t *testing.T) {
	m := testModel(t)
	canary := *m
	canary.Version = "canary"
	set := &Set{Production: m, Canary: &canary, CanaryPercent: 30}
	n := 0
	for i := range 2000 {
		id := "P" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('A'+i/26%26))
		first := set.Pick(id)
		if set.Pick(id) != first {
			t.Fatalf("patient %s moved between versions", id)
		}
		if first == &canary {
			n++
		}
	}
	if n < 400 || n > 800 {
		t.Errorf("the canary took %d of 2000 patients at 30%%", n)
	}
	if got, versions, err := set.Lookup(m.Name, "canary"); err != nil || got != &canary || len(versions) != 2 {
		t.Errorf("Lookup canary: %v %v %v", got, versions, err)
	}
	if _, _, err := set.Lookup("other", ""); caresignal.ErrorCode(err) != caresignal.ENOTFOUND || !strings.Contains(err.Error(), `served: "engagement"`) {
		t.Errorf("Lookup of another name: %v", err)
	}
	var none *Set
	if _, _, err := none.Lookup(m.Name, ""); caresignal.ErrorCode(err) != caresignal.ENOTFOUND || !strings.Contains(err.Error(), "served: none") {
		t.Errorf("Lookup without a model: %v", err)
	}
}
