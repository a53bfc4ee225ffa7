package web

import (
	"fmt"
	"net/http"

	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/wire"
)

// MLflow's scoring protocol (see wire.DecodeInvocations), so that clients
// of `mlflow models serve` can switch by changing the URL.

func (s *server) handleInvocations() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(err error) {
			writeJSON(s.log, w, s.failed(r, err), wire.NewMLflowError(err))
		}
		body, err := readBody(w, r)
		if err != nil {
			fail(err)
			return
		}
		answer, err := s.scorer.Invocations(call(r), body)
		if err != nil {
			fail(err)
			return
		}
		writeRaw(w, http.StatusOK, answer)
	})
}

// writeRaw answers with an encoded JSON body.
func writeRaw(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(body)
}

// handlePing answers MLflow's /ping and /health: 200 while the model is
// loaded.
func (s *server) handlePing() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, http.StatusOK, []byte("\n"))
	})
}

// handleVersion answers MLflow's /version with this build's version.
func (s *server) handleVersion() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "caresignal %s\n", model.CodeVersion())
	})
}
