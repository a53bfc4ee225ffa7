package web

import (
	"net/http"
	"strings"

	"github.com/caresignal/caresignal"
)

// apiRoutes lists the JSON routes with their methods, so that a wrong
// method or path under /api/ gets a JSON error too.
var apiRoutes = map[string]string{
	"/api/engagement": http.MethodPost,
	"/api/model":      http.MethodGet,
}

// routes lists the whole HTTP surface.
func (s *server) routes(mux *http.ServeMux) {
	mux.Handle("POST /api/engagement", s.handleEngagement())
	mux.Handle("GET /api/model", s.handleModel())
	mux.Handle("GET /api/models/{name}", s.handleModelSummary())
	mux.Handle("/api/", s.handleAPIFallback())
	mux.Handle("GET /healthz", s.handleHealthz())
	mux.Handle("POST /invocations", s.handleInvocations())
	mux.Handle("GET /ping", s.handlePing())
	mux.Handle("GET /health", s.handlePing())
	mux.Handle("GET /version", s.handleVersion())
	mux.Handle("GET /{$}", s.handleIndex())
	mux.Handle("POST /{$}", s.handleWhatIf())
	mux.Handle("GET /worklist", s.handleWorklist())
	mux.Handle("GET /model", s.handleModelPage())
}

// handleAPIFallback answers requests under /api/ that no route takes:
// 405 with an Allow header for a known path, 404 otherwise, both in JSON.
func (s *server) handleAPIFallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimSuffix(r.URL.Path, "/")
		method, ok := apiRoutes[path]
		if strings.HasPrefix(path, "/api/models/") && !strings.Contains(strings.TrimPrefix(path, "/api/models/"), "/") {
			method, ok = http.MethodGet, true
		}
		if ok {
			w.Header().Set("Allow", method)
			writeJSON(s.log, w, http.StatusMethodNotAllowed, ErrorBody{Error: path + " takes " + method})
			return
		}
		s.writeError(w, r, caresignal.Errorf(caresignal.ENOTFOUND, "no API route %s", r.URL.Path))
	})
}
