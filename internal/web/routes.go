package web

import "net/http"

// routes lists the whole HTTP surface.
func (s *server) routes(mux *http.ServeMux) {
	mux.Handle("POST /api/engagement", s.handleEngagement())
	mux.Handle("GET /api/model", s.handleModel())
	mux.Handle("GET /healthz", s.handleHealthz())
	mux.Handle("GET /{$}", s.handleIndex())
	mux.Handle("POST /{$}", s.handleWhatIf())
	mux.Handle("GET /worklist", s.handleWorklist())
}
