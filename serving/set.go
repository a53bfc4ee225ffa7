// Package serving answers predictions without HTTP: the set of models a
// server answers with (production, a canary taking a share of requests,
// a shadow scored beside production), following the model registry, and
// the Scorer that turns a request body into an answer and prediction
// records. It also scores a whole extract in batch. The HTTP server, the
// command line and any other entry point (a serverless function, say)
// are adapters over it.
package serving

import (
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/wire"
)

// Set is the set of models a server answers with at one moment: the
// production model, optionally a canary taking a share of the requests,
// and optionally a shadow scored beside production whose answers are
// recorded but never returned.
type Set struct {
	Production    *model.Model
	Canary        *model.Model // nil: no canary
	CanaryPercent float64      // share of requests the canary answers, 0–100
	Shadow        *model.Model // nil: no shadow

	// Generation is the generation of the registry's serving state the
	// set was built from, and ChangedAt when that state was made; zero
	// for a set not read from the registry.
	Generation int64
	ChangedAt  time.Time

	// known tells the request decoder the names to expect in requests
	// to these models; set by Models.Set.
	known *wire.Known
}

// Models holds the Set a server uses. Set replaces it atomically: a
// request loads it once and uses that set from start to finish, so every
// response is computed by, and names, exactly one model version, and a
// swap under load fails no request.
type Models struct {
	p atomic.Pointer[Set]
}

// NewModels returns a holder serving m alone.
func NewModels(m *model.Model) *Models {
	ms := &Models{}
	ms.Set(&Set{Production: m})
	return ms
}

// Load returns the current set.
func (ms *Models) Load() *Set { return ms.p.Load() }

// Set makes s the current set. s.Production must not be nil.
func (ms *Models) Set(s *Set) {
	if s == nil || s.Production == nil {
		panic("serving: Models.Set without a production model")
	}
	var inputs [][]caresignal.Input
	for _, m := range []*model.Model{s.Production, s.Canary, s.Shadow} {
		if m != nil {
			inputs = append(inputs, m.Inputs())
		}
	}
	s.known = wire.NewKnown(inputs...)
	ms.p.Store(s)
}

// State describes a set as answers name it: the versions it answers
// with, the shadow, and the registry generation it was built from.
type State struct {
	Production caresignal.ModelInfo  `json:"production"`
	Canary     *CanaryState          `json:"canary,omitempty"`
	Shadow     *caresignal.ModelInfo `json:"shadow,omitempty"`
	Generation int64                 `json:"generation"`
	ChangedAt  *time.Time            `json:"changed_at,omitempty"` // absent at generation 0
}

// CanaryState is a set's canary and the share of requests it answers.
type CanaryState struct {
	Model   caresignal.ModelInfo `json:"model"`
	Percent float64              `json:"percent"`
}

// State describes s.
func (s *Set) State() State {
	st := State{Production: s.Production.Info(), Generation: s.Generation}
	if s.Canary != nil {
		st.Canary = &CanaryState{Model: s.Canary.Info(), Percent: s.CanaryPercent}
	}
	if s.Shadow != nil {
		info := s.Shadow.Info()
		st.Shadow = &info
	}
	if !s.ChangedAt.IsZero() {
		at := s.ChangedAt
		st.ChangedAt = &at
	}
	return st
}

// Pick chooses the model that answers a request. With a canary, a request
// about a patient goes to the canary when the patient's hash falls in the
// canary's share, so one patient always sees the same version while the
// split holds; a request without a patient id is split at random.
func (s *Set) Pick(patientID string) *model.Model {
	if s.Canary == nil || s.CanaryPercent <= 0 {
		return s.Production
	}
	var u float64
	if patientID != "" {
		h := fnv.New64a()
		h.Write([]byte(patientID))
		u = float64(h.Sum64()%10000) / 100
	} else {
		u = rand.Float64() * 100
	}
	if u < s.CanaryPercent {
		return s.Canary
	}
	return s.Production
}

// answering returns the models of s answering to name (production first,
// then the canary) and their distinct versions. The shadow never answers;
// a nil set has no models.
func (s *Set) answering(name string) (ms []*model.Model, versions []string) {
	for _, m := range s.models() {
		if m == nil || m.Name != name {
			continue
		}
		ms = append(ms, m)
		if !slices.Contains(versions, m.Version) {
			versions = append(versions, m.Version)
		}
	}
	return ms, versions
}

// Lookup finds the model a request names: the given version of name, or
// without a version the first model of that name (the production model
// when it has that name). It also returns the versions of name served.
// On a nil set (no model loaded yet) every name is not found.
func (s *Set) Lookup(name, version string) (*model.Model, []string, error) {
	ms, versions := s.answering(name)
	if len(ms) == 0 {
		return nil, nil, caresignal.Errorf(caresignal.ENOTFOUND, "no model named %q is served here (served: %s)", name, strings.Join(s.names(), ", "))
	}
	if version == "" {
		return ms[0], versions, nil
	}
	for _, m := range ms {
		if m.Version == version {
			return m, versions, nil
		}
	}
	return nil, nil, caresignal.Errorf(caresignal.ENOTFOUND, "model %q has no version %q served here (served: %s)", name, version, strings.Join(versions, ", "))
}

// names lists the names of the models s answers with, quoted.
func (s *Set) names() []string {
	var out []string
	for _, m := range s.models() {
		if m != nil && !slices.Contains(out, strconv.Quote(m.Name)) {
			out = append(out, strconv.Quote(m.Name))
		}
	}
	if len(out) == 0 {
		out = []string{"none"}
	}
	return out
}

// models returns the production and canary models (either may be nil),
// none for a nil set.
func (s *Set) models() []*model.Model {
	if s == nil {
		return nil
	}
	return []*model.Model{s.Production, s.Canary}
}
