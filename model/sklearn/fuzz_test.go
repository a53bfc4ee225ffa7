package sklearn

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/pickle"
)

// FuzzLoad mutates real model files: loading and predicting must return
// an error or a probability, never panic.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"lung_logreg_matrix.p4.pkl", "lung_logreg_matrix.p2.pkl", "lung_logreg.p5.pkl", "lung_logreg_passthrough.p3.pkl", "lung_logreg_matrix.joblib"} {
		b, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load(bytes.NewReader(data), Options{})
		if err != nil {
			return
		}
		row := make([]caresignal.Value, len(m.Inputs))
		for i := range row {
			row[i] = caresignal.Num(float64(i))
		}
		m.PredictProba(row)
		for i := range row {
			row[i] = caresignal.Str("x")
		}
		m.PredictProba(row)
	})
}

// TestSelfReferenceRefused: a pipeline whose steps contain itself (the
// memo makes such graphs possible) is refused rather than followed for
// ever.
func TestSelfReferenceRefused(t *testing.T) {
	p := &pickle.Object{Class: &pickle.Global{Module: "sklearn.pipeline", Name: "Pipeline"}}
	steps := &pickle.List{}
	steps.Items = append(steps.Items, pickle.Tuple{"again", p})
	p.State = &pickle.Dict{Keys: []any{"steps", "_sklearn_version"}, Values: []any{steps, "1.2.1"}}
	if _, err := FromValue(p, Options{}); err == nil || !strings.Contains(err.Error(), "contain themselves") {
		t.Errorf("self-referencing pipeline: %v", err)
	}
	deep := any(&pickle.List{})
	for range 100 {
		deep = &pickle.List{Items: []any{deep}}
	}
	wrapped := &pickle.Object{Class: p.Class, State: &pickle.Dict{Keys: []any{"steps"}, Values: []any{deep}}}
	if _, err := FromValue(wrapped, Options{}); err == nil || !strings.Contains(err.Error(), "deep") {
		t.Errorf("deep nesting: %v", err)
	}
}
