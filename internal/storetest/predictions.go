package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
)

// request is a record of n instances, patients P<i>, inputs {"i": <i>}.
func request(id string, at time.Time, version, route, kind string, n int) caresignal.RequestRecord {
	var items []string
	for i := range n {
		items = append(items, fmt.Sprintf(`{"patient_id":"P%d","features_hash":"h%d","inputs":{"i": %d, "x": 1.50},"outputs":{"hazard":[0.%d]}}`, i, i, i, i+1))
	}
	return caresignal.RequestRecord{ID: id, At: at, Model: "engagement", Version: version, Route: route, Kind: kind, RequestID: "q-" + id,
		Instances: n, Items: json.RawMessage("[" + strings.Join(items, ",") + "]")}
}

// compact is JSON without insignificant space: SQLite's view gives an
// instance's inputs so (every number as it was written), PostgreSQL's as
// they were stored.
func compact(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return b.String()
}

// testPredictionLog: request records are stored in batches larger than one
// statement; storing a batch again (a replay) adds nothing; a batch with a
// bad record stores none of it; read a prediction at a time, each
// request's instances come in order with their inputs and outputs, beside
// rows stored one per prediction by earlier versions.
func testPredictionLog(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	defer s.Close()
	base := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	recs := make([]caresignal.RequestRecord, 650)
	for i := range recs {
		recs[i] = request(fmt.Sprintf("r%04d", i), base.Add(time.Duration(i)*time.Second), "v1", "POST /api/engagement", "patient", 1)
	}
	if err := s.AppendRequests(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendRequests(ctx, recs[100:300]); err != nil {
		t.Fatalf("replaying a batch: %v", err)
	}
	if n, err := s.CountPredictions(ctx); err != nil || n != len(recs) {
		t.Fatalf("count %d (%v), want %d", n, err, len(recs))
	}
	for _, bad := range [][]caresignal.RequestRecord{
		{request("new1", base, "v", "POST /", "whatif", 1), {}},
		{request("new2", base, "v", "POST /", "whatif", 1), request("", base, "v", "POST /", "whatif", 1)},
		{request("new3", base, "v", "POST /", "whatif", 1), request("new4", base, "v", "POST /", "other", 1)},
		{request("new5", base, "v", "POST /", "whatif", 1), withItems(request("new6", base, "v", "POST /", "whatif", 1), `[{"patient_id":"\u0000"}]`)},
		{request("new7", base, "v", "POST /", "whatif", 1), withItems(request("new8", base, "v", "POST /", "whatif", 1), "[{\"patient_id\":\"\x00\"}]")},
	} {
		// Refused as invalid, not as a failure of the database: the
		// prediction log sets such a record aside rather than retry it.
		if err := s.AppendRequests(ctx, bad); caresignal.ErrorCode(err) != caresignal.EINVALID {
			t.Errorf("a batch with a bad record: %v, want %s: %+v", err, caresignal.EINVALID, bad[1])
		}
	}
	if n, _ := s.CountPredictions(ctx); n != len(recs) {
		t.Errorf("a refused batch stored records: count %d", n)
	}

	// A batch scoring chunk of three patients, a what-if request, and two
	// rows an earlier version stored one per prediction (one of them a
	// shadow's /invocations row), all on 29 November.
	day := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	more := []caresignal.RequestRecord{
		request("z1", day, "v2", "caresignal score", "patient", 3),
		request("w1", day.Add(time.Minute), "v2", "POST /", "whatif", 1),
	}
	if err := s.AppendRequests(ctx, more); err != nil {
		t.Fatal(err)
	}
	db, ok := s.(interface{ DB() *sql.DB })
	if !ok {
		t.Fatal("the store does not give its database, to write rows of the earlier format")
	}
	for _, row := range []string{
		`('a0', '2026-11-29T09:00:00.000000Z', 'engagement', 'v2', 'caresignal score', 'q-old', 'P9', '{"a":  2}', 'fh', '{"hazard":[0.3]}')`,
		`('b0', '2026-11-29T09:30:00.000000Z', 'engagement', 'v2', 'POST /invocations (shadow)', 'q-old2', '', '{"month": 3}', '', '{"hazard":[0.4],"expected_months":0}')`,
	} {
		if _, err := db.DB().ExecContext(ctx, `INSERT INTO prediction_log (id, at, model_name, model_version, route, request_id, patient_id, inputs, features_hash, outputs) VALUES `+row); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.CountPredictions(ctx); err != nil || n != len(recs)+6 {
		t.Errorf("count %d (%v), want %d", n, err, len(recs)+6)
	}
	groups, err := s.SummarisePredictions(ctx, caresignal.PredictionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	type group struct {
		version, route string
		n              int
	}
	var gotGroups []group
	for _, g := range groups {
		gotGroups = append(gotGroups, group{g.Version, g.Route, g.Records})
	}
	if want := []group{{"v1", "POST /api/engagement", len(recs)}, {"v2", "POST /", 1}, {"v2", "POST /invocations (shadow)", 1}, {"v2", "caresignal score", 4}}; fmt.Sprint(gotGroups) != fmt.Sprint(want) {
		t.Errorf("summary %v, want %v", gotGroups, want)
	}
	if !groups[0].First.Equal(recs[0].At) || !groups[0].Last.Equal(recs[len(recs)-1].At) || !groups[3].First.Equal(day) {
		t.Errorf("summary times %+v", groups)
	}

	var got []caresignal.PredictionRecord
	collect := func(r *caresignal.PredictionRecord) error { got = append(got, *r); return nil }
	if err := s.ScanPredictions(ctx, caresignal.PredictionFilter{Version: "v2"}, collect); err != nil {
		t.Fatal(err)
	}
	type row struct{ id, kind, route, request, patient, hash, inputs, outputs string }
	want := []row{
		{"a0", "patient", "caresignal score", "q-old", "P9", "fh", `{"a":2}`, `{"hazard":[0.3]}`},
		{"z1/00000", "patient", "caresignal score", "q-z1", "P0", "h0", `{"i":0,"x":1.50}`, `{"hazard":[0.1]}`},
		{"z1/00001", "patient", "caresignal score", "q-z1", "P1", "h1", `{"i":1,"x":1.50}`, `{"hazard":[0.2]}`},
		{"z1/00002", "patient", "caresignal score", "q-z1", "P2", "h2", `{"i":2,"x":1.50}`, `{"hazard":[0.3]}`},
		{"w1/00000", "whatif", "POST /", "q-w1", "P0", "h0", `{"i":0,"x":1.50}`, `{"hazard":[0.1]}`},
		{"b0", "person_period", "POST /invocations (shadow)", "q-old2", "", "", `{"month":3}`, `{"hazard":[0.4],"expected_months":0}`},
	}
	if len(got) != len(want) {
		t.Fatalf("scan v2: %d predictions, want %d: %+v", len(got), len(want), got)
	}
	for i, g := range got {
		r := row{g.ID, g.Kind, g.Route, g.RequestID, g.PatientID, g.FeaturesHash, compact(t, g.Inputs), compact(t, g.Outputs)}
		if r != want[i] || g.Model != "engagement" || g.Version != "v2" {
			t.Errorf("prediction %d: %+v\nwant %+v", i, r, want[i])
		}
	}
	if !got[0].At.Equal(day) || !got[4].At.Equal(day.Add(time.Minute)) {
		t.Errorf("times %v %v", got[0].At, got[4].At)
	}
	got = nil
	window := caresignal.PredictionFilter{Model: "engagement", From: recs[10].At, To: recs[20].At}
	if err := s.ScanPredictions(ctx, window, collect); err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || got[0].ID != "r0010/00000" || got[9].ID != "r0019/00000" || compact(t, got[0].Inputs) != `{"i":0,"x":1.50}` {
		t.Errorf("scan of a time window: %d records", len(got))
	}
	stop := fmt.Errorf("stop")
	n := 0
	if err := s.ScanPredictions(ctx, caresignal.PredictionFilter{}, func(*caresignal.PredictionRecord) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("an error from fn: %v after %d records", err, n)
	}
	if groups, err := s.SummarisePredictions(ctx, caresignal.PredictionFilter{Model: "other"}); err != nil || len(groups) != 0 {
		t.Errorf("summary of an unknown model: %v, %v", groups, err)
	}
}

func withItems(r caresignal.RequestRecord, items string) caresignal.RequestRecord {
	r.Items = []byte(items)
	return r
}
