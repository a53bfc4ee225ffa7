package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
)

// The API key and audit log part of the suite.

func testKeys(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	if keys, hashes, err := s.Keys(ctx); err != nil || len(keys) != 0 || len(hashes) != 0 {
		t.Errorf("Keys of an empty store = %v, %v, %v", keys, hashes, err)
	}
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 123456789, time.UTC)
	later := caresignal.APIKey{ID: "k-later", Name: "care-team-app", Role: caresignal.RolePredict, CreatedAt: t0.Add(time.Hour)}
	earlier := caresignal.APIKey{ID: "k-earlier", Name: "ops", Role: caresignal.RoleAdmin, CreatedAt: t0}
	if err := s.CreateKey(ctx, later, []byte("hash-later\x00\xff")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateKey(ctx, earlier, []byte("hash-earlier")); err != nil {
		t.Fatal(err)
	}
	err := s.CreateKey(ctx, caresignal.APIKey{ID: "k-later", Name: "intruder", Role: caresignal.RoleAdmin}, []byte("other"))
	wantCode(t, "CreateKey with a taken id", err, caresignal.ECONFLICT)
	for _, k := range []caresignal.APIKey{
		{ID: "", Name: "x", Role: caresignal.RoleViewer},
		{ID: "k", Name: "", Role: caresignal.RoleViewer},
		{ID: "k", Name: "x", Role: "root"},
		{ID: "k", Name: "x", Role: ""},
	} {
		wantCode(t, fmt.Sprintf("CreateKey(%+v)", k), s.CreateKey(ctx, k, []byte("h")), caresignal.EINVALID)
	}
	wantCode(t, "CreateKey without a hash", s.CreateKey(ctx, caresignal.APIKey{ID: "k", Name: "x", Role: caresignal.RoleViewer}, nil), caresignal.EINVALID)

	before := time.Now().Add(-time.Second)
	if err := s.CreateKey(ctx, caresignal.APIKey{ID: "k-now", Name: "viewer", Role: caresignal.RoleViewer}, []byte("hash-now")); err != nil {
		t.Fatal(err)
	}
	keys, hashes, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 || len(hashes) != 3 {
		t.Fatalf("Keys = %+v, want 3 keys", keys)
	}
	check := func(i int, want caresignal.APIKey, hash string) {
		t.Helper()
		k := keys[i]
		if k.ID != want.ID || k.Name != want.Name || k.Role != want.Role || !k.CreatedAt.Equal(want.CreatedAt.Truncate(time.Microsecond)) ||
			(k.RevokedAt == nil) != (want.RevokedAt == nil) || k.RevokedAt != nil && !k.RevokedAt.Equal(want.RevokedAt.Truncate(time.Microsecond)) {
			t.Errorf("key %d = %+v, want %+v", i, k, want)
		}
		if !bytes.Equal(hashes[i], []byte(hash)) {
			t.Errorf("key %d hash = %q, want %q", i, hashes[i], hash)
		}
	}
	check(0, earlier, "hash-earlier")
	check(1, later, "hash-later\x00\xff")
	if keys[2].ID != "k-now" || keys[2].CreatedAt.Before(before) || keys[2].RevokedAt != nil {
		t.Errorf("key created without a time = %+v, want created now", keys[2])
	}

	revoked := t0.Add(48 * time.Hour)
	if err := s.RevokeKey(ctx, "k-later", revoked); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKey(ctx, "k-later", revoked.Add(time.Hour)); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	wantCode(t, "RevokeKey of an unknown id", s.RevokeKey(ctx, "k-none", revoked), caresignal.ENOTFOUND)
	wantCode(t, "RevokeKey without an id", s.RevokeKey(ctx, "", revoked), caresignal.EINVALID)
	keys, hashes, err = s.Keys(ctx)
	if err != nil || len(keys) != 3 {
		t.Fatalf("Keys = %+v, %v", keys, err)
	}
	later.RevokedAt = &revoked
	check(0, earlier, "hash-earlier")
	check(1, later, "hash-later\x00\xff")
}

