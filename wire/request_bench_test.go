package wire

import (
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/modeltest"
)

// The request decoder alone: the fast path of a typical request and batch.

func benchDecode(b *testing.B, body string) {
	k := NewKnown([]caresignal.Input{
		{Name: "age"}, {Name: "sex", Categorical: true, Levels: []string{"F", "M"}},
		{Name: "program", Categorical: true, Levels: []string{"diabetes", "hypertension"}},
		{Name: "channel", Categorical: true, Levels: []string{"app", "phone"}},
		{Name: "baseline_score"}, {Name: "prior_no_shows"},
		{Name: "enrolled_via", Categorical: true, Levels: []string{"referral", "self"}},
		{Name: "sessions_last_month"}, {Name: "days_since_last_session"}, {Name: "messages_last_month"},
	})
	raw := []byte(body)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := fastDecode(raw, k); !ok {
			b.Fatal("refused")
		}
	}
}

func BenchmarkDecodeSingle(b *testing.B)   { benchDecode(b, modeltest.Single) }
func BenchmarkDecodeBatch100(b *testing.B) { benchDecode(b, modeltest.Batch(100)) }
