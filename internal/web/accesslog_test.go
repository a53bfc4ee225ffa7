package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAccessLogNamesTheRoute: identifiers placed in URLs (a model name
// here, patient ids on patient pages) stay out of the access log, which
// names the route pattern the request matched, or "unmatched"; both the
// line written directly and the one written through the logger.
func TestAccessLogNamesTheRoute(t *testing.T) {
	m := testModel(t)
	for _, direct := range []bool{false, true} {
		logs := &syncBuffer{}
		cfg := Config{Model: m, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Mode: "dev"}
		if direct {
			cfg.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
			cfg.AccessLog = logs
		}
		h := NewHandler(cfg)
		for _, tc := range []struct{ method, path, route string }{
			{http.MethodGet, "/api/models/PSECRET-1001", `"route":"GET /api/models/{name}"`},
			{http.MethodGet, "/v2/models/PSECRET-1002/versions/PSECRET-1003/ready", `"route":"GET /v2/models/{name}/versions/{version}/ready"`},
			{http.MethodGet, "/api/PSECRET-1004", `"route":"/api/"`},
			{http.MethodGet, "/patients/PSECRET-1005", `"route":"GET /patients/{id}"`},
			{http.MethodGet, "/people/PSECRET-1007", `"route":"unmatched"`},
			{http.MethodDelete, "/model/PSECRET-1006", `"route":"unmatched"`},
			{http.MethodGet, "/healthz", `"route":"GET /healthz"`},
		} {
			logs.mu.Lock()
			logs.b.Reset()
			logs.mu.Unlock()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			line := logs.String()
			if strings.Contains(line, "PSECRET") || !strings.Contains(line, tc.route) || !strings.Contains(line, `"method":"`+tc.method+`"`) {
				t.Errorf("direct=%v %s %s (%d): access log %s, want %s and no identifier", direct, tc.method, tc.path, rec.Code, line, tc.route)
			}
		}
	}
}
