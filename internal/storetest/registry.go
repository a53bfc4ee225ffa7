package storetest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
)

// The registry part of the suite.

func publish(t *testing.T, s caresignal.Store, name, version string) caresignal.ModelVersion {
	t.Helper()
	v, err := s.PublishModel(context.Background(), caresignal.ModelVersion{Name: name, Version: version, Note: "note " + version}, artifactOf(name, version), "cli")
	if err != nil {
		t.Fatalf("PublishModel %s@%s: %v", name, version, err)
	}
	// Versions are listed by publication time: keep them apart.
	time.Sleep(2 * time.Millisecond)
	return v
}

func artifactOf(name, version string) []byte {
	return []byte(strings.Repeat("model "+name+"@"+version+"\x00\xff", 100))
}

func activate(t *testing.T, s caresignal.Store, name, version string) caresignal.ModelVersion {
	t.Helper()
	prev, err := s.SetStage(context.Background(), name, version, caresignal.StageProduction, "ops")
	if err != nil {
		t.Fatalf("SetStage %s@%s production: %v", name, version, err)
	}
	return prev
}

// rawDB returns the store's database handle, for tests that must damage
// what the store wrote. Statements use $1-style placeholders, which both
// PostgreSQL and SQLite accept.
func rawDB(t *testing.T, s caresignal.Store) *sql.DB {
	t.Helper()
	d, ok := s.(interface{ DB() *sql.DB })
	if !ok {
		t.Skipf("%T does not expose its database handle", s)
	}
	return d.DB()
}

func corrupt(t *testing.T, s caresignal.Store, name, version string) {
	t.Helper()
	b := artifactOf(name, version)
	b[len(b)/2] ^= 1 // one flipped bit, same size
	res, err := rawDB(t, s).Exec("UPDATE model_versions SET artifact = $1 WHERE name = $2 AND version = $3", b, name, version)
	if err != nil {
		t.Fatalf("corrupting %s@%s: %v", name, version, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("corrupting %s@%s: %d rows updated", name, version, n)
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := caresignal.ErrorCode(err); got != code {
		t.Errorf("%s: err = %v (%s), want %s", what, err, got, code)
	}
}

func sameVersion(a, b caresignal.ModelVersion) bool {
	return a.Name == b.Name && a.Version == b.Version && a.Stage == b.Stage && a.Checksum == b.Checksum && a.Size == b.Size &&
		a.CreatedAt.Equal(b.CreatedAt) && a.StageChangedAt.Equal(b.StageChangedAt) && a.Note == b.Note
}

func versionNames(vs []caresignal.ModelVersion) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name+"@"+v.Version+":"+v.Stage)
	}
	return out
}

func changes(t *testing.T, s caresignal.Store, name string, limit int) []string {
	t.Helper()
	h, err := s.StageHistory(context.Background(), name, limit)
	if err != nil {
		t.Fatalf("StageHistory: %v", err)
	}
	var out []string
	for _, c := range h {
		if c.At.IsZero() {
			t.Errorf("stage change %+v has no time", c)
		}
		out = append(out, fmt.Sprintf("%s %s>%s %s", c.Version, c.From, c.To, c.Actor))
	}
	return out
}

func wantStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func testPublish(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	before := time.Now().Add(-time.Second)
	art := artifactOf("engagement", "v1")
	v, err := s.PublishModel(ctx, caresignal.ModelVersion{Name: "engagement", Version: "v1", Note: "first", Stage: caresignal.StageProduction, Checksum: "bogus", Size: 3}, art, "cli")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(art)
	if v.Name != "engagement" || v.Version != "v1" || v.Stage != caresignal.StageStaging || v.Checksum != hex.EncodeToString(sum[:]) ||
		v.Size != len(art) || v.Note != "first" || v.CreatedAt.Before(before) || !v.StageChangedAt.Equal(v.CreatedAt) {
		t.Errorf("PublishModel = %+v: want a staging version with the store's own checksum, size and time", v)
	}
	again, err := s.PublishModel(ctx, caresignal.ModelVersion{Name: "engagement", Version: "v1", Note: "second"}, art, "someone-else")
	if err != nil || !sameVersion(again, v) {
		t.Errorf("publishing the same bytes again = %+v, %v; want the existing record %+v", again, err, v)
	}
	wantStrings(t, "history after publishing twice", changes(t, s, "engagement", 10), []string{"v1 >staging cli"})

	_, err = s.PublishModel(ctx, caresignal.ModelVersion{Name: "engagement", Version: "v1"}, []byte("other bytes"), "cli")
	wantCode(t, "different bytes under a published version", err, caresignal.ECONFLICT)
	if !strings.Contains(caresignal.ErrorMessage(err), "engagement@v1") {
		t.Errorf("conflict message %q does not name engagement@v1", caresignal.ErrorMessage(err))
	}

	got, b, err := s.ModelArtifact(ctx, "engagement", "v1")
	if err != nil || !sameVersion(got, v) || string(b) != string(art) {
		t.Errorf("ModelArtifact = %+v, %d bytes, %v; want %+v and the published bytes", got, len(b), err, v)
	}
	list, err := s.ModelVersions(ctx, "engagement")
	if err != nil || len(list) != 1 || !sameVersion(list[0], v) {
		t.Errorf("ModelVersions = %+v, %v; want [%+v]", list, err, v)
	}
	_, _, err = s.ModelArtifact(ctx, "engagement", "v9")
	wantCode(t, "ModelArtifact of a missing version", err, caresignal.ENOTFOUND)
	_, err = s.ProductionModel(ctx, "engagement")
	wantCode(t, "ProductionModel before any activation", err, caresignal.ENOTFOUND)

	for _, c := range []struct {
		name, version string
		art           []byte
		actor         string
	}{{"", "v2", art, "cli"}, {"engagement", "", art, "cli"}, {"engagement", "v2", nil, "cli"}, {"engagement", "v2", art, ""}} {
		_, err := s.PublishModel(ctx, caresignal.ModelVersion{Name: c.name, Version: c.version}, c.art, c.actor)
		wantCode(t, fmt.Sprintf("PublishModel(%q, %q, %d bytes, actor %q)", c.name, c.version, len(c.art), c.actor), err, caresignal.EINVALID)
	}
	if list, _ := s.ModelVersions(ctx, ""); len(list) != 1 {
		t.Errorf("refused publications were stored: %v", versionNames(list))
	}
}

func testModelVersionsOrder(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	publish(t, s, "a", "v1")
	publish(t, s, "b", "x")
	publish(t, s, "a", "v2")
	publish(t, s, "a", "v0") // newest, though it sorts first by name
	list, err := s.ModelVersions(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "ModelVersions(a)", versionNames(list), []string{"a@v0:staging", "a@v2:staging", "a@v1:staging"})
	list, err = s.ModelVersions(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "ModelVersions()", versionNames(list), []string{"a@v0:staging", "a@v2:staging", "b@x:staging", "a@v1:staging"})
	if list, err := s.ModelVersions(ctx, "none"); err != nil || len(list) != 0 {
		t.Errorf("ModelVersions of an unknown name = %v, %v; want none", list, err)
	}
}

