package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestJSONBodiesOnly holds every route that reads a JSON body to one rule:
// a body declared as anything but application/json (with or without
// parameters) is refused with 415 in the route's own error format; a
// body without a Content-Type is read as JSON.
func TestJSONBodiesOnly(t *testing.T) {
	srv, _ := testServer(t)
	h := srv.Config.Handler
	name := testModel(t).Name
	version := testModel(t).Version
	routes := []struct {
		method, path string
		errorKey     string // the key of the error message in the route's error body
	}{
		{http.MethodPost, "/api/engagement", "error"},
		{http.MethodPost, "/invocations", "message"},
		{http.MethodPost, "/v2/models/" + name + "/infer", "error"},
		{http.MethodPost, "/v2/models/" + name + "/versions/" + version + "/infer", "error"},
		{http.MethodPut, "/api/admin/models/" + name + "/serving", "error"},
		{http.MethodPost, "/api/admin/keys", "error"},
	}
	refused := []string{
		"text/plain",
		"text/plain; charset=utf-8",
		"application/x-www-form-urlencoded",
		"multipart/form-data; boundary=XBOUNDARY",
		"application/xml",
		"application/jsonp",
		"application/json-patch+json",
		"text/json",
		"application/json;;",
		"json",
	}
	accepted := []string{"", "application/json", "application/json; charset=utf-8", "Application/JSON"}
	do := func(method, path, ct string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(`{}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, rt := range routes {
		for _, ct := range refused {
			rec := do(rt.method, rt.path, ct)
			if rec.Code != http.StatusUnsupportedMediaType {
				t.Errorf("%s %s as %q: %d, want 415", rt.method, rt.path, ct, rec.Code)
				continue
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Errorf("%s %s as %q: body %q: %v", rt.method, rt.path, ct, rec.Body, err)
			} else if msg, _ := body[rt.errorKey].(string); !strings.Contains(msg, "application/json") {
				t.Errorf("%s %s as %q: body %s does not say what to send", rt.method, rt.path, ct, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("%s %s as %q: answered as %q", rt.method, rt.path, ct, got)
			}
		}
		for _, ct := range accepted {
			if rec := do(rt.method, rt.path, ct); rec.Code == http.StatusUnsupportedMediaType {
				t.Errorf("%s %s as %q: 415 %s", rt.method, rt.path, ct, rec.Body)
			}
		}
	}
}
