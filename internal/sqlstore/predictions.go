package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/caresignal/caresignal"
)

// The prediction log is written a request at a time (prediction_requests)
// and read a prediction at a time, through the predictions view, which
// also reads the rows earlier versions stored one per prediction
// (prediction_log).

var (
	requestColumns    = []string{"id", "at", "model_name", "model_version", "route", "kind", "request_id", "instances", "items"}
	predictionColumns = []string{"id", "at", "model_name", "model_version", "route", "kind", "request_id", "patient_id", "inputs", "features_hash", "outputs"}
)

// requestChunk is the most records in one INSERT statement (9 columns
// each: well under both databases' parameter limits). The statement for a
// full chunk is prepared once and kept, since parsing it costs about as
// much as running it.
const requestChunk = 500

// AppendRequests stores records in one transaction; a record whose id is
// already stored is skipped, so a replayed batch is harmless.
func (s *Store) AppendRequests(ctx context.Context, recs []caresignal.RequestRecord) error {
	if len(recs) == 0 {
		return nil
	}
	for i := range recs {
		if recs[i].ID == "" {
			return caresignal.Invalidf("id", "prediction record %d has no id", i)
		}
		if recs[i].Instances < 1 {
			return caresignal.Invalidf("instances", "prediction record %d holds no instance", i)
		}
	}
	full, err := s.requestStmt(ctx)
	if err != nil {
		return s.fail(err, "preparing the prediction log insert")
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		args := make([]any, 0, min(len(recs), requestChunk)*len(requestColumns))
		for start := 0; start < len(recs); start += requestChunk {
			chunk := recs[start:min(start+requestChunk, len(recs))]
			args = args[:0]
			for i := range chunk {
				r := &chunk[i]
				args = append(args, r.ID, stamp(instant(r.At)), r.Model, r.Version, r.Route, r.Kind, r.RequestID, r.Instances, string(r.Items))
			}
			var err error
			if len(chunk) == requestChunk {
				_, err = tx.StmtContext(ctx, full).ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, requestInsert(s.d.Bind, len(chunk)), args...)
			}
			if err != nil {
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

// CountPredictions returns how many predictions the log holds.
func (s *Store) CountPredictions(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM prediction_log) + (SELECT COALESCE(SUM(instances), 0) FROM prediction_requests)").Scan(&n); err != nil {
		return 0, s.fail(err, "counting prediction records")
	}
	return n, nil
}

func requestInsert(bind func(int) string, rows int) string {
	return insertSQL(bind, "prediction_requests", requestColumns, rows) + " ON CONFLICT (id) DO NOTHING"
}

// requestStmt returns the prepared INSERT of a full chunk.
func (s *Store) requestStmt(ctx context.Context) (*sql.Stmt, error) {
	s.predMu.Lock()
	defer s.predMu.Unlock()
	if s.predStmt == nil {
		st, err := s.db.PrepareContext(ctx, requestInsert(s.d.Bind, requestChunk))
		if err != nil {
			return nil, err
		}
		s.predStmt = st
	}
	return s.predStmt, nil
}

// predictionWhere renders f as a WHERE clause (or "") and its arguments.
func (s *Store) predictionWhere(f caresignal.PredictionFilter) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, s.d.Bind(len(args))))
	}
	if f.Model != "" {
		add("model_name = %s", f.Model)
	}
	if f.Version != "" {
		add("model_version = %s", f.Version)
	}
	if !f.From.IsZero() {
		add("at >= %s", stamp(f.From))
	}
	if !f.To.IsZero() {
		add("at < %s", stamp(f.To))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// SummarisePredictions counts the predictions matching f per model version
// and route, with the first and last time of each.
func (s *Store) SummarisePredictions(ctx context.Context, f caresignal.PredictionFilter) ([]caresignal.PredictionGroup, error) {
	// Counted from the tables rather than the view: a request's
	// instances need not be expanded to be counted.
	where, args := s.predictionWhere(f)
	rows, err := s.db.QueryContext(ctx, "SELECT model_name, model_version, route, SUM(n), MIN(at), MAX(at) FROM ("+
		"SELECT model_name, model_version, route, 1 AS n, at FROM prediction_log UNION ALL "+
		"SELECT model_name, model_version, route, instances AS n, at FROM prediction_requests) AS p"+
		where+" GROUP BY model_name, model_version, route ORDER BY model_name, model_version, route", args...)
	if err != nil {
		return nil, s.fail(err, "summarising the prediction log")
	}
	defer rows.Close()
	out := []caresignal.PredictionGroup{}
	for rows.Next() {
		var g caresignal.PredictionGroup
		var first, last any
		if err := rows.Scan(&g.Model, &g.Version, &g.Route, &g.Records, &first, &last); err != nil {
			return nil, s.fail(err, "summarising the prediction log")
		}
		if g.First, err = parseTime(first); err != nil {
			return nil, s.fail(err, "summarising the prediction log")
		}
		if g.Last, err = parseTime(last); err != nil {
			return nil, s.fail(err, "summarising the prediction log")
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "summarising the prediction log")
	}
	return out, nil
}

// ScanPredictions calls fn with each prediction matching f in time order,
// ties by id, streaming the rows of the predictions view.
func (s *Store) ScanPredictions(ctx context.Context, f caresignal.PredictionFilter, fn func(*caresignal.PredictionRecord) error) error {
	where, args := s.predictionWhere(f)
	rows, err := s.db.QueryContext(ctx, "SELECT "+strings.Join(predictionColumns, ", ")+" FROM predictions"+where+" ORDER BY at, id", args...)
	if err != nil {
		return s.fail(err, "reading the prediction log")
	}
	defer rows.Close()
	for rows.Next() {
		var r caresignal.PredictionRecord
		var at any
		var inputs, outputs string
		if err := rows.Scan(&r.ID, &at, &r.Model, &r.Version, &r.Route, &r.Kind, &r.RequestID, &r.PatientID, &inputs, &r.FeaturesHash, &outputs); err != nil {
			return s.fail(err, "reading the prediction log")
		}
		if r.At, err = parseTime(at); err != nil {
			return s.fail(err, "reading the prediction log")
		}
		r.Inputs, r.Outputs = json.RawMessage(inputs), json.RawMessage(outputs)
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.fail(err, "reading the prediction log")
	}
	return nil
}
