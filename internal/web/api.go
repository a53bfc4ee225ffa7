package web

import (
	"net/http"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model"
)

// ErrorBody is the JSON body of every API error.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// NewErrorBody returns the body and HTTP status answering err.
func NewErrorBody(err error) (ErrorBody, int) {
	return ErrorBody{Error: caresignal.ErrorMessage(err), Field: caresignal.ErrorField(err)}, status(caresignal.ErrorCode(err))
}

// Response is the body of a successful POST /api/engagement.
type Response struct {
	Model       caresignal.ModelInfo    `json:"model"`
	Predictions []caresignal.Prediction `json:"predictions"`
}

// Score answers a decoded API request with the model: what the route
// returns, without HTTP. It is shared with `caresignal predict`. batch says
// the request used "instances", so errors name "instances[i].…".
func Score(m *model.Model, insts []caresignal.Instance, batch bool) (*Response, error) {
	var preds []caresignal.Prediction
	if !batch {
		p, err := m.Predict(&insts[0])
		if err != nil {
			return nil, err
		}
		preds = []caresignal.Prediction{p}
	} else {
		var err error
		if preds, err = m.PredictBatch(insts); err != nil {
			return nil, err
		}
	}
	return &Response{Model: m.Info(), Predictions: preds}, nil
}

func (s *server) handleEngagement() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		sv := s.models.Load()
		insts, raws, batch, err := decodeRequest(body, sv.known)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		m := sv.Pick(insts[0].PatientID)
		resp, err := Score(m, insts, batch)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.countPredictions(m, len(resp.Predictions))
		var spans []outputSpan
		if s.cfg.PredictionLog != nil {
			spans = make([]outputSpan, 0, len(resp.Predictions))
		}
		answer, ok := encodeResponse(resp, spans)
		if !ok {
			s.logPredictions(r, m, raws, resp.Predictions, nil)
			writeJSON(s.log, w, http.StatusOK, resp) // reports the error the same way
			return
		}
		s.logPredictions(r, m, raws, resp.Predictions, &answer)
		if sv.Shadow != nil {
			s.shadowScore(r, sv.Shadow, insts, raws, batch, resp)
		}
		answer.write(w)
	})
}

func (s *server) handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(s.log, w, http.StatusOK, map[string]any{"status": "ok", "model": s.production().Info()})
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
