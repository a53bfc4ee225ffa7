package web

import (
	"net/http"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/wire"
)

// The Open Inference Protocol (KServe's V2 protocol, Seldon MLServer's
// REST API): the server's health and metadata, and inference through the
// scorer. The protocol's format is package wire's (wire.DecodeV2).

// v2Fail answers err with the protocol's error body.
func (s *server) v2Fail(w http.ResponseWriter, r *http.Request, err error) {
	writeJSON(s.log, w, s.failed(r, err), wire.V2Error{Error: caresignal.ErrorMessage(err)})
}

// handleV2Server is GET /v2: the server metadata.
func (s *server) handleV2Server() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(s.log, w, http.StatusOK, map[string]any{
			"name":       "caresignal",
			"version":    model.CodeVersion(),
			"extensions": []string{},
		})
	})
}

// handleV2Live is GET /v2/health/live: 200 while the process serves.
func (s *server) handleV2Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(s.log, w, http.StatusOK, map[string]bool{"live": true})
	})
}

// handleV2Ready is GET /v2/health/ready: 200 when a model is loaded, 503
// otherwise.
func (s *server) handleV2Ready() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if set := s.models.Load(); set == nil || set.Production == nil {
			writeJSON(s.log, w, http.StatusServiceUnavailable, map[string]bool{"ready": false})
			return
		}
		writeJSON(s.log, w, http.StatusOK, map[string]bool{"ready": true})
	})
}

// v2Lookup finds the model a /v2/models/{name}[/versions/{version}] route
// names, and the versions of that name served.
func (s *server) v2Lookup(r *http.Request) (*model.Model, []string, error) {
	return s.models.Load().Lookup(r.PathValue("name"), r.PathValue("version"))
}

// handleV2Model is GET /v2/models/{name}[/versions/{version}]: the model
// metadata.
func (s *server) handleV2Model() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, versions, err := s.v2Lookup(r)
		if err != nil {
			s.v2Fail(w, r, err)
			return
		}
		writeJSON(s.log, w, http.StatusOK, wire.V2Metadata(m, versions))
	})
}

// handleV2ModelReady is GET /v2/models/{name}[/versions/{version}]/ready.
func (s *server) handleV2ModelReady() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _, err := s.v2Lookup(r)
		if err != nil {
			s.v2Fail(w, r, err)
			return
		}
		writeJSON(s.log, w, http.StatusOK, map[string]any{"name": m.Name, "ready": true})
	})
}

// handleV2Infer is POST /v2/models/{name}[/versions/{version}]/infer.
// With a version, exactly that version answers (404 unless it is the
// production or canary model); without one, the model is picked as POST
// /api/engagement picks it, by the patient_id of the first row.
func (s *server) handleV2Infer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Answer 503 or 404 before reading a body no model will score.
		if s.models.Load() == nil {
			s.v2Fail(w, r, caresignal.Errorf(caresignal.EUNAVAILABLE, "no model is loaded"))
			return
		}
		if _, _, err := s.v2Lookup(r); err != nil {
			s.v2Fail(w, r, err)
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			s.v2Fail(w, r, err)
			return
		}
		answer, err := s.scorer.InferV2(call(r), r.PathValue("name"), r.PathValue("version"), body)
		if err != nil {
			s.v2Fail(w, r, err)
			return
		}
		writeRaw(w, http.StatusOK, answer)
	})
}
