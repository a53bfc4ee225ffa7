package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/wire"
)

// handleEngagement is POST /api/engagement: one patient or a batch, as
// the scorer answers it.
func (s *server) handleEngagement() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		answer, err := s.scorer.Engagement(call(r), body)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeEncoded(w, answer)
	})
}

// call identifies r for the records of its predictions.
func call(r *http.Request) serving.Call {
	return serving.Call{RequestID: requestID(r.Context()), Route: r.Pattern}
}

// bodyFormat is the error format of a route that reads a JSON body: its
// protocol's.
type bodyFormat uint8

const (
	apiErrors    bodyFormat = iota // wire.ErrorBody: the API's own routes
	mlflowErrors                   // wire.MLflowError: POST /invocations
	v2Errors                       // wire.V2Error: the Open Inference Protocol
)

// jsonBody is the one rule for the Content-Type of the routes that read a
// JSON body: none (read as JSON) or application/json, with any parameters
// (charset); anything else, a form or text/plain included, is answered
// 415 before the handler runs, in the route's error format. (A route that
// read any type would take a cross-site form post as JSON.) The web app's
// form routes do not go through it.
func (s *server) jsonBody(format bodyFormat, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if ct == "" || isJSONMediaType(ct) {
			next.ServeHTTP(w, r)
			return
		}
		msg := fmt.Sprintf("content type %q is not supported; send application/json", ct)
		var body any
		switch format {
		case mlflowErrors:
			body = wire.MLflowError{ErrorCode: "BAD_REQUEST", Message: msg}
		case v2Errors:
			body = wire.V2Error{Error: msg}
		default:
			body = wire.ErrorBody{Error: msg}
		}
		writeJSON(s.log, w, http.StatusUnsupportedMediaType, body)
	})
}

// isJSONMediaType accepts application/json with any parameters (charset).
func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// readBody reads a request body of at most wire.MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var body []byte
	var err error
	if n := r.ContentLength; n > 0 && n <= wire.MaxBodyBytes {
		// The usual case: the size is known, so read into one buffer of
		// that size (plus one byte to see a body longer than announced).
		body, err = readAllInto(make([]byte, 0, n+1), http.MaxBytesReader(w, r.Body, wire.MaxBodyBytes))
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, wire.MaxBodyBytes))
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &caresignal.Error{Code: caresignal.ETOOLARGE, Message: fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit)}
		}
		return nil, &caresignal.Error{Code: caresignal.EINVALID, Message: "could not read the request body", Err: err}
	}
	return body, nil
}

// readAllInto is io.ReadAll into b's spare capacity, growing it only if
// the body is longer than announced.
func readAllInto(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// writeEncoded answers 200 with an encoded answer and releases it.
func writeEncoded(w http.ResponseWriter, e wire.Encoded) {
	b := e.Bytes()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	e.Release()
}

func (s *server) handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(s.log, w, http.StatusOK, map[string]any{"status": "ok", "model": s.production().Info()})
	})
}

// handleServing is GET /api/serving: what this server answers with now
// (production, the canary and its share, the shadow) and the generation
// of the registry's serving state that is, so that an operator or a
// test can tell whether this server has caught up with a change.
func (s *server) handleServing() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(s.log, w, http.StatusOK, s.models.Load().State())
	})
}

// handleModelSummary is GET /api/models/{name}: the statistical summary of
// a served model — coefficients on the inputs' scale with standard errors,
// odds or hazard ratios with 95% intervals, p-values for unpenalised fits,
// fit statistics — and the cross-validation curve that chose its penalty.
func (s *server) handleModelSummary() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := s.production()
		if name := r.PathValue("name"); name != m.Name {
			s.writeError(w, r, caresignal.Errorf(caresignal.ENOTFOUND, "no model named %q is served here (this server serves %q)", name, m.Name))
			return
		}
		writeJSON(s.log, w, http.StatusOK, map[string]any{
			"model":   m.Info(),
			"summary": m.Summary(),
			"cv":      m.Training.Penalty.CV,
		})
	})
}

// handleModel describes the served model: its features (so clients know
// what to send), coefficients and training record.
func (s *server) handleModel() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := s.production()
		writeJSON(s.log, w, http.StatusOK, map[string]any{
			"model":        m.Info(),
			"kind":         m.Kind,
			"link":         m.Link,
			"inputs":       m.Inputs(),
			"coefficients": m.Coefficients(),
			"training":     m.Training,
		})
	})
}
