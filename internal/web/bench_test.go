package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkEngagement measures the handler for one single-patient request,
// without the network: decoding, scoring, encoding and the access log.
func BenchmarkEngagement(b *testing.B) {
	h := NewHandler(Config{Model: testModel(b), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	body := `{"patient_id": "P0012345", "features": ` + goodFeatures + `, "horizon": 12}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/engagement", strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
