package web

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"sync/atomic"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model"
)

// Serving is the set of models a server answers with at one moment: the
// production model, optionally a canary taking a share of the requests,
// and optionally a shadow scored beside production whose answers are
// recorded but never returned.
type Serving struct {
	Production    *model.Model
	Canary        *model.Model // nil: no canary
	CanaryPercent float64      // share of requests the canary answers, 0–100
	Shadow        *model.Model // nil: no shadow

	// known tells the decoder the strings and sizes to expect in
	// requests to these models; set by NewModels and Set.
	known *known
}

// known is what the request decoder knows in advance: names maps the
// request keys, feature names and category labels of the served models to
// themselves (so that decoding them allocates nothing), and features is
// the largest number of inputs a model takes (to size each patient's map).
type known struct {
	names    map[string]string
	features int
}

// wireKeys are the keys of a request body.
var wireKeys = []string{"instances", "patient_id", "features", "months_enrolled", "horizon"}

// knownFor returns what the decoder can expect of requests to sv.
func knownFor(sv *Serving) *known {
	k := &known{names: make(map[string]string)}
	names := k.names
	for _, k := range wireKeys {
		names[k] = k
	}
	for _, m := range []*model.Model{sv.Production, sv.Canary, sv.Shadow} {
		if m == nil {
			continue
		}
		inputs := m.Inputs()
		k.features = max(k.features, len(inputs))
		for _, in := range inputs {
			names[in.Name] = in.Name
			for _, l := range in.Levels {
				names[l] = l
			}
		}
	}
	return k
}

// Models holds the Serving a server uses. Set replaces it atomically: a
// request loads it once and uses that set from start to finish, so every
// response is computed by, and names, exactly one model version, and a
// swap under load fails no request.
type Models struct {
	p atomic.Pointer[Serving]
}

// NewModels returns a holder serving m alone.
func NewModels(m *model.Model) *Models {
	ms := &Models{}
	ms.Set(&Serving{Production: m})
	return ms
}

// Load returns the current set.
func (ms *Models) Load() *Serving { return ms.p.Load() }

// Set makes sv the current set. sv.Production must not be nil.
func (ms *Models) Set(sv *Serving) {
	if sv == nil || sv.Production == nil {
		panic("web: Models.Set without a production model")
	}
	sv.known = knownFor(sv)
	ms.p.Store(sv)
}

// Pick chooses the model that answers a request. With a canary, a request
// about a patient goes to the canary when the patient's hash falls in the
// canary's share, so one patient always sees the same version while the
// split holds; a request without a patient id is split at random.
func (sv *Serving) Pick(patientID string) *model.Model {
	if sv.Canary == nil || sv.CanaryPercent <= 0 {
		return sv.Production
	}
	var u float64
	if patientID != "" {
		h := fnv.New64a()
		h.Write([]byte(patientID))
		u = float64(h.Sum64()%10000) / 100
	} else {
		u = rand.Float64() * 100
	}
	if u < sv.CanaryPercent {
		return sv.Canary
	}
	return sv.Production
}

// maxShadowJobs bounds the shadow scorings running at once; a request
// arriving when all are busy is not shadowed (and counted), so a slow
// candidate can never slow production down.
const maxShadowJobs = 16

// shadowScore scores the request's instances with the shadow model after
// the answer has been computed, off the request's path, records how far
// its first-month hazards lie from production's, and puts its predictions
// in the prediction log beside production's (route marked "(shadow)").
// raws are the instances as received; nil: rendered from insts.
func (s *server) shadowScore(r *http.Request, shadow *model.Model, insts []caresignal.Instance, raws [][]byte, batch bool, prod *Response) {
	select {
	case s.shadowSem <- struct{}{}:
	default:
		s.metrics.shadowLost.WithLabelValues("busy").Inc()
		return
	}
	s.shadowJobs.Add(1)
	id := requestID(r.Context())
	go func() {
		defer func() { <-s.shadowSem; s.shadowJobs.Done() }()
		resp, err := Score(shadow, insts, batch)
		if err != nil {
			s.metrics.shadowLost.WithLabelValues("error").Inc()
			s.log.Warn("shadow model refused a request production answered", "request_id", id, "shadow_version", shadow.Version, "code", caresignal.ErrorCode(err))
			return
		}
		if s.cfg.PredictionLog != nil {
			if raws == nil {
				raws = instancesJSON(insts)
			}
			s.logPredictionsAs(r, r.Pattern+" (shadow)", id, shadow, raws, resp.Predictions, nil)
		}
		info := shadow.Info()
		obs := s.metrics.shadowDiff.WithLabelValues(info.Name, info.Version)
		for i := range resp.Predictions {
			a, b := resp.Predictions[i].Hazard, prod.Predictions[i].Hazard
			if len(a) > 0 && len(b) > 0 {
				obs.Observe(math.Abs(a[0] - b[0]))
			}
		}
	}()
}
