package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"unsafe"

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

// Records are inserted by prepared statements of a few fixed numbers of
// rows, so that no INSERT is parsed twice (parsing a statement of many
// rows costs about as much as running it), each statement binding at most
// stmtBytes of items: the embedded database's driver copies every bound
// value into memory of its own, and it returns regions past a few
// megabytes to the system on every statement, to fault them in again on
// the next.
var stmtRows = [...]int{64, 8, 1}

const stmtBytes = 1 << 20

// AppendRequests stores records in one transaction; a record whose id is
// already stored is skipped, so a replayed batch is harmless. A record
// the store or the database refuses (no id, no instance, bytes the
// database does not accept) fails the batch with caresignal.EINVALID;
// any other failure (the database away, a timeout) is an ordinary error.
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
		if hasNUL(recs[i].Items) {
			return caresignal.Invalidf("items", "prediction record %s holds a NUL character, which the database cannot read back", recs[i].ID)
		}
	}
	var stmts [len(stmtRows)]*sql.Stmt
	for k, rows := range stmtRows {
		var err error
		if stmts[k], err = s.requestStmt(ctx, k, rows); err != nil {
			return s.fail(err, "preparing the prediction log insert")
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		args := make([]any, 0, stmtRows[0]*len(requestColumns))
		for start := 0; start < len(recs); {
			k := len(stmtRows) - 1 // one row: always possible
			for j, rows := range stmtRows[:k] {
				if start+rows <= len(recs) && itemBytes(recs[start:start+rows]) <= stmtBytes {
					k = j
					break
				}
			}
			chunk := recs[start : start+stmtRows[k]]
			args = args[:0]
			for i := range chunk {
				r := &chunk[i]
				// The items, a tenth of a megabyte for a batch of 100, are
				// bound without a copy: a record's bytes are not changed
				// once built (caresignal.RequestRecord), and the drivers
				// copy what they bind.
				args = append(args, r.ID, stamp(instant(r.At)), r.Model, r.Version, r.Route, r.Kind, r.RequestID, r.Instances,
					unsafe.String(unsafe.SliceData(r.Items), len(r.Items)))
			}
			if _, err := tx.StmtContext(ctx, stmts[k]).ExecContext(ctx, args...); err != nil {
				return err
			}
			start += len(chunk)
		}
		return nil
	})
	if err != nil {
		if s.d.IsRefused != nil && s.d.IsRefused(err) {
			return &caresignal.Error{Code: caresignal.EINVALID, Message: fmt.Sprintf("the %s database refuses a prediction record (of %d)", s.d.Name, len(recs)), Err: err}
		}
		return s.fail(err, "storing %d prediction records", len(recs))
	}
	return nil
}

// hasNUL reports whether items hold a NUL, as a byte or as the JSON
// escape \u0000. Neither database reads one back: PostgreSQL refuses the
// byte and cannot turn the escape into text, and SQLite's JSON functions
// take the byte for malformed JSON; either would fail every read of the
// predictions view, not only the record's. (A scan for two byte strings
// costs little beside the insert.)
func hasNUL(items []byte) bool {
	if bytes.IndexByte(items, 0) >= 0 {
		return true
	}
	for rest, off := items, 0; ; {
		i := bytes.Index(rest, []byte(`\u0000`))
		if i < 0 {
			return false
		}
		// The escape is real if an even number of backslashes precede
		// it (an odd number escape its own backslash).
		n := 0
		for j := off + i - 1; j >= 0 && items[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return true
		}
		off += i + 1
		rest = items[off:]
	}
}

func itemBytes(recs []caresignal.RequestRecord) int {
	n := 0
	for i := range recs {
		n += len(recs[i].Items)
	}
	return n
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

// requestStmt returns the prepared INSERT of stmtRows[k] rows.
func (s *Store) requestStmt(ctx context.Context, k, rows int) (*sql.Stmt, error) {
	s.predMu.Lock()
	defer s.predMu.Unlock()
	if s.predStmts[k] == nil {
		st, err := s.db.PrepareContext(ctx, requestInsert(s.d.Bind, rows))
		if err != nil {
			return nil, err
		}
		s.predStmts[k] = st
	}
	return s.predStmts[k], nil
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
