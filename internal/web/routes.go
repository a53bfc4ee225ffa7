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

// route is one entry of the HTTP surface.
type route struct {
	pattern string
	handler http.Handler
}

// routeTable lists the whole HTTP surface; /openapi.json documents every
// pattern in it (a test holds the two together).
func (s *server) routeTable() []route {
	return []route{
		{"POST /api/engagement", s.handleEngagement()},
		{"GET /api/model", s.handleModel()},
		{"GET /api/models/{name}", s.handleModelSummary()},
		{"/api/", s.handleAPIFallback()},
		{"GET /healthz", s.handleHealthz()},
		{"GET /readyz", s.handleReadyz()},
		{"GET /metrics", s.handleMetrics()},
		{"GET /openapi.json", s.handleOpenAPI()},
		{"POST /invocations", s.handleInvocations()},
		{"GET /ping", s.handlePing()},
		{"GET /health", s.handlePing()},
		{"GET /version", s.handleVersion()},
		{"GET /v2", s.handleV2Server()},
		{"GET /v2/health/live", s.handleV2Live()},
		{"GET /v2/health/ready", s.handleV2Ready()},
		{"GET /v2/models/{name}", s.handleV2Model()},
		{"GET /v2/models/{name}/versions/{version}", s.handleV2Model()},
		{"GET /v2/models/{name}/ready", s.handleV2ModelReady()},
		{"GET /v2/models/{name}/versions/{version}/ready", s.handleV2ModelReady()},
		{"POST /v2/models/{name}/infer", s.handleV2Infer()},
		{"POST /v2/models/{name}/versions/{version}/infer", s.handleV2Infer()},
		{"GET /{$}", s.handleIndex()},
		{"POST /{$}", s.handleWhatIf()},
		{"GET /worklist", s.handleWorklist()},
		{"GET /model", s.handleModelPage()},
		{"GET /monitoring", s.handleMonitoring()},
		{"GET /monitoring/report", s.handleMonitoringReport()},
		{"GET /api/monitoring", s.handleMonitoringAPI()},
		{"GET /login", s.handleLoginForm()},
		{"POST /login", s.handleLogin()},
		{"POST /logout", s.handleLogout()},
		{"GET /api/admin/models", s.handleAdminModels()},
		{"POST /api/admin/models/{name}/versions/{version}/activate", s.handleActivate()},
		{"POST /api/admin/models/{name}/rollback", s.handleRollback()},
		{"PUT /api/admin/models/{name}/serving", s.handleServingConfig()},
		{"POST /api/admin/reload", s.handleReload()},
		{"GET /api/admin/keys", s.handleKeys()},
		{"POST /api/admin/keys", s.handleCreateKey()},
		{"DELETE /api/admin/keys/{id}", s.handleRevokeKey()},
		{"GET /api/admin/audit", s.handleAudit()},
		{"POST /api/admin/drain", s.handleDrain()},
		{"POST /api/admin/stop", s.handleStop()},
	}
}

func (s *server) routes(mux *http.ServeMux) {
	for _, r := range s.routeTable() {
		mux.Handle(r.pattern, s.guard(r.pattern, r.handler))
	}
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
