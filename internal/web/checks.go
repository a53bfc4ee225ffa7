package web

import (
	"net/http"
)

// checksNotice is the banner the worklist and patient pages show when the
// latest evaluation has failed checks.
type checksNotice struct {
	Failed int
}

// checksNotice reads the latest evaluation (cached) and returns a notice
// when some of its checks failed, nil otherwise.
func (s *server) checksNotice(r *http.Request) *checksNotice {
	ev := s.evals.latest(r.Context())
	if ev == nil || len(ev.Flags) == 0 {
		return nil
	}
	return &checksNotice{Failed: len(ev.Flags)}
}
