// Package modeltest gives the tests of the packages above the model the
// engagement model trained on a synthetic cohort, and a typical patient's
// features, so that each does not train its own the same way.
package modeltest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/synth"
)

// Features is a typical patient's features, as the JSON object a request
// sends.
const Features = `{"age": 54, "sex": "F", "program": "diabetes", "channel": "app", "baseline_score": 0.62, "prior_no_shows": 1, "enrolled_via": "referral", "sessions_last_month": 3, "days_since_last_session": 6, "messages_last_month": 4}`

// Cohort names a synthetic cohort, the share of its patients held out and
// the horizon model ("" is carry-forward).
type Cohort struct {
	Patients     int
	Seed         uint64
	Holdout      float64
	HorizonModel string
}

type trained struct {
	once     sync.Once
	m        *model.Model
	artifact []byte
	err      error
}

var cache sync.Map // Cohort → *trained

// Engagement returns the engagement model fitted with an L2 penalty
// (λ = 1), trained at a fixed time on the synthetic cohort c, with its
// version set, and its artifact. Each cohort is trained once per test
// binary; the model must not be changed.
func Engagement(t testing.TB, c Cohort) (*model.Model, []byte) {
	t.Helper()
	v, _ := cache.LoadOrStore(c, &trained{})
	tr := v.(*trained)
	tr.once.Do(func() {
		tr.m, tr.artifact, tr.err = train(c)
	})
	if tr.err != nil {
		t.Fatalf("training the engagement model on %+v: %v", c, tr.err)
	}
	return tr.m, tr.artifact
}

func train(c Cohort) (*model.Model, []byte, error) {
	cohort, err := synth.Generate(synth.Sized(c.Patients, c.Seed), nil)
	if err != nil {
		return nil, nil, err
	}
	x, _ := cohort.Training()
	spec, err := feature.ParseSpecBytes(caresignal.EngagementSpec)
	if err != nil {
		return nil, nil, err
	}
	m, err := model.Train(context.Background(), spec, x, model.TrainOptions{Penalty: model.PenaltyL2, Lambda: 1, Holdout: c.Holdout, HorizonModel: c.HorizonModel,
		Now: func() time.Time { return time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		return nil, nil, err
	}
	b, err := m.Marshal()
	return m, b, err
}
