package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/modeltest"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/wire"
)

// BenchmarkAppendRequests stores the records of single-patient requests,
// 1,000 per transaction as the writer does under load: the prediction
// log's cost per request on the embedded database.
func BenchmarkAppendRequests(b *testing.B) {
	store, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	out, _ := wire.AppendOutputs(nil, []float64{0.0303, 0.0263, 0.0219, 0.0199, 0.0179, 0.018, 0.0176, 0.0172, 0.0146, 0.0148, 0.0162, 0.0144}, 10.45)
	batch := make([]caresignal.RequestRecord, 1000)
	b.ResetTimer()
	for i := 0; i < b.N; i += len(batch) {
		for k := range batch {
			r := wire.RequestLog{At: time.Now(), Model: caresignal.ModelInfo{Name: "engagement", Version: "0123456789ab"}, Route: "POST /api/engagement", RequestID: fmt.Sprint(i + k)}
			r.Add("P0012345", []byte(modeltest.Single), "0123456789abcdef", func(dst []byte) ([]byte, error) { return append(dst, out...), nil })
			batch[k], _ = r.Stored()
		}
		if err := store.AppendRequests(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}
