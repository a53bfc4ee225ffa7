package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/access"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/wire"
)

// The administrators' API under /api/admin/: the model registry
// (activate, roll back, canary and shadow), API keys, the audit log, and
// the server itself (drain, stop). Every action is written to the audit
// log with its outcome.

// adminAction runs one audited action: fn returns the target acted on, the
// answer and an error. The outcome is audited whatever it is.
func (s *server) adminAction(action string, fn func(r *http.Request) (target string, status int, answer any, err error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callerOf(r.Context())
		target, code, answer, err := fn(r)
		if err != nil {
			body, code := wire.NewErrorBody(err), status(caresignal.ErrorCode(err))
			outcome := "failed"
			if code < 500 {
				outcome = "refused"
			}
			s.audit(r, c, action, target, outcome, body.Error)
			if code >= 500 {
				s.log.Error("admin action failed", "action", action, "request_id", requestID(r.Context()), "err", err)
			}
			writeJSON(s.log, w, code, body)
			return
		}
		s.audit(r, c, action, target, "ok", "")
		writeJSON(s.log, w, code, answer)
	})
}

func (s *server) deployer() (*serving.Deployer, error) {
	if s.cfg.Deployer == nil {
		return nil, caresignal.Errorf(caresignal.ECONFLICT, "this server has no model registry: start it with a database")
	}
	return s.cfg.Deployer, nil
}

// servedName checks the {name} of an admin model route.
func (s *server) servedName(r *http.Request) (*serving.Deployer, error) {
	d, err := s.deployer()
	if err != nil {
		return nil, err
	}
	if name := r.PathValue("name"); name != d.Name {
		return nil, caresignal.Errorf(caresignal.ENOTFOUND, "this server serves model %q, not %q", d.Name, name)
	}
	return d, nil
}

// handleAdminModels answers what this server serves, and what the
// registry holds for its model: the serving state (whose generation the
// served one catches up with), the versions and the stage history.
func (s *server) handleAdminModels() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{"serving": s.models.Load().State()}
		if d := s.cfg.Deployer; d != nil {
			state, err := d.Registry.ServingState(r.Context(), d.Name)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			out["registry"] = state
			versions, err := d.Registry.ModelVersions(r.Context(), d.Name)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			history, err := d.Registry.StageHistory(r.Context(), d.Name, 50)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			out["versions"], out["history"] = versions, history
		}
		writeJSON(s.log, w, http.StatusOK, out)
	})
}

func (s *server) handleActivate() http.Handler {
	return s.adminAction("model.activate", func(r *http.Request) (string, int, any, error) {
		target := r.PathValue("name") + "@" + r.PathValue("version")
		d, err := s.servedName(r)
		if err != nil {
			return target, 0, nil, err
		}
		prev, err := d.Activate(r.Context(), r.PathValue("version"), callerOf(r.Context()).Name)
		if err != nil {
			return target, 0, nil, err
		}
		return target, http.StatusOK, map[string]any{"previous": prev.Version, "serving": s.models.Load().State()}, nil
	})
}

func (s *server) handleRollback() http.Handler {
	return s.adminAction("model.rollback", func(r *http.Request) (string, int, any, error) {
		target := r.PathValue("name")
		d, err := s.servedName(r)
		if err != nil {
			return target, 0, nil, err
		}
		from, to, err := d.Rollback(r.Context(), callerOf(r.Context()).Name)
		if err != nil {
			return target, 0, nil, err
		}
		return target + "@" + to.Version, http.StatusOK, map[string]any{"from": from.Version, "to": to.Version, "serving": s.models.Load().State()}, nil
	})
}

// servingRequest is the body of PUT /api/admin/models/{name}/serving.
type servingRequest struct {
	CanaryVersion string  `json:"canary_version"`
	CanaryPercent float64 `json:"canary_percent"`
	ShadowVersion string  `json:"shadow_version"`
}

func (s *server) handleServingConfig() http.Handler {
	return s.adminAction("model.serving", func(r *http.Request) (string, int, any, error) {
		target := r.PathValue("name")
		d, err := s.servedName(r)
		if err != nil {
			return target, 0, nil, err
		}
		var req servingRequest
		if err := decodeAdmin(r, &req); err != nil {
			return target, 0, nil, err
		}
		cfg := caresignal.ServingConfig{Name: d.Name, CanaryVersion: req.CanaryVersion, CanaryPercent: req.CanaryPercent,
			ShadowVersion: req.ShadowVersion, UpdatedAt: time.Now().UTC(), UpdatedByActor: callerOf(r.Context()).Name}
		if err := d.SetServing(r.Context(), cfg); err != nil {
			return target, 0, nil, err
		}
		return target, http.StatusOK, map[string]any{"serving": s.models.Load().State()}, nil
	})
}

