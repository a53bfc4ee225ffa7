package serverless

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/caresignal/caresignal"
)

// The Google Cloud Functions instance: set up by the first request, from
// the environment, and kept for the instance's life. A failed set-up (the
// database unreachable at that moment) is not kept: the next request
// tries again.
var gcf struct {
	mu sync.Mutex
	f  *Function
}

// HTTP is the Google Cloud Functions entry point (--entry-point HTTP):
// it serves the request with the server's handler, set up once per
// instance from the environment as [ConfigFromEnv] reads it, and flushes
// the prediction log before returning. The gateway's authorizer cannot be
// trusted here (a plain HTTP request carries no authorizer context that
// only a gateway can set): API keys are checked, or development mode is
// chosen explicitly.
func HTTP(w http.ResponseWriter, r *http.Request) {
	f, err := cloudFunction(r.Context())
	if err != nil {
		slog.Error("setting up the function", "err", err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"error": "the function is not set up: " + caresignal.ErrorMessage(err)})
		return
	}
	f.ServeHTTP(w, r)
}

func cloudFunction(ctx context.Context) (*Function, error) {
	gcf.mu.Lock()
	defer gcf.mu.Unlock()
	if gcf.f != nil {
		return gcf.f, nil
	}
	c, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	if c.TrustGateway {
		return nil, caresignal.Invalidf("trust-gateway-authorizer", "CARESIGNAL_TRUST_GATEWAY_AUTHORIZER applies to AWS API Gateway events; a Cloud Function checks API keys (CARESIGNAL_DB) instead")
	}
	f, err := New(context.WithoutCancel(ctx), c)
	if err != nil {
		return nil, err
	}
	gcf.f = f
	return f, nil
}
