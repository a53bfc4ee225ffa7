package web

import (
	"net/http"
	"strings"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/wire"
)

// route is one entry of the HTTP surface: its pattern, who may use it,
// whether it is a web-app page, and its handler. The access rules, the
// JSON fallback and the check of /openapi.json all read this table.
type route struct {
	pattern string
	level   string // levelPublic … levelAdmin: the roles that may use it
	// page marks web-app pages: HTML answers, and a login redirect for
	// a browser without a session. Every other route answers JSON.
	page    bool
	handler http.Handler
}

// Route kinds, for the table's readability.
const (
	api  = false
	page = true
)

// routeTable lists the whole HTTP surface; /openapi.json documents every
// pattern in it with its access level (a test holds the two together).
func (s *server) routeTable() []route {
	return []route{
		{"POST /api/engagement", levelPredict, api, s.handleEngagement()},
		{"GET /api/model", levelApp, api, s.handleModel()},
		{"GET /api/models/{name}", levelApp, api, s.handleModelSummary()},
		{"/api/", levelPublic, api, s.handleAPIFallback()}, // only ever answers 404 or 405
		{"GET /healthz", levelPublic, api, s.handleHealthz()},
		{"GET /readyz", levelPublic, api, s.handleReadyz()},
		{"GET /metrics", levelViewer, api, s.handleMetrics()},
		{"GET /openapi.json", levelPublic, api, s.handleOpenAPI()},

		{"POST /invocations", levelPredict, api, s.handleInvocations()},
		{"GET /ping", levelPublic, api, s.handlePing()},
		{"GET /health", levelPublic, api, s.handlePing()},
		{"GET /version", levelApp, api, s.handleVersion()},

		{"GET /v2", levelPublic, api, s.handleV2Server()},
		{"GET /v2/health/live", levelPublic, api, s.handleV2Live()},
		{"GET /v2/health/ready", levelPublic, api, s.handleV2Ready()},
		{"GET /v2/models/{name}", levelApp, api, s.handleV2Model()},
		{"GET /v2/models/{name}/versions/{version}", levelApp, api, s.handleV2Model()},
		{"GET /v2/models/{name}/ready", levelApp, api, s.handleV2ModelReady()},
		{"GET /v2/models/{name}/versions/{version}/ready", levelApp, api, s.handleV2ModelReady()},
		{"POST /v2/models/{name}/infer", levelPredict, api, s.handleV2Infer()},
		{"POST /v2/models/{name}/versions/{version}/infer", levelPredict, api, s.handleV2Infer()},

		{"GET /{$}", levelApp, page, s.handleIndex()},
		{"POST /{$}", levelApp, page, s.handleWhatIf()},
		{"GET /worklist", levelApp, page, s.handleWorklist()},
		{"GET /model", levelApp, page, s.handleModelPage()},
		{"GET /monitoring", levelViewer, page, s.handleMonitoring()},
		{"GET /monitoring/report", levelViewer, page, s.handleMonitoringReport()},
		{"GET /api/monitoring", levelViewer, api, s.handleMonitoringAPI()},
		{"GET /login", levelPublic, page, s.handleLoginForm()},
		{"POST /login", levelPublic, page, s.handleLogin()},
		{"POST /logout", levelApp, page, s.handleLogout()},

		{"GET /api/admin/models", levelAdmin, api, s.handleAdminModels()},
		{"POST /api/admin/models/{name}/versions/{version}/activate", levelAdmin, api, s.handleActivate()},
		{"POST /api/admin/models/{name}/rollback", levelAdmin, api, s.handleRollback()},
		{"PUT /api/admin/models/{name}/serving", levelAdmin, api, s.handleServingConfig()},
		{"POST /api/admin/reload", levelAdmin, api, s.handleReload()},
		{"GET /api/admin/keys", levelAdmin, api, s.handleKeys()},
		{"POST /api/admin/keys", levelAdmin, api, s.handleCreateKey()},
		{"DELETE /api/admin/keys/{id}", levelAdmin, api, s.handleRevokeKey()},
		{"GET /api/admin/audit", levelAdmin, api, s.handleAudit()},
		{"POST /api/admin/drain", levelAdmin, api, s.handleDrain()},
		{"POST /api/admin/stop", levelAdmin, api, s.handleStop()},
	}
}

func (s *server) routes(mux *http.ServeMux) {
	table := s.routeTable()
	s.apiMethods = apiMethods(table)
	for _, r := range table {
		mux.Handle(r.pattern, s.guard(r))
	}
}

// apiMethods maps the path of each JSON route under /api/ that the
// fallback answers 405 for to its methods: the engagement and model
// routes (the administrators' routes answer 404 to a wrong method, so
// that they do not show what exists to a caller who may not use them).
func apiMethods(table []route) map[string][]string {
	out := map[string][]string{}
	for _, r := range table {
		method, path, ok := strings.Cut(r.pattern, " ")
		if !ok || r.page || !strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/api/admin/") {
			continue
		}
		out[path] = append(out[path], method)
	}
	return out
}

// handleAPIFallback answers requests under /api/ that no route takes:
// 405 with an Allow header for a known path, 404 otherwise, both in JSON.
func (s *server) handleAPIFallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimSuffix(r.URL.Path, "/")
		for pattern, methods := range s.apiMethods {
			if matchPath(pattern, path) {
				w.Header().Set("Allow", strings.Join(methods, ", "))
				writeJSON(s.log, w, http.StatusMethodNotAllowed, wire.ErrorBody{Error: path + " takes " + strings.Join(methods, " or ")})
				return
			}
		}
		s.writeError(w, r, caresignal.Errorf(caresignal.ENOTFOUND, "no API route %s", r.URL.Path))
	})
}

// matchPath reports whether path matches a route's path pattern, whose
// {wildcards} match one non-empty segment each.
func matchPath(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		if p != xs[i] && !(strings.HasPrefix(p, "{") && xs[i] != "") {
			return false
		}
	}
	return true
}