func testAudit(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	if log, err := s.AuditLog(ctx, 10); err != nil || len(log) != 0 {
		t.Errorf("AuditLog of an empty store = %v, %v", log, err)
	}
	t0 := time.Date(2026, 11, 28, 10, 12, 0, 987654321, time.UTC)
	var all []caresignal.AuditEntry
	for i := range 5 {
		e := caresignal.AuditEntry{At: t0.Add(time.Duration(i) * time.Minute), Actor: "ops", KeyID: fmt.Sprint("k", i),
			Action: "model.activate", Target: fmt.Sprintf("engagement@v%d", i), Outcome: []string{"ok", "denied", "failed"}[i%3],
			Detail: fmt.Sprint("detail ", i), RequestID: fmt.Sprint("req-", i)}
		if i == 4 {
			e.KeyID = "" // the command line
			e.Actor = "cli"
		}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		e.At = e.At.Truncate(time.Microsecond)
		all = append(all, e)
	}
	log, err := s.AuditLog(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 {
		t.Fatalf("AuditLog(3) = %d entries", len(log))
	}
	for i, e := range log {
		want := all[4-i]
		if !e.At.Equal(want.At) {
			t.Errorf("entry %d at %v, want %v", i, e.At, want.At)
		}
		e.At = want.At
		if e != want {
			t.Errorf("entry %d = %+v, want %+v", i, e, want)
		}
	}
	if log, err := s.AuditLog(ctx, 0); err != nil || len(log) != 0 {
		t.Errorf("AuditLog(0) = %v, %v; want none", log, err)
	}
	if log, err := s.AuditLog(ctx, 100); err != nil || len(log) != 5 {
		t.Errorf("AuditLog(100) = %d entries, %v; want 5", len(log), err)
	}
	wantCode(t, "AuditLog(-1)", func() error { _, err := s.AuditLog(ctx, -1); return err }(), caresignal.EINVALID)

	// Entries are listed in the order they were appended, whatever their
	// times; a zero time means now.
	before := time.Now().Add(-time.Second)
	if err := s.AppendAudit(ctx, caresignal.AuditEntry{Actor: "cli", Action: "server.stop", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	if log, err := s.AuditLog(ctx, 1); err != nil || len(log) != 1 || log[0].Action != "server.stop" || log[0].At.Before(before) {
		t.Errorf("AuditLog(1) after an entry without a time = %+v, %v", log, err)
	}
	for _, e := range []caresignal.AuditEntry{
		{Actor: "cli", Action: "", Outcome: "ok"},
		{Actor: "cli", Action: "key.create", Outcome: ""},
	} {
		wantCode(t, fmt.Sprintf("AppendAudit(%+v)", e), s.AppendAudit(ctx, e), caresignal.EINVALID)
	}
	if log, _ := s.AuditLog(ctx, 100); len(log) != 6 {
		t.Errorf("refused entries were recorded: %d entries, want 6", len(log))
	}
	// Any outcome is kept: losing an entry is worse than an odd word.
	if err := s.AppendAudit(ctx, caresignal.AuditEntry{Actor: "cli", Action: "key.create", Outcome: "refused"}); err != nil {
		t.Errorf("AppendAudit with outcome refused: %v", err)
	}
}

// testKeyConflictKeepsFirst checks a refused CreateKey leaves the key it
// clashed with as it was, and that concurrent creations of one id let
// exactly one through.
func testKeyConflictKeepsFirst(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	const n = 8
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		go func() {
			<-start
			errs <- s.CreateKey(ctx, caresignal.APIKey{ID: "shared", Name: fmt.Sprint("holder", i), Role: caresignal.RoleViewer}, []byte(fmt.Sprint("hash", i)))
		}()
	}
	close(start)
	ok := 0
	for range n {
		switch err := <-errs; caresignal.ErrorCode(err) {
		case "":
			ok++
		case caresignal.ECONFLICT:
		default:
			t.Errorf("concurrent CreateKey: %v, want success or ECONFLICT", err)
		}
	}
	keys, hashes, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok != 1 || len(keys) != 1 {
		t.Fatalf("%d concurrent creations of one id succeeded, %d keys stored; want 1 and 1", ok, len(keys))
	}
	if want := "hash" + keys[0].Name[len("holder"):]; string(hashes[0]) != want {
		t.Errorf("key held by %s has hash %q, want %q", keys[0].Name, hashes[0], want)
	}
}
