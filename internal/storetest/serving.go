package storetest

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
)

// The serving state part of the suite: what servers answer with for a
// model name changes in one transaction, whatever the change.

// servingConfig reads name's canary and shadow as "canary@percent
// shadow", "-" for none.
func servingConfig(t *testing.T, s caresignal.Store, name string) string {
	t.Helper()
	cfg, err := s.ServingConfig(context.Background(), name)
	if err != nil {
		t.Fatalf("ServingConfig(%s): %v", name, err)
	}
	return orDash(cfg.CanaryVersion) + "@" + formatPercent(cfg.CanaryPercent) + " " + orDash(cfg.ShadowVersion)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func formatPercent(p float64) string { return strconv.FormatFloat(p, 'g', -1, 64) }

func setServing(t *testing.T, s caresignal.Store, name, canary string, percent float64, shadow string) {
	t.Helper()
	err := s.SetServingConfig(context.Background(), caresignal.ServingConfig{Name: name, CanaryVersion: canary, CanaryPercent: percent,
		ShadowVersion: shadow, UpdatedByActor: "ops"})
	if err != nil {
		t.Fatalf("SetServingConfig(%s: canary %q at %v, shadow %q): %v", name, canary, percent, shadow, err)
	}
}

// testChangesClearNamedVersions: an activation or a rollback clears, in
// its own transaction, a canary or shadow naming the version that enters
// production or the one that leaves it, so that no server goes on
// answering with the version an operator has just replaced; a canary or
// shadow naming another version stays.
func testChangesClearNamedVersions(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	for _, v := range []string{"v1", "v2", "v3"} {
		publish(t, s, "m", v)
	}
	activate(t, s, "m", "v1")

	// Promoting the canary ends it; the shadow stays.
	setServing(t, s, "m", "v2", 30, "v3")
	activate(t, s, "m", "v2")
	if got := servingConfig(t, s, "m"); got != "-@0 v3" {
		t.Errorf("after activating the canary v2: serving config %q, want no canary and shadow v3", got)
	}

	// A rollback with a canary of an older version: the rollback returns
	// to v1, which the canary names, so the canary ends.
	setServing(t, s, "m", "v1", 25, "v3")
	if _, _, err := s.Rollback(ctx, "m", "pager"); err != nil {
		t.Fatal(err)
	}
	if got := servingConfig(t, s, "m"); got != "-@0 v3" {
		t.Errorf("after rolling back to the canary v1: serving config %q, want no canary and shadow v3", got)
	}

	// A rollback with a canary of a third version: the canary stays.
	activate(t, s, "m", "v2")
	setServing(t, s, "m", "v3", 10, "")
	if _, _, err := s.Rollback(ctx, "m", "pager"); err != nil {
		t.Fatal(err)
	}
	if got := servingConfig(t, s, "m"); got != "v3@10 -" {
		t.Errorf("after a rollback from v2 to v1 with canary v3: serving config %q, want canary v3 at 10%%", got)
	}

	// Activating the shadow ends the shadow.
	setServing(t, s, "m", "", 0, "v2")
	activate(t, s, "m", "v2")
	if got := servingConfig(t, s, "m"); got != "-@0 -" {
		t.Errorf("after activating the shadow v2: serving config %q, want none", got)
	}

	// Neither can name the production version: it would answer as
	// production does, or be scored against itself.
	for _, c := range []struct {
		cfg   caresignal.ServingConfig
		field string
	}{
		{caresignal.ServingConfig{Name: "m", CanaryVersion: "v2", CanaryPercent: 10, UpdatedByActor: "ops"}, "canary_version"},
		{caresignal.ServingConfig{Name: "m", ShadowVersion: "v2", UpdatedByActor: "ops"}, "shadow_version"},
	} {
		err := s.SetServingConfig(ctx, c.cfg)
		if caresignal.ErrorCode(err) != caresignal.EINVALID || caresignal.ErrorField(err) != c.field {
			t.Errorf("SetServingConfig(%+v) naming the production version = %v; want EINVALID on %s", c.cfg, err, c.field)
		}
	}
}

// state reads name's serving state as "generation production
// canary@percent shadow by", "-" for none.
func state(t *testing.T, s caresignal.Store, name string) string {
	t.Helper()
	st, err := s.ServingState(context.Background(), name)
	if err != nil {
		t.Fatalf("ServingState(%s): %v", name, err)
	}
	if st.Name != name || (st.Generation == 0) != st.ChangedAt.IsZero() {
		t.Errorf("ServingState(%s) = %+v: want its name, and a time from generation 1", name, st)
	}
	return fmt.Sprintf("%d %s %s@%s %s %s", st.Generation, orDash(st.Production), orDash(st.CanaryVersion), formatPercent(st.CanaryPercent),
		orDash(st.ShadowVersion), orDash(st.ChangedBy))
}

// testServingState: every change to what servers answer with, and
// nothing else, increases the name's generation, and the state read
// says what the registry's other calls say.
func testServingState(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	want := func(what, w string) {
		t.Helper()
		if got := state(t, s, "m"); got != w {
			t.Errorf("%s: serving state %q, want %q", what, got, w)
		}
	}
	want("an unknown name", "0 - -@0 - -")
	for _, v := range []string{"v1", "v2", "v3"} {
		publish(t, s, "m", v)
	}
	publish(t, s, "other", "v1")
	want("after publishing", "0 - -@0 - -")

	before := time.Now().Add(-time.Second)
	activate(t, s, "m", "v1")
	want("after activating v1", "1 v1 -@0 - ops")
	if st, _ := s.ServingState(ctx, "m"); st.ChangedAt.Before(before) || st.ChangedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("the state changed at %v, want about now", st.ChangedAt)
	}
	setServing(t, s, "m", "v2", 12.5, "v3")
	want("after setting a canary and a shadow", "2 v1 v2@12.5 v3 ops")
	activate(t, s, "other", "v1")
	setServing(t, s, "other", "", 0, "")
	want("after changes to another name", "2 v1 v2@12.5 v3 ops")
	if got := state(t, s, "other"); got != "2 v1 -@0 - ops" {
		t.Errorf("the other name's state %q, want generation 2", got)
	}

	activate(t, s, "m", "v2")
	want("after activating the canary", "3 v2 -@0 v3 ops")
	activate(t, s, "m", "v2")
	want("after activating the production version again", "3 v2 -@0 v3 ops")
	if _, err := s.SetStage(ctx, "m", "v1", caresignal.StageStaging, "ops"); err != nil {
		t.Fatal(err)
	}
	want("after moving an archived version to staging", "3 v2 -@0 v3 ops")
	if _, _, err := s.Rollback(ctx, "m", "pager"); err != nil {
		t.Fatal(err)
	}
	want("after rolling back", "4 v1 -@0 v3 pager")

	// Refused changes change nothing.
	err := s.SetServingConfig(ctx, caresignal.ServingConfig{Name: "m", CanaryVersion: "v9", CanaryPercent: 5, UpdatedByActor: "ops"})
	wantCode(t, "a canary of a missing version", err, caresignal.EINVALID)
	_, err = s.SetStage(ctx, "m", "v9", caresignal.StageProduction, "ops")
	wantCode(t, "activating a missing version", err, caresignal.ENOTFOUND)
	want("after refused changes", "4 v1 -@0 v3 pager")

	if _, err := s.SetStage(ctx, "m", "v1", caresignal.StageArchived, "ops"); err != nil {
		t.Fatal(err)
	}
	want("after archiving the production version", "5 - -@0 v3 ops")

	_, err = s.ServingState(ctx, "")
	wantCode(t, "ServingState without a name", err, caresignal.EINVALID)
}

// testMigrationClearsProductionCanary: a canary or shadow naming the
// production version, saved before that was refused, is cleared when the
// database is migrated, so it cannot come back to life when production
// moves on.
func testMigrationClearsProductionCanary(t *testing.T, open Opener) {
	s := open(t)
	publish(t, s, "m", "v1")
	publish(t, s, "m", "v2")
	activate(t, s, "m", "v1")
	db := rawDB(t, s)
	for _, q := range []string{
		"DELETE FROM schema_migrations WHERE version = 7",
		"DROP TABLE model_generations",
		"INSERT INTO model_serving (name, canary_version, canary_percent, shadow_version, updated_at, updated_by) VALUES ('m', 'v1', 10, 'v2', '2026-01-02T03:04:05.000000Z', 'ops')",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if got := servingConfig(t, open(t), "m"); got != "-@0 v2" {
		t.Errorf("after the migration: serving config %q, want no canary and shadow v2", got)
	}
}