func (s *server) handleReload() http.Handler {
	return s.adminAction("model.reload", func(r *http.Request) (string, int, any, error) {
		d, err := s.deployer()
		if err != nil {
			return "", 0, nil, err
		}
		changed, err := d.Sync(r.Context())
		if err != nil {
			return d.Name, 0, nil, err
		}
		return d.Name, http.StatusOK, map[string]any{"changed": changed, "serving": s.models.Load().State()}, nil
	})
}

// decodeAdmin reads a small JSON body strictly.
func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return caresignal.Invalidf("", "the request body is not the expected JSON object: %v", err)
	}
	return nil
}

func (s *server) keyStore() (caresignal.KeyStore, error) {
	if s.cfg.Access == nil || s.cfg.Access.Store == nil {
		return nil, caresignal.Errorf(caresignal.ECONFLICT, "API keys exist only in production mode")
	}
	return s.cfg.Access.Store, nil
}

func (s *server) handleKeys() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks, err := s.keyStore()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		keys, _, err := ks.Keys(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(s.log, w, http.StatusOK, map[string]any{"keys": keys})
	})
}

func (s *server) handleCreateKey() http.Handler {
	return s.adminAction("key.create", func(r *http.Request) (string, int, any, error) {
		ks, err := s.keyStore()
		if err != nil {
			return "", 0, nil, err
		}
		var req struct {
			Name string `json:"name"`
			Role string `json:"role"`
		}
		if err := decodeAdmin(r, &req); err != nil {
			return "", 0, nil, err
		}
		plain, k, hash, err := access.NewKey(req.Name, req.Role, time.Now())
		if err != nil {
			return req.Name, 0, nil, err
		}
		if err := ks.CreateKey(r.Context(), k, hash); err != nil {
			return k.ID, 0, nil, err
		}
		s.cfg.Access.Keys.Reload(r.Context())
		return k.ID + " (" + k.Name + ", " + k.Role + ")", http.StatusCreated, map[string]any{
			"key": plain, "id": k.ID, "name": k.Name, "role": k.Role,
			"note": "the key is shown once; store it now",
		}, nil
	})
}

func (s *server) handleRevokeKey() http.Handler {
	return s.adminAction("key.revoke", func(r *http.Request) (string, int, any, error) {
		id := r.PathValue("id")
		ks, err := s.keyStore()
		if err != nil {
			return id, 0, nil, err
		}
		if err := ks.RevokeKey(r.Context(), id, time.Now().UTC()); err != nil {
			return id, 0, nil, err
		}
		s.cfg.Access.Keys.Forget(id)
		return id, http.StatusOK, map[string]any{"revoked": id}, nil
	})
}

func (s *server) handleAudit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks, err := s.keyStore()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		limit := 100
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10000 {
				s.writeError(w, r, caresignal.Invalidf("limit", "limit must be an integer from 1 to 10000"))
				return
			}
			limit = n
		}
		entries, err := ks.AuditLog(r.Context(), limit)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(s.log, w, http.StatusOK, map[string]any{"entries": entries})
	})
}

// handleDrain makes /readyz answer 503 so load balancers stop sending
// traffic; requests that still arrive are served.
func (s *server) handleDrain() http.Handler {
	return s.adminAction("server.drain", func(r *http.Request) (string, int, any, error) {
		s.draining.Store(true)
		return "server", http.StatusOK, map[string]any{"status": "draining"}, nil
	})
}

// handleStop drains and then stops the server gracefully: requests in
// flight finish, the answer to this one included.
func (s *server) handleStop() http.Handler {
	return s.adminAction("server.stop", func(r *http.Request) (string, int, any, error) {
		if s.cfg.Stop == nil {
			return "server", 0, nil, caresignal.Errorf(caresignal.ECONFLICT, "this server cannot be stopped over HTTP")
		}
		s.draining.Store(true)
		go func() {
			time.Sleep(100 * time.Millisecond) // let this answer leave first
			s.cfg.Stop()
		}()
		return "server", http.StatusAccepted, map[string]any{"status": "stopping"}, nil
	})
}
