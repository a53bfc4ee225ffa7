package evaluate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/internal/predlog"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/internal/web"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/synth"
)

// TestCompareShadows serves requests with a shadow beside production and
// pairs the logged answers: a shadow identical to production differs by
// nothing and keeps the whole top tenth; a more penalised one differs,
// pair by pair exactly as the two models score the same patients.
func TestCompareShadows(t *testing.T) {
	prod, _ := testModel(t)
	c, err := synth.Generate(synth.Sized(2000, 11), nil)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := c.Training()
	spec, _ := feature.ParseSpecBytes(caresignal.EngagementSpec)
	other, err := model.Train(context.Background(), spec, x, model.TrainOptions{Penalty: model.PenaltyL2, Lambda: 60,
		Now: func() time.Time { return time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Marshal(); err != nil { // sets its version
		t.Fatal(err)
	}
	for _, shadow := range []*model.Model{other, prod} {
		s, err := sqlite.Open(context.Background(), t.TempDir()+"/s.db")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		pl, err := predlog.New(s, predlog.Options{SpillDir: t.TempDir(), FlushEvery: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		models := web.NewModels(prod)
		models.Set(&web.Serving{Production: prod, Shadow: shadow})
		h := web.NewHandler(web.Config{Models: models, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PredictionLog: pl})
		srv := httptest.NewServer(h)
		var want []float64 // shadow − production, request by request
		for i := range 40 {
			var batch []string
			for j := range 3 {
				batch = append(batch, fmt.Sprintf(`{"patient_id": "P%d", "features": `+features+`}`, j, 20+i+j, 10+2*i%90, (i+j)%6))
			}
			body := `{"instances": [` + strings.Join(batch, ",") + `]}`
			resp, err := http.Post(srv.URL+"/api/engagement", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			insts, _, _ := web.DecodeRequest([]byte(body))
			for k := range insts {
				p, _ := prod.Predict(&insts[k])
				q, _ := shadow.Predict(&insts[k])
				want = append(want, q.Hazard[0]-p.Hazard[0])
			}
			h.Wait() // shadow scorings run after the answer
		}
		srv.Close()
		if err := pl.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, err := CompareShadows(context.Background(), s, caresignal.PredictionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Pairs != len(want) || got[0].Unpaired != 0 || got[0].Shadow != shadow.Version || got[0].Production != prod.Version {
			t.Fatalf("comparison %+v, want %d pairs", got, len(want))
		}
		var mean, meanAbs, maxAbs float64
		for _, d := range want {
			mean += d / float64(len(want))
			meanAbs += math.Abs(d) / float64(len(want))
			maxAbs = math.Max(maxAbs, math.Abs(d))
		}
		g := got[0]
		if math.Abs(g.MeanDiff-mean) > 1e-12 || math.Abs(g.MeanAbsDiff-meanAbs) > 1e-12 || g.MaxAbsDiff != maxAbs || g.Correlation == nil || *g.Correlation < 0.8 {
			t.Errorf("shadow %s: %+v, want mean %g, mean abs %g, max %g", shadow.Version, g, mean, meanAbs, maxAbs)
		}
		if shadow == prod && (g.MaxAbsDiff != 0 || g.TopDecileAgreement == nil || *g.TopDecileAgreement != 1) {
			t.Errorf("a shadow equal to production: %+v", g)
		}
		if shadow == other && g.MeanAbsDiff == 0 {
			t.Errorf("a different shadow shows no difference: %+v", g)
		}
	}
}
