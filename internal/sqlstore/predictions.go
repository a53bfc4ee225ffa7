package sqlstore

import (
	"context"
	"database/sql"

	"github.com/caresignal/caresignal"
)

var predictionColumns = []string{"id", "at", "model_name", "model_version", "route", "request_id", "patient_id", "inputs", "features_hash", "outputs"}

// predictionChunk is the most records in one INSERT statement (10 columns
// each: well under both databases' parameter limits).
const predictionChunk = 200

// AppendPredictions stores records in one transaction; a record whose id is
// already stored is skipped, so a replayed batch is harmless.
func (s *Store) AppendPredictions(ctx context.Context, recs []caresignal.PredictionRecord) error {
	if len(recs) == 0 {
		return nil
	}
	for i := range recs {
		if recs[i].ID == "" {
			return caresignal.Invalidf("id", "prediction record %d has no id", i)
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		args := make([]any, 0, predictionChunk*len(predictionColumns))
		for start := 0; start < len(recs); start += predictionChunk {
			chunk := recs[start:min(start+predictionChunk, len(recs))]
			args = args[:0]
			for i := range chunk {
				r := &chunk[i]
				args = append(args, r.ID, stamp(instant(r.At)), r.Model, r.Version, r.Route, r.RequestID, r.PatientID,
					string(r.Inputs), r.FeaturesHash, string(r.Outputs))
			}
			q := insertSQL(s.d.Bind, "prediction_log", predictionColumns, len(chunk)) + " ON CONFLICT (id) DO NOTHING"
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.fail(err, "storing %d prediction records", len(recs))
	}
	return nil
}

// CountPredictions returns how many records the prediction log holds.
func (s *Store) CountPredictions(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM prediction_log").Scan(&n); err != nil {
		return 0, s.fail(err, "counting prediction records")
	}
	return n, nil
}
