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
	kind    routeKind
	handler http.Handler
}

// routeKind tells the web app's pages from the API.
type routeKind uint8

const (
	// apiRoute answers JSON, errors included.
	apiRoute routeKind = iota
	// pageRoute answers HTML, and sends a browser without a session to
	// the login page.
	pageRoute
)

// routeTable lists the whole HTTP surface; /openapi.json documents every
// pattern in it with its access level (a test holds the two together).
// Every route that reads a JSON body goes through jsonBody.
func (s *server) routeTable() []route {
	return []route{
		{"POST /api/engagement", levelPredict, apiRoute, s.jsonBody(apiErrors, s.handleEngagement())},
		{"GET /api/model", levelApp, apiRoute, s.handleModel()},
		{"GET /api/models/{name}", levelApp, apiRoute, s.handleModelSummary()},
		{"GET /api/serving", levelApp, apiRoute, s.handleServing()},
		{"/api/", levelPublic, apiRoute, s.handleAPIFallback()}, // only ever answers 404 or 405
		{"GET /healthz", levelPublic, apiRoute, s.handleHealthz()},
		{"GET /readyz", levelPublic, apiRoute, s.handleReadyz()},
		{"GET /metrics", levelViewer, apiRoute, s.handleMetrics()},
		{"GET /openapi.json", levelPublic, apiRoute, s.handleOpenAPI()},

		{"POST /invocations", levelPredict, apiRoute, s.jsonBody(mlflowErrors, s.handleInvocations())},
		{"GET /ping", levelPublic, apiRoute, s.handlePing()},
		{"GET /health", levelPublic, apiRoute, s.handlePing()},
		{"GET /version", levelApp, apiRoute, s.handleVersion()},

		{"GET /v2", levelPublic, apiRoute, s.handleV2Server()},
		{"GET /v2/health/live", levelPublic, apiRoute, s.handleV2Live()},
		{"GET /v2/health/ready", levelPublic, apiRoute, s.handleV2Ready()},
		{"GET /v2/models/{name}", levelApp, apiRoute, s.handleV2Model()},
		{"GET /v2/models/{name}/versions/{version}", levelApp, apiRoute, s.handleV2Model()},
		{"GET /v2/models/{name}/ready", levelApp, apiRoute, s.handleV2ModelReady()},
		{"GET /v2/models/{name}/versions/{version}/ready", levelApp, apiRoute, s.handleV2ModelReady()},
		{"POST /v2/models/{name}/infer", levelPredict, apiRoute, s.jsonBody(v2Errors, s.handleV2Infer())},
		{"POST /v2/models/{name}/versions/{version}/infer", levelPredict, apiRoute, s.jsonBody(v2Errors, s.handleV2Infer())},

		{"GET /{$}", levelApp, pageRoute, s.handleIndex()},
		{"POST /{$}", levelApp, pageRoute, s.handleWhatIf()},
		{"GET /worklist", levelCare, pageRoute, s.handleWorklist()},
		{"GET /worklist.csv", levelCare, pageRoute, s.handleWorklistCSV()},
		{"GET /patients/{id}", levelCare, pageRoute, s.handlePatient()},
		{"POST /patients/{id}", levelCare, pageRoute, s.handlePatientWhatIf()},
		{"POST /patients/{id}/contacts", levelContact, pageRoute, s.handleContact()},
		{"GET /model", levelApp, pageRoute, s.handleModelPage()},
		{"GET /monitoring", levelViewer, pageRoute, s.handleMonitoring()},
		{"GET /monitoring/report", levelViewer, pageRoute, s.handleMonitoringReport()},
		{"GET /api/monitoring", levelViewer, apiRoute, s.handleMonitoringAPI()},
		{"GET /login", levelPublic, pageRoute, s.handleLoginForm()},
		{"POST /login", levelPublic, pageRoute, s.handleLogin()},
		{"POST /logout", levelApp, pageRoute, s.handleLogout()},
		{"GET /static/{file}", levelPublic, pageRoute, s.handleStatic()}, // the login page needs the style sheet too

		{"GET /api/admin/models", levelAdmin, apiRoute, s.handleAdminModels()},
		{"POST /api/admin/models/{name}/versions/{version}/activate", levelAdmin, apiRoute, s.handleActivate()},
		{"POST /api/admin/models/{name}/rollback", levelAdmin, apiRoute, s.handleRollback()},
		{"PUT /api/admin/models/{name}/serving", levelAdmin, apiRoute, s.jsonBody(apiErrors, s.handleServingConfig())},
		{"POST /api/admin/reload", levelAdmin, apiRoute, s.handleReload()},
		{"GET /api/admin/keys", levelAdmin, apiRoute, s.handleKeys()},
		{"POST /api/admin/keys", levelAdmin, apiRoute, s.jsonBody(apiErrors, s.handleCreateKey())},
		{"DELETE /api/admin/keys/{id}", levelAdmin, apiRoute, s.handleRevokeKey()},
		{"GET /api/admin/audit", levelAdmin, apiRoute, s.handleAudit()},
		{"POST /api/admin/drain", levelAdmin, apiRoute, s.handleDrain()},
		{"POST /api/admin/stop", levelAdmin, apiRoute, s.handleStop()},
	}
}

// probes are the health checks that load balancers and orchestrators
// send: with trusted proxies set (Access.TrustedProxies), the only routes
// that answer a peer other than a proxy. Every other route, public ones
// included, answers such a peer 403.
var probes = map[string]bool{
	"GET /healthz":         true,
	"GET /readyz":          true,
	"GET /ping":            true,
	"GET /health":          true,
	"GET /v2/health/live":  true,
	"GET /v2/health/ready": true,
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
		if !ok || r.kind != apiRoute || !strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/api/admin/") {
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