func testActivate(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	v1, v2 := publish(t, s, "m", "v1"), publish(t, s, "m", "v2")
	if prev := activate(t, s, "m", "v1"); prev != (caresignal.ModelVersion{}) {
		t.Errorf("first activation returned previous %+v, want none", prev)
	}
	prev := activate(t, s, "m", "v2")
	if prev.Version != "v1" || prev.Stage != caresignal.StageArchived || prev.Checksum != v1.Checksum || !prev.StageChangedAt.After(v1.StageChangedAt) {
		t.Errorf("activating v2 returned previous %+v, want v1, archived now", prev)
	}
	prod, err := s.ProductionModel(ctx, "m")
	if err != nil || prod.Version != "v2" || prod.Stage != caresignal.StageProduction || prod.Checksum != v2.Checksum || !prod.StageChangedAt.Equal(prev.StageChangedAt) {
		t.Errorf("ProductionModel = %+v, %v; want v2 since the archiving of v1", prod, err)
	}
	list, _ := s.ModelVersions(ctx, "m")
	wantStrings(t, "versions", versionNames(list), []string{"m@v2:production", "m@v1:archived"})
	wantStrings(t, "history", changes(t, s, "m", 10), []string{
		"v2 staging>production ops", "v1 production>archived ops", "v1 staging>production ops", "v2 >staging cli", "v1 >staging cli"})
	wantStrings(t, "history, limit 2", changes(t, s, "m", 2), []string{"v2 staging>production ops", "v1 production>archived ops"})
	if h, err := s.StageHistory(ctx, "m", 0); err != nil || len(h) != 0 {
		t.Errorf("StageHistory limit 0 = %v, %v; want none", h, err)
	}

	// Already there: nothing changes.
	if prev := activate(t, s, "m", "v2"); prev != (caresignal.ModelVersion{}) {
		t.Errorf("activating the production version again returned previous %+v, want none", prev)
	}
	if h := changes(t, s, "m", 10); len(h) != 5 {
		t.Errorf("activating the production version again was recorded: %q", h)
	}

	_, err = s.SetStage(ctx, "m", "v1", "live", "ops")
	wantCode(t, "unknown stage", err, caresignal.EINVALID)
	_, err = s.SetStage(ctx, "m", "v9", caresignal.StageProduction, "ops")
	wantCode(t, "missing version", err, caresignal.ENOTFOUND)
	_, err = s.SetStage(ctx, "", "v1", caresignal.StageProduction, "ops")
	wantCode(t, "no name", err, caresignal.EINVALID)
	_, err = s.SetStage(ctx, "m", "", caresignal.StageProduction, "ops")
	wantCode(t, "no version", err, caresignal.EINVALID)
	_, err = s.SetStage(ctx, "m", "v1", caresignal.StageProduction, "")
	wantCode(t, "no actor", err, caresignal.EINVALID)
	if prod, _ := s.ProductionModel(ctx, "m"); prod.Version != "v2" {
		t.Errorf("refused changes moved production to %q", prod.Version)
	}

	// Archiving the production version leaves none.
	if prev, err := s.SetStage(ctx, "m", "v2", caresignal.StageArchived, "ops"); err != nil || prev != (caresignal.ModelVersion{}) {
		t.Errorf("archiving v2 = %+v, %v", prev, err)
	}
	_, err = s.ProductionModel(ctx, "m")
	wantCode(t, "ProductionModel after archiving it", err, caresignal.ENOTFOUND)
	if _, err := s.SetStage(ctx, "m", "v1", caresignal.StageStaging, "ops"); err != nil {
		t.Error(err)
	}
	list, _ = s.ModelVersions(ctx, "m")
	wantStrings(t, "versions at the end", versionNames(list), []string{"m@v2:archived", "m@v1:staging"})
}

func testOneProduction(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	const n = 8
	for i := range n {
		publish(t, s, "m", fmt.Sprint("v", i))
	}
	publish(t, s, "other", "v0")
	activate(t, s, "other", "v0")

	var wg sync.WaitGroup
	prevs := make([]caresignal.ModelVersion, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			prevs[i], errs[i] = s.SetStage(ctx, "m", fmt.Sprint("v", i), caresignal.StageProduction, fmt.Sprint("actor", i))
		})
	}
	close(start)
	wg.Wait()

	won := map[string]bool{}
	for i, err := range errs {
		switch caresignal.ErrorCode(err) {
		case "":
			won[fmt.Sprint("v", i)] = true
		case caresignal.ECONFLICT:
		default:
			t.Errorf("concurrent activation of v%d: %v, want success or ECONFLICT", i, err)
		}
	}
	if len(won) == 0 {
		t.Fatal("every concurrent activation failed")
	}
	list, err := s.ModelVersions(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	var prod []string
	for _, v := range list {
		if v.Stage == caresignal.StageProduction {
			prod = append(prod, v.Version)
		}
	}
	if len(prod) != 1 || !won[prod[0]] {
		t.Fatalf("after %d concurrent activations, production versions %v (successful calls %v); want exactly one of those", n, prod, won)
	}
	// The calls ran one after another: each archived the one before it,
	// so every winner but the last was returned as previous exactly once,
	// and exactly one call found no production version.
	archived, none := map[string]int{}, 0
	for i, p := range prevs {
		if errs[i] != nil {
			continue
		}
		if p.Version == "" {
			none++
		} else {
			archived[p.Version]++
		}
	}
	if none != 1 || len(archived) != len(won)-1 {
		t.Errorf("previous versions returned %v and %d empty; want each of %v but %s once and one empty", archived, none, won, prod[0])
	}
	for v, k := range archived {
		if k != 1 || !won[v] || v == prod[0] {
			t.Errorf("version %s returned as previous %d times", v, k)
		}
	}
	h, err := s.StageHistory(ctx, "m", 100)
	if err != nil {
		t.Fatal(err)
	}
	promotions, archivals := 0, 0
	for _, c := range h {
		switch {
		case c.To == caresignal.StageProduction:
			promotions++
		case c.From == caresignal.StageProduction:
			archivals++
		}
	}
	if promotions != len(won) || archivals != len(won)-1 {
		t.Errorf("history has %d promotions and %d archivals after %d successful activations", promotions, archivals, len(won))
	}
	if p, err := s.ProductionModel(ctx, "other"); err != nil || p.Version != "v0" {
		t.Errorf("another name's production version changed: %+v, %v", p, err)
	}
}

