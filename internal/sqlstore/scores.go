package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/caresignal/caresignal"
)

var scoreColumns = []string{"run_id", "patient_id", "months_enrolled", "hazard_next", "survival_end", "expected_months", "median_months", "band", "drivers", "risk_30d"}

// ReplaceScores writes one scoring run in a transaction, replacing any
// earlier run of the same model version and as-of date.
func (s *Store) ReplaceScores(ctx context.Context, run caresignal.ScoreRun, scores []caresignal.Score) error {
	b := s.d.Bind
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		asOf := FormatDate(run.AsOf)
		if _, err := tx.ExecContext(ctx, "DELETE FROM scores WHERE run_id IN (SELECT id FROM score_runs WHERE model_version = "+b(1)+" AND as_of = "+b(2)+")",
			run.Model.Version, asOf); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM score_runs WHERE model_version = "+b(1)+" AND as_of = "+b(2), run.Model.Version, asOf); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, "INSERT INTO score_runs (model_name, model_version, as_of, scored_at, horizon, patients) VALUES ("+
			b(1)+", "+b(2)+", "+b(3)+", "+b(4)+", "+b(5)+", "+b(6)+") RETURNING id",
			run.Model.Name, run.Model.Version, asOf, run.ScoredAt.UTC().Format(time.RFC3339Nano), run.Horizon, len(scores)).Scan(&id); err != nil {
			return err
		}
		return InsertRows(ctx, tx, b, "scores", scoreColumns, len(scores), 500, func(i int, dst []any) []any {
			sc := &scores[i]
			var median any
			if sc.MedianMonths != nil {
				median = *sc.MedianMonths
			}
			band := sc.Band.Level()
			if band == 0 {
				band = caresignal.BandLow.Level()
			}
			return append(dst, id, sc.PatientID, sc.MonthsEnrolled, sc.HazardNext, sc.SurvivalEnd, sc.ExpectedMonths, median, band, encodeDrivers(sc.Drivers), sc.Risk30)
		}, nil)
	})
	if err != nil {
		return fmt.Errorf("%s: writing scores: %w", s.d.Name, err)
	}
	// Fresh statistics, so that the worklist's queries are planned for
	// the table as it now is rather than as it was before the run (the
	// scores are written; a failure here only costs speed).
	s.db.ExecContext(ctx, "ANALYZE scores")
	return nil
}

// TopScores returns the latest run and its highest-risk patients.
func (s *Store) TopScores(ctx context.Context, limit int) (caresignal.ScoreRun, []caresignal.Score, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, runSelect+"ORDER BY id DESC LIMIT 1"))
	run := r.run
	if errors.Is(err, sql.ErrNoRows) {
		return run, nil, caresignal.Errorf(caresignal.ENOTFOUND, "no scores yet: run caresignal score")
	}
	if err != nil {
		return run, nil, fmt.Errorf("%s: reading scores: %w", s.d.Name, err)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT s.patient_id, "+scoreRead+" FROM scores s WHERE s.run_id = "+
		s.d.Bind(1)+" ORDER BY s.hazard_next DESC, s.patient_id LIMIT "+s.d.Bind(2), r.id, limit)
	if err != nil {
		return run, nil, fmt.Errorf("%s: reading scores: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []caresignal.Score
	for rows.Next() {
		var sc caresignal.Score
		var x scoreScan
		if err := rows.Scan(append([]any{&sc.PatientID}, x.dest(&sc)...)...); err != nil {
			return run, nil, err
		}
		if err := x.finish(&sc); err != nil {
			return run, nil, err
		}
		out = append(out, sc)
	}
	return run, out, rows.Err()
}

func parseTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case time.Time:
		return v.UTC(), nil
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC(), nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("unexpected timestamp %v", v)
}
