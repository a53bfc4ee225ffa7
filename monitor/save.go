package monitor

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/atomicfile"
)

// EvaluationSaver keeps reports for the monitoring page and /metrics.
type EvaluationSaver interface {
	SaveEvaluation(ctx context.Context, ev caresignal.Evaluation) (caresignal.Evaluation, error)
}

// Save writes the report as indented JSON to jsonPath and as its HTML page
// to htmlPath, each atomically, and then, when store is not nil, keeps
// both in the database, where the monitoring page and /metrics read the
// latest.
func (r *Report) Save(ctx context.Context, store EvaluationSaver, jsonPath, htmlPath string) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	html := RenderHTML(r)
	if err := atomicfile.WriteBytes(jsonPath, append(js, '\n')); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(htmlPath, []byte(html)); err != nil {
		return err
	}
	if store == nil {
		return nil
	}
	_, err = store.SaveEvaluation(ctx, caresignal.Evaluation{Model: r.Model, Version: r.Version, Figures: r.Figures,
		Flags: r.Flags, Report: js, HTML: html})
	return err
}