func testRollback(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	_, _, err := s.Rollback(ctx, "m", "ops")
	wantCode(t, "Rollback of an unknown name", err, caresignal.ENOTFOUND)
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		publish(t, s, "m", v)
	}
	activate(t, s, "m", "v1")
	_, _, err = s.Rollback(ctx, "m", "ops")
	wantCode(t, "Rollback with one activation", err, caresignal.ENOTFOUND)
	activate(t, s, "m", "v2")
	activate(t, s, "m", "v3")

	rollback := func(wantFrom, wantTo string) {
		t.Helper()
		from, to, err := s.Rollback(ctx, "m", "pager")
		if err != nil {
			t.Fatalf("Rollback, expecting %s → %s: %v", wantFrom, wantTo, err)
		}
		if from.Version != wantFrom || from.Stage != caresignal.StageArchived || to.Version != wantTo || to.Stage != caresignal.StageProduction {
			t.Fatalf("Rollback = %s (%s) → %s (%s), want %s (archived) → %s (production)", from.Version, from.Stage, to.Version, to.Stage, wantFrom, wantTo)
		}
		if p, err := s.ProductionModel(ctx, "m"); err != nil || !sameVersion(p, to) {
			t.Errorf("ProductionModel after the rollback = %+v, %v; want %+v", p, err, to)
		}
	}
	rollback("v3", "v2")
	wantStrings(t, "history of a rollback", changes(t, s, "m", 2), []string{"v2 archived>production pager", "v3 production>archived pager"})
	rollback("v2", "v1")
	_, _, err = s.Rollback(ctx, "m", "pager")
	wantCode(t, "Rollback past the first activation", err, caresignal.ENOTFOUND)
	if p, _ := s.ProductionModel(ctx, "m"); p.Version != "v1" {
		t.Errorf("a refused rollback moved production to %s", p.Version)
	}

	// v1 → v2 → v3, back to v2, then v4: rolling back from v4 returns to
	// v2 (the production version before it), then to v1.
	activate(t, s, "m", "v2")
	activate(t, s, "m", "v3")
	rollback("v3", "v2")
	activate(t, s, "m", "v4")
	rollback("v4", "v2")
	rollback("v2", "v1")

	// No production version: nothing to roll back from.
	if _, err := s.SetStage(ctx, "m", "v1", caresignal.StageArchived, "ops"); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Rollback(ctx, "m", "pager")
	wantCode(t, "Rollback without a production version", err, caresignal.ENOTFOUND)

	_, _, err = s.Rollback(ctx, "", "pager")
	wantCode(t, "Rollback without a name", err, caresignal.EINVALID)
	_, _, err = s.Rollback(ctx, "m", "")
	wantCode(t, "Rollback without an actor", err, caresignal.EINVALID)
}

