package predlog_test

import (
	"context"
	"testing"

	"github.com/caresignal/caresignal/internal/predlog"
)

// BenchmarkLog is the prediction log's cost on the request's path, with a
// database that takes every batch at once: queued (the default), and
// synced to the journal first (durable), from 64 concurrent requests.
func BenchmarkLog(b *testing.B) {
	for _, durable := range []bool{false, true} {
		name := "queued"
		if durable {
			name = "durable"
		}
		b.Run(name, func(b *testing.B) {
			opt := fastOptions(b.TempDir())
			opt.Durable = durable
			l, err := predlog.New(&sink{stored: map[string]bool{}}, opt)
			if err != nil {
				b.Fatal(err)
			}
			recs := records(0, 1024)
			b.SetParallelism(32)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if err := l.Log(recs[i%len(recs)]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			b.StopTimer()
			l.Close(context.Background())
		})
	}
}
