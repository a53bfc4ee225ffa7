package web

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/caresignal/caresignal/wire"
)

// TestInvocations: every request format MLflow's scoring server takes
// returns, for each person-period row, the hazard the native API gives for
// that month.
func TestInvocations(t *testing.T) {
	srv, _ := testServer(t)
	want := make([]float64, 2)
	for i, months := range []int{0, 4} {
		code, body := post(t, srv, `{"features": `+goodFeatures+`, "months_enrolled": `+strconv.Itoa(months)+`, "horizon": 1}`)
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		var r wire.Answer
		json.Unmarshal(body, &r)
		want[i] = r.Predictions[0].Hazard[0]
	}
	var feats map[string]any
	json.Unmarshal([]byte(goodFeatures), &feats)
	rec := func(month int) map[string]any {
		m := map[string]any{"month": month}
		for k, v := range feats {
			m[k] = v
		}
		return m
	}
	records := []any{rec(1), rec(5)}
	cols := []string{"month"}
	row1, row5 := []any{1}, []any{5}
	for k, v := range feats {
		cols = append(cols, k)
		row1, row5 = append(row1, v), append(row5, v)
	}
	columns := map[string]any{}
	for _, c := range cols {
		columns[c] = []any{rec(1)[c], rec(5)[c]}
	}
	for name, req := range map[string]any{
		"dataframe_split":   map[string]any{"dataframe_split": map[string]any{"columns": cols, "data": []any{row1, row5}}},
		"dataframe_records": map[string]any{"dataframe_records": records},
		"instances":         map[string]any{"instances": records},
		"inputs":            map[string]any{"inputs": records},
		"inputs columns":    map[string]any{"inputs": columns},
	} {
		b, _ := json.Marshal(req)
		code, body := invoke(t, srv, "application/json", string(b))
		var got struct{ Predictions []float64 }
		if err := json.Unmarshal(body, &got); code != 200 || err != nil || len(got.Predictions) != 2 {
			t.Errorf("%s: %d %s", name, code, body)
			continue
		}
		for i := range want {
			if math.Abs(got.Predictions[i]-want[i]) > 1e-15 {
				t.Errorf("%s: row %d hazard %v, the native API gives %v", name, i, got.Predictions[i], want[i])
			}
		}
	}
	for body, wantMsg := range map[string]string{
		`{}`:                              "none of dataframe_split",
		`{"instances": [], "inputs": []}`: "both",
		`{"instances": []}`:               "no records",
		`{"instances": [{"age": 3}]}`:     `"month" column`,
		`{"instances": [{"month": 0}]}`:   "whole number",
		`{"instances": [1]}`:              "must be an object",
		`{"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}`: "list of 1 values",
		`{"instances": [{"month": 1}], "params": {}}`:               "params",
		`{"instances": [{"month": 1, "age": true}]}`:                "number, a string or null",
		`[1, 2]`: "not a JSON object",
	} {
		code, got := invoke(t, srv, "application/json", body)
		var e wire.MLflowError
		if code != 400 || json.Unmarshal(got, &e) != nil || e.ErrorCode != "BAD_REQUEST" || !strings.Contains(e.Message, wantMsg) {
			t.Errorf("%s: %d %s, want 400 with %q", body, code, got, wantMsg)
		}
	}
	// A missing feature names the record and the feature.
	b, _ := json.Marshal(map[string]any{"instances": []any{map[string]any{"month": 1}}})
	if code, got := invoke(t, srv, "application/json", string(b)); code != 400 || !strings.Contains(string(got), "records[0]") {
		t.Errorf("missing features: %d %s", code, got)
	}
	if code, _ := invoke(t, srv, "text/csv", "a,b\n1,2\n"); code != http.StatusUnsupportedMediaType {
		t.Errorf("CSV: %d", code)
	}
	for _, path := range []string{"/ping", "/health", "/version"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
}

func invoke(t *testing.T, srv *httptest.Server, ct, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/invocations", ct, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