func testRollbackSkipsDeleted(t *testing.T, open Opener) {
	s := open(t)
	for _, v := range []string{"v1", "v2", "v3"} {
		publish(t, s, "m", v)
		activate(t, s, "m", v)
	}
	if _, err := rawDB(t, s).Exec("DELETE FROM model_versions WHERE name = $1 AND version = $2", "m", "v2"); err != nil {
		t.Fatal(err)
	}
	from, to, err := s.Rollback(context.Background(), "m", "pager")
	if err != nil || from.Version != "v3" || to.Version != "v1" {
		t.Errorf("Rollback with v2 deleted = %s → %s, %v; want v3 → v1", from.Version, to.Version, err)
	}
}

func testCorruptArtifact(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	publish(t, s, "m", "v1")
	publish(t, s, "m", "v2")
	activate(t, s, "m", "v1")
	corrupt(t, s, "m", "v2")
	_, b, err := s.ModelArtifact(ctx, "m", "v2")
	wantCode(t, "ModelArtifact of corrupted bytes", err, caresignal.ECORRUPT)
	if b != nil {
		t.Errorf("ModelArtifact returned %d corrupted bytes", len(b))
	}
	if !strings.Contains(caresignal.ErrorMessage(err), "m@v2") {
		t.Errorf("corruption message %q does not name m@v2", caresignal.ErrorMessage(err))
	}
	if _, b, err := s.ModelArtifact(ctx, "m", "v1"); err != nil || string(b) != string(artifactOf("m", "v1")) {
		t.Errorf("ModelArtifact of an intact version: %d bytes, %v", len(b), err)
	}
	_, err = s.SetStage(ctx, "m", "v2", caresignal.StageProduction, "ops")
	wantCode(t, "activating a corrupted version", err, caresignal.ECORRUPT)
	if p, err := s.ProductionModel(ctx, "m"); err != nil || p.Version != "v1" {
		t.Errorf("after refusing a corrupted version, production is %+v, %v; want v1", p, err)
	}
	// Other stages do not need the bytes.
	if _, err := s.SetStage(ctx, "m", "v2", caresignal.StageArchived, "ops"); err != nil {
		t.Errorf("archiving a corrupted version: %v", err)
	}
}

