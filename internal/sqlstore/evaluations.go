package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/caresignal/caresignal"
)

// SaveEvaluation stores a monitoring report and returns it with its id and
// creation time.
func (s *Store) SaveEvaluation(ctx context.Context, ev caresignal.Evaluation) (caresignal.Evaluation, error) {
	if ev.Model == "" || ev.Version == "" {
		return ev, caresignal.Invalidf("model", "an evaluation names its model and version")
	}
	if !json.Valid(ev.Report) {
		return ev, caresignal.Invalidf("report", "the evaluation's report is not JSON")
	}
	if ev.Figures == nil {
		ev.Figures = map[string]float64{}
	}
	if ev.Flags == nil {
		ev.Flags = []string{}
	}
	figures, err := json.Marshal(ev.Figures)
	if err != nil {
		return ev, caresignal.Invalidf("figures", "the evaluation's figures: %v", err)
	}
	flags, _ := json.Marshal(ev.Flags)
	ev.CreatedAt = now()
	b := s.d.Bind
	err = s.db.QueryRowContext(ctx, "INSERT INTO evaluations (created_at, model_name, model_version, figures, flags, report, html) VALUES ("+
		b(1)+", "+b(2)+", "+b(3)+", "+b(4)+", "+b(5)+", "+b(6)+", "+b(7)+") RETURNING id",
		stamp(ev.CreatedAt), ev.Model, ev.Version, string(figures), string(flags), string(ev.Report), ev.HTML).Scan(&ev.ID)
	if err != nil {
		return ev, s.fail(err, "storing the evaluation")
	}
	return ev, nil
}

// LatestEvaluation returns the newest stored report, of model when it is
// not empty.
func (s *Store) LatestEvaluation(ctx context.Context, model string) (caresignal.Evaluation, error) {
	q := "SELECT id, created_at, model_name, model_version, figures, flags, report, html FROM evaluations"
	var args []any
	if model != "" {
		q += " WHERE model_name = " + s.d.Bind(1)
		args = append(args, model)
	}
	var ev caresignal.Evaluation
	var at any
	var figures, flags, report string
	err := s.db.QueryRowContext(ctx, q+" ORDER BY id DESC LIMIT 1", args...).Scan(&ev.ID, &at, &ev.Model, &ev.Version, &figures, &flags, &report, &ev.HTML)
	if errors.Is(err, sql.ErrNoRows) {
		what := "no evaluation is stored"
		if model != "" {
			what = "no evaluation of " + model + " is stored"
		}
		return ev, caresignal.Errorf(caresignal.ENOTFOUND, "%s: run caresignal evaluate report", what)
	}
	if err != nil {
		return ev, s.fail(err, "reading the latest evaluation")
	}
	if ev.CreatedAt, err = parseTime(at); err != nil {
		return ev, s.fail(err, "reading the latest evaluation")
	}
	if err := json.Unmarshal([]byte(figures), &ev.Figures); err != nil {
		return ev, s.fail(err, "reading the latest evaluation's figures")
	}
	if err := json.Unmarshal([]byte(flags), &ev.Flags); err != nil {
		return ev, s.fail(err, "reading the latest evaluation's flags")
	}
	ev.Report = json.RawMessage(report)
	return ev, nil
}
