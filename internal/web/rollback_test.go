package web

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/caresignal/caresignal/wire"
)

// servedVersions posts one request for each of n patients and counts
// the answers by the version that computed them.
func servedVersions(t *testing.T, f *registryFixture, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for i := range n {
		code, b := post(t, f.srv, patientBody(fmt.Sprintf("R%04d", i)))
		var r wire.Answer
		if code != 200 || json.Unmarshal(b, &r) != nil {
			t.Fatalf("%d %s", code, b)
		}
		out[r.Model.Version]++
	}
	return out
}

// TestRollbackAfterPromotingTheCanary: production v1 with canary v2,
// then v2 is activated and rolled back. The rollback's answer names the
// set the server now serves, which has no canary (v2 is the version
// rolled back from), no answer after it comes from v2, and the registry
// says the same.
func TestRollbackAfterPromotingTheCanary(t *testing.T) {
	f := newRegistryFixture(t)
	if code, body := f.admin(t, "PUT", "/api/admin/models/engagement/serving", `{"canary_version": "`+f.v2.Version+`", "canary_percent": 50}`); code != 200 {
		t.Fatalf("set canary: %d %s", code, body)
	}
	if code, body := f.admin(t, "POST", "/api/admin/models/engagement/versions/"+f.v2.Version+"/activate", ""); code != 200 {
		t.Fatalf("activate the canary: %d %s", code, body)
	}
	code, body := f.admin(t, "POST", "/api/admin/models/engagement/rollback", "")
	if code != 200 {
		t.Fatalf("rollback: %d %s", code, body)
	}
	var answer struct {
		From, To string
		Serving  struct {
			Production struct{ Version string }
			Canary     *struct{ Model struct{ Version string } }
		}
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatal(err)
	}
	if answer.From != f.v2.Version || answer.To != f.v1.Version || answer.Serving.Production.Version != f.v1.Version || answer.Serving.Canary != nil {
		t.Errorf("the rollback's answer %s: want from %s to %s, serving %s without a canary", body, f.v2.Version, f.v1.Version, f.v1.Version)
	}
	if got := servedVersions(t, f, 200); got[f.v2.Version] != 0 || got[f.v1.Version] != 200 {
		t.Errorf("after the rollback, 200 patients were answered by %v; want all by %s", got, f.v1.Version)
	}
	cfg, err := f.store.ServingConfig(context.Background(), "engagement")
	if err != nil || cfg.CanaryVersion != "" || cfg.CanaryPercent != 0 {
		t.Errorf("the registry's serving config after the rollback: %+v, %v; want no canary", cfg, err)
	}
	// The administrators' view: this server's state and the registry's
	// agree, at the rollback's generation.
	var models struct {
		Serving struct {
			Production struct{ Version string }
			Canary     any
			Generation int64
		}
		Registry struct {
			Production, CanaryVersion string
			Generation                int64
		}
	}
	code, body = f.admin(t, "GET", "/api/admin/models", "")
	if code != 200 || json.Unmarshal([]byte(body), &models) != nil || models.Serving.Generation == 0 ||
		models.Serving.Generation != models.Registry.Generation || models.Serving.Production.Version != f.v1.Version ||
		models.Registry.Production != f.v1.Version || models.Serving.Canary != nil || models.Registry.CanaryVersion != "" {
		t.Errorf("GET /api/admin/models: %d %.600s", code, body)
	}
}