// registrySnapshot is everything the registry holds for name.
func registrySnapshot(t *testing.T, s caresignal.Store, name string) string {
	t.Helper()
	ctx := context.Background()
	list, err := s.ModelVersions(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.StageHistory(ctx, name, 1000)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := s.ServingConfig(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.ServingState(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, v := range list {
		fmt.Fprintf(&b, "%s@%s %s %s %s\n", v.Name, v.Version, v.Stage, v.StageChangedAt.Format(time.RFC3339Nano), v.Checksum)
	}
	for _, c := range h {
		fmt.Fprintf(&b, "%+v\n", c)
	}
	fmt.Fprintf(&b, "%+v\n%+v\n", cfg, st)
	return b.String()
}

func testFailedChangeKeepsRegistry(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	publish(t, s, "m", "v1")
	publish(t, s, "m", "v2")
	publish(t, s, "m", "v3")
	activate(t, s, "m", "v1")
	activate(t, s, "m", "v2")
	if err := s.SetServingConfig(ctx, caresignal.ServingConfig{Name: "m", CanaryVersion: "v3", CanaryPercent: 5, UpdatedByActor: "ops"}); err != nil {
		t.Fatal(err)
	}
	corrupt(t, s, "m", "v1")
	corrupt(t, s, "m", "v3")
	before := registrySnapshot(t, s, "m")

	// Each of these fails after archiving the production version, inside
	// the transaction: the archiving must be undone.
	_, _, err := s.Rollback(ctx, "m", "pager")
	wantCode(t, "rolling back to a corrupted version", err, caresignal.ECORRUPT)
	_, err = s.SetStage(ctx, "m", "v3", caresignal.StageProduction, "ops")
	wantCode(t, "activating a corrupted version", err, caresignal.ECORRUPT)
	err = s.SetServingConfig(ctx, caresignal.ServingConfig{Name: "m", CanaryVersion: "v2", CanaryPercent: 50, ShadowVersion: "v9", UpdatedByActor: "ops"})
	wantCode(t, "serving config naming a missing version", err, caresignal.EINVALID)

	if after := registrySnapshot(t, s, "m"); after != before {
		t.Errorf("failed changes altered the registry:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func testServingConfig(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	cfg, err := s.ServingConfig(ctx, "m")
	if err != nil || !reflect.DeepEqual(cfg, caresignal.ServingConfig{Name: "m"}) {
		t.Errorf("ServingConfig before any = %+v, %v; want a zero config named m", cfg, err)
	}
	publish(t, s, "m", "v1")
	publish(t, s, "m", "v2")
	publish(t, s, "other", "v3")

	at := time.Date(2026, 11, 28, 10, 12, 13, 123456789, time.FixedZone("CET", 3600))
	want := caresignal.ServingConfig{Name: "m", CanaryVersion: "v2", CanaryPercent: 12.5, ShadowVersion: "v1", UpdatedAt: at, UpdatedByActor: "ops"}
	if err := s.SetServingConfig(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.ServingConfig(ctx, "m")
	want.UpdatedAt = at.Truncate(time.Microsecond)
	if err != nil || got.Name != "m" || got.CanaryVersion != "v2" || got.CanaryPercent != 12.5 || got.ShadowVersion != "v1" ||
		!got.UpdatedAt.Equal(want.UpdatedAt) || got.UpdatedByActor != "ops" {
		t.Errorf("ServingConfig = %+v, %v; want %+v", got, err, want)
	}

	for _, c := range []struct {
		cfg   caresignal.ServingConfig
		field string
	}{
		{caresignal.ServingConfig{Name: "m", CanaryVersion: "v2", CanaryPercent: -1, UpdatedByActor: "ops"}, "canary_percent"},
		{caresignal.ServingConfig{Name: "m", CanaryVersion: "v2", CanaryPercent: 100.5, UpdatedByActor: "ops"}, "canary_percent"},
		{caresignal.ServingConfig{Name: "m", CanaryVersion: "v2", CanaryPercent: math.NaN(), UpdatedByActor: "ops"}, "canary_percent"},
		{caresignal.ServingConfig{Name: "m", CanaryVersion: "v2", CanaryPercent: math.Inf(1), UpdatedByActor: "ops"}, "canary_percent"},
		{caresignal.ServingConfig{Name: "m", CanaryPercent: 10, UpdatedByActor: "ops"}, "canary_version"},
		{caresignal.ServingConfig{Name: "m", CanaryVersion: "v9", CanaryPercent: 10, UpdatedByActor: "ops"}, "canary_version"},
		{caresignal.ServingConfig{Name: "m", CanaryVersion: "v3", CanaryPercent: 10, UpdatedByActor: "ops"}, "canary_version"}, // another name's
		{caresignal.ServingConfig{Name: "m", ShadowVersion: "v9", UpdatedByActor: "ops"}, "shadow_version"},
		{caresignal.ServingConfig{CanaryVersion: "v2", UpdatedByActor: "ops"}, "name"},
		{caresignal.ServingConfig{Name: "m", CanaryVersion: "v2"}, "updated_by"},
	} {
		err := s.SetServingConfig(ctx, c.cfg)
		if caresignal.ErrorCode(err) != caresignal.EINVALID || caresignal.ErrorField(err) != c.field {
			t.Errorf("SetServingConfig(%+v) = %v; want EINVALID on %s", c.cfg, err, c.field)
		}
	}
	if got2, _ := s.ServingConfig(ctx, "m"); !reflect.DeepEqual(got2, got) {
		t.Errorf("refused configs changed the saved one: %+v, was %+v", got2, got)
	}

	// Boundaries are allowed; empty versions clear; a zero time means now.
	before := time.Now().Add(-time.Second)
	if err := s.SetServingConfig(ctx, caresignal.ServingConfig{Name: "m", CanaryVersion: "v1", CanaryPercent: 100, UpdatedByActor: "cli"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetServingConfig(ctx, caresignal.ServingConfig{Name: "m", UpdatedByActor: "cli"}); err != nil {
		t.Fatal(err)
	}
	got, err = s.ServingConfig(ctx, "m")
	if err != nil || got.CanaryVersion != "" || got.CanaryPercent != 0 || got.ShadowVersion != "" || got.UpdatedAt.Before(before) || got.UpdatedByActor != "cli" {
		t.Errorf("cleared ServingConfig = %+v, %v", got, err)
	}
}
