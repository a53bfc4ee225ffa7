package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caresignal/caresignal/internal/sqlite"
)

// TestOpenAPICoversEveryRoute: every route of the table is documented in
// /openapi.json with its method and its access level (and public routes
// without credentials), and the document documents nothing else.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	type operation struct {
		Access      string            `json:"x-caresignal-access"`
		Security    *[]map[string]any `json:"security"`
		RequestBody struct {
			Content map[string]any `json:"content"`
		} `json:"requestBody"`
		Responses map[string]any `json:"responses"`
	}
	var doc struct {
		Paths map[string]map[string]operation `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	s := &server{metrics: newMetrics(nil)}
	documented := map[string]operation{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = op
		}
	}
	for _, r := range s.routeTable() {
		if r.pattern == "/api/" {
			continue // the JSON 404/405 fallback, not a route of its own
		}
		method, path, _ := strings.Cut(r.pattern, " ")
		path = strings.TrimSuffix(path, "{$}")
		key := method + " " + path
		op, ok := documented[key]
		if !ok {
			t.Errorf("route %q is not in openapi.json", r.pattern)
			continue
		}
		if op.Access != r.level {
			t.Errorf("openapi.json gives %q access %q; the route table says %q", key, op.Access, r.level)
		}
		if noCredentials := op.Security != nil && len(*op.Security) == 0; noCredentials != (r.level == levelPublic) {
			t.Errorf("openapi.json: %q has security %v, but its access is %q", key, op.Security, r.level)
		}
		// Every route that reads a JSON body refuses other types.
		if _, json := op.RequestBody.Content["application/json"]; json && op.Responses["415"] == nil {
			t.Errorf("openapi.json: %q takes a JSON body but does not document its 415", key)
		}
		delete(documented, key)
	}
	for k := range documented {
		t.Errorf("openapi.json documents %q, which is not a route", k)
	}
}

func TestMetricsAndReadiness(t *testing.T) {
	srv, _ := testServer(t)
	post(t, srv, `{"features": `+goodFeatures+`}`)
	post(t, srv, `{"instances": [{"features": `+goodFeatures+`}, {"features": `+goodFeatures+`}]}`)
	post(t, srv, `{"features": {}}`)
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	for _, want := range []string{
		`caresignal_http_request_duration_seconds_count{route="POST /api/engagement",status="200"} 2`,
		`caresignal_http_request_duration_seconds_count{route="POST /api/engagement",status="400"} 1`,
		`caresignal_predictions_total{model="engagement",version=`,
		`caresignal_http_requests_in_flight 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(text, "} 3\n") {
		t.Errorf("three patients were scored; /metrics says otherwise:\n%s", grep(text, "predictions_total"))
	}
	if strings.Contains(text, "P-SECRET") || strings.Contains(text, "diabetes") {
		t.Error("metrics must not carry patient data")
	}
	resp, err = http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"model":"ok"`) || !strings.Contains(string(b), `"database":"none configured"`) {
		t.Errorf("/readyz: %d %s", resp.StatusCode, b)
	}
}

func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestReadinessFollowsTheDatabase: /readyz is 200 with a reachable
// database and 503 once it is gone.
func TestReadinessFollowsTheDatabase(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(Config{Model: testModel(t), Store: store, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}))
	defer srv.Close()
	status := func() (int, string) {
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := status(); code != 200 || !strings.Contains(body, `"database":"ok"`) {
		t.Errorf("with the database: %d %s", code, body)
	}
	store.Close()
	if code, body := status(); code != 503 || !strings.Contains(body, `"database":"unreachable"`) {
		t.Errorf("without the database: %d %s", code, body)
	}
}
