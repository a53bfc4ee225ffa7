package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/caresignal/caresignal"
)

// Causes of stage changes, kept in model_stage_history.cause. Rollback
// needs them: an entry made by a rollback returns to an earlier
// activation instead of adding one.
const (
	causePublish  = "publish"
	causeSetStage = "set_stage"
	causeRollback = "rollback"
)

// versionColumns are the columns scanVersion reads, in its order.
const versionColumns = "name, version, stage, checksum, size, created_at, stage_changed_at, note"

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type scanner interface{ Scan(dest ...any) error }

// PublishModel stores a new staging version, computing its checksum.
func (s *Store) PublishModel(ctx context.Context, v caresignal.ModelVersion, artifact []byte, actor string) (caresignal.ModelVersion, error) {
	if err := checkVersion(v.Name, v.Version); err != nil {
		return caresignal.ModelVersion{}, err
	}
	if err := checkActor(actor); err != nil {
		return caresignal.ModelVersion{}, err
	}
	if len(artifact) == 0 {
		return caresignal.ModelVersion{}, caresignal.Invalidf("artifact", "model %s@%s: the artifact is empty", v.Name, v.Version)
	}
	sum := sha256.Sum256(artifact)
	checksum := hex.EncodeToString(sum[:])
	var out caresignal.ModelVersion
	err := s.inModelTx(ctx, v.Name, func(tx *sql.Tx) error {
		have, err := s.version(ctx, tx, v.Name, v.Version)
		switch {
		case err == nil && have.Checksum == checksum && have.Size == len(artifact):
			out = have // the same bytes again
			return nil
		case err == nil:
			return caresignal.Errorf(caresignal.ECONFLICT, "model %s@%s is already published with different bytes (checksum %.12s…, these are %.12s…): publish them under a new version",
				v.Name, v.Version, have.Checksum, checksum)
		case caresignal.ErrorCode(err) != caresignal.ENOTFOUND:
			return err
		}
		t := now()
		out = caresignal.ModelVersion{Name: v.Name, Version: v.Version, Stage: caresignal.StageStaging, Checksum: checksum,
			Size: len(artifact), CreatedAt: t, StageChangedAt: t, Note: v.Note}
		b := s.d.Bind
		if _, err := tx.ExecContext(ctx, "INSERT INTO model_versions ("+versionColumns+", artifact) VALUES ("+
			b(1)+", "+b(2)+", "+b(3)+", "+b(4)+", "+b(5)+", "+b(6)+", "+b(7)+", "+b(8)+", "+b(9)+")",
			out.Name, out.Version, out.Stage, out.Checksum, out.Size, stamp(t), stamp(t), out.Note, artifact); err != nil {
			return err
		}
		return s.recordStage(ctx, tx, out.Name, out.Version, "", out.Stage, causePublish, actor, t)
	})
	if err != nil {
		return caresignal.ModelVersion{}, s.fail(err, "publishing model %s@%s", v.Name, v.Version)
	}
	return out, nil
}

// ModelVersions lists versions newest first.
func (s *Store) ModelVersions(ctx context.Context, name string) ([]caresignal.ModelVersion, error) {
	query, args := "SELECT "+versionColumns+" FROM model_versions ORDER BY created_at DESC, name, version DESC", []any(nil)
	if name != "" {
		query, args = "SELECT "+versionColumns+" FROM model_versions WHERE name = "+s.d.Bind(1)+" ORDER BY created_at DESC, version DESC", []any{name}
	}
	out, err := s.versions(ctx, s.db, query, args...)
	if err != nil {
		return nil, s.fail(err, "listing model versions")
	}
	return out, nil
}

// ModelArtifact returns a version and its bytes, checked against the
// recorded checksum.
func (s *Store) ModelArtifact(ctx context.Context, name, version string) (caresignal.ModelVersion, []byte, error) {
	if err := checkVersion(name, version); err != nil {
		return caresignal.ModelVersion{}, nil, err
	}
	v, artifact, err := s.artifact(ctx, s.db, name, version)
	if err != nil {
		return v, nil, s.fail(err, "reading model %s@%s", name, version)
	}
	return v, artifact, nil
}

// ProductionModel returns name's production version.
func (s *Store) ProductionModel(ctx context.Context, name string) (caresignal.ModelVersion, error) {
	if name == "" {
		return caresignal.ModelVersion{}, caresignal.Invalidf("name", "no model name given")
	}
	v, err := s.production(ctx, s.db, name)
	if err != nil {
		return caresignal.ModelVersion{}, s.fail(err, "reading the production version of model %s", name)
	}
	return v, nil
}

// SetStage moves a version to stage; to production, it first archives
// the current production version, in the same transaction. A version is
// promoted only if its artifact still matches its checksum (ECORRUPT
// otherwise), so a damaged artifact never goes live. A move into or out
// of production changes the serving state (see changeServing).
func (s *Store) SetStage(ctx context.Context, name, version, stage, actor string) (caresignal.ModelVersion, error) {
	if err := checkVersion(name, version); err != nil {
		return caresignal.ModelVersion{}, err
	}
	if err := checkStage(stage); err != nil {
		return caresignal.ModelVersion{}, err
	}
	if err := checkActor(actor); err != nil {
		return caresignal.ModelVersion{}, err
	}
	var previous caresignal.ModelVersion
	err := s.inModelTx(ctx, name, func(tx *sql.Tx) error {
		previous = caresignal.ModelVersion{}
		v, err := s.version(ctx, tx, name, version)
		if err != nil || v.Stage == stage {
			return err
		}
		t := now()
		if stage == caresignal.StageProduction {
			cur, err := s.production(ctx, tx, name)
			switch {
			case err == nil:
				// Archived first: the unique index admits one production
				// version per name at any moment.
				if previous, err = s.moveStage(ctx, tx, cur, caresignal.StageArchived, causeSetStage, actor, t); err != nil {
					return err
				}
			case caresignal.ErrorCode(err) != caresignal.ENOTFOUND:
				return err
			}
			if _, _, err := s.artifact(ctx, tx, name, version); err != nil {
				return err
			}
		}
		if _, err = s.moveStage(ctx, tx, v, stage, causeSetStage, actor, t); err != nil {
			return err
		}
		if stage != caresignal.StageProduction && v.Stage != caresignal.StageProduction {
			return nil // production is as it was
		}
		return s.changeServing(ctx, tx, name, actor, t, version, previous.Version)
	})
	if err != nil {
		return caresignal.ModelVersion{}, s.fail(err, "moving model %s@%s to %s", name, version, stage)
	}
	return previous, nil
}

// Rollback archives name's production version and promotes the one that
// was production before it.
//
// The stage history is read as a lineage of activations: each move to
// production by PublishModel or SetStage adds the version to the end; a
// rollback to a version cuts the lineage back to that version's last
// entry. Rollback returns to the entry before the current version's last
// one, skipping versions that no longer exist and entries of the current
// version itself. So after activating v1, v2, v3, rollbacks return to v2,
// then v1, then fail with ENOTFOUND; activating v4 after the first
// rollback and rolling back returns to v2. Moving the production version
// out of production by hand does not change the lineage: activating
// another and rolling back returns to it. A rollback target is checked
// against its checksum like any promotion. The rollback changes the
// serving state (see changeServing).
func (s *Store) Rollback(ctx context.Context, name, actor string) (from, to caresignal.ModelVersion, err error) {
	if name == "" {
		return from, to, caresignal.Invalidf("name", "no model name given")
	}
	if err := checkActor(actor); err != nil {
		return from, to, err
	}
	err = s.inModelTx(ctx, name, func(tx *sql.Tx) error {
		cur, err := s.production(ctx, tx, name)
		if caresignal.ErrorCode(err) == caresignal.ENOTFOUND {
			return caresignal.Errorf(caresignal.ENOTFOUND, "model %s has no production version to roll back", name)
		}
		if err != nil {
			return err
		}
		target, err := s.rollbackTarget(ctx, tx, cur)
		if err != nil {
			return err
		}
		t := now()
		if from, err = s.moveStage(ctx, tx, cur, caresignal.StageArchived, causeRollback, actor, t); err != nil {
			return err
		}
		if _, _, err := s.artifact(ctx, tx, target.Name, target.Version); err != nil {
			return err
		}
		if to, err = s.moveStage(ctx, tx, target, caresignal.StageProduction, causeRollback, actor, t); err != nil {
			return err
		}
		return s.changeServing(ctx, tx, name, actor, t, from.Version, to.Version)
	})
	if err != nil {
		return caresignal.ModelVersion{}, caresignal.ModelVersion{}, s.fail(err, "rolling back model %s", name)
	}
	return from, to, nil
}

// rollbackTarget finds the version Rollback returns to from cur (see
// Rollback).
func (s *Store) rollbackTarget(ctx context.Context, tx *sql.Tx, cur caresignal.ModelVersion) (caresignal.ModelVersion, error) {
	b := s.d.Bind
	rows, err := tx.QueryContext(ctx, "SELECT version, cause FROM model_stage_history WHERE name = "+b(1)+" AND to_stage = "+b(2)+" ORDER BY id",
		cur.Name, caresignal.StageProduction)
	if err != nil {
		return caresignal.ModelVersion{}, err
	}
	defer rows.Close()
	var lineage []string
	for rows.Next() {
		var version, cause string
		if err := rows.Scan(&version, &cause); err != nil {
			return caresignal.ModelVersion{}, err
		}
		if i := lastIndex(lineage, version); cause == causeRollback && i >= 0 {
			lineage = lineage[:i+1]
		} else {
			lineage = append(lineage, version)
		}
	}
	if err := rows.Err(); err != nil {
		return caresignal.ModelVersion{}, err
	}
	rows.Close()
	if i := lastIndex(lineage, cur.Version); i >= 0 {
		lineage = lineage[:i]
	}
	existing, err := s.versions(ctx, tx, "SELECT "+versionColumns+" FROM model_versions WHERE name = "+b(1), cur.Name)
	if err != nil {
		return caresignal.ModelVersion{}, err
	}
	for i := len(lineage) - 1; i >= 0; i-- {
		if lineage[i] == cur.Version {
			continue
		}
		for _, v := range existing {
			if v.Version == lineage[i] {
				return v, nil
			}
		}
	}
	return caresignal.ModelVersion{}, caresignal.Errorf(caresignal.ENOTFOUND, "model %s has no earlier production version to roll back to from %s", cur.Name, cur.Version)
}

func lastIndex(list []string, s string) int {
	for i := len(list) - 1; i >= 0; i-- {
		if list[i] == s {
			return i
		}
	}
	return -1
}

// StageHistory lists stage changes newest first; every name's when name
// is "".
func (s *Store) StageHistory(ctx context.Context, name string, limit int) ([]caresignal.StageChange, error) {
	if limit < 0 {
		return nil, caresignal.Invalidf("limit", "limit %d is negative", limit)
	}
	b := s.d.Bind
	query, args := "SELECT name, version, from_stage, to_stage, actor, at FROM model_stage_history ORDER BY id DESC LIMIT "+b(1), []any{limit}
	if name != "" {
		query, args = "SELECT name, version, from_stage, to_stage, actor, at FROM model_stage_history WHERE name = "+b(1)+" ORDER BY id DESC LIMIT "+b(2), []any{name, limit}
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.fail(err, "reading the stage history")
	}
	defer rows.Close()
	out := []caresignal.StageChange{}
	for rows.Next() {
		var c caresignal.StageChange
		var from sql.NullString
		var at any
		if err := rows.Scan(&c.Name, &c.Version, &from, &c.To, &c.Actor, &at); err != nil {
			return nil, s.fail(err, "reading the stage history")
		}
		c.From = from.String
		if c.At, err = parseTime(at); err != nil {
			return nil, s.fail(err, "reading the stage history")
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "reading the stage history")
	}
	return out, nil
}

// inModelTx runs fn in a transaction holding the dialect's lock on one
// model name.
func (s *Store) inModelTx(ctx context.Context, name string, fn func(*sql.Tx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.LockModel != "" {
			if _, err := tx.ExecContext(ctx, s.d.LockModel, name); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// version reads one version's record; ENOTFOUND when absent.
func (s *Store) version(ctx context.Context, q querier, name, version string) (caresignal.ModelVersion, error) {
	v, err := scanVersion(q.QueryRowContext(ctx, "SELECT "+versionColumns+" FROM model_versions WHERE name = "+s.d.Bind(1)+" AND version = "+s.d.Bind(2), name, version))
	if errors.Is(err, sql.ErrNoRows) {
		return v, caresignal.Errorf(caresignal.ENOTFOUND, "model %s has no version %s", name, version)
	}
	return v, err
}

// production reads name's production version; ENOTFOUND when it has none.
func (s *Store) production(ctx context.Context, q querier, name string) (caresignal.ModelVersion, error) {
	v, err := scanVersion(q.QueryRowContext(ctx, "SELECT "+versionColumns+" FROM model_versions WHERE name = "+s.d.Bind(1)+" AND stage = "+s.d.Bind(2),
		name, caresignal.StageProduction))
	if errors.Is(err, sql.ErrNoRows) {
		return v, caresignal.Errorf(caresignal.ENOTFOUND, "model %s has no production version", name)
	}
	return v, err
}

// artifact reads a version with its bytes and checks them against the
// recorded checksum and size: ECORRUPT, with the record, on a mismatch.
func (s *Store) artifact(ctx context.Context, q querier, name, version string) (caresignal.ModelVersion, []byte, error) {
	var artifact []byte
	v, err := scanVersion(q.QueryRowContext(ctx, "SELECT "+versionColumns+", artifact FROM model_versions WHERE name = "+s.d.Bind(1)+" AND version = "+s.d.Bind(2),
		name, version), &artifact)
	if errors.Is(err, sql.ErrNoRows) {
		return caresignal.ModelVersion{}, nil, caresignal.Errorf(caresignal.ENOTFOUND, "model %s has no version %s", name, version)
	}
	if err != nil {
		return caresignal.ModelVersion{}, nil, err
	}
	sum := sha256.Sum256(artifact)
	if got := hex.EncodeToString(sum[:]); got != v.Checksum || len(artifact) != v.Size {
		return v, nil, caresignal.Errorf(caresignal.ECORRUPT, "model %s@%s: the stored artifact is corrupt: %d bytes hashing to %.12s…, recorded %d bytes with checksum %.12s…; publish it again under a new version",
			name, version, len(artifact), got, v.Size, v.Checksum)
	}
	return v, artifact, nil
}

// versions runs a query selecting versionColumns.
func (s *Store) versions(ctx context.Context, q querier, query string, args ...any) ([]caresignal.ModelVersion, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []caresignal.ModelVersion{}
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// moveStage moves v to stage at t and records the change; it returns the
// updated record.
func (s *Store) moveStage(ctx context.Context, tx *sql.Tx, v caresignal.ModelVersion, stage, cause, actor string, t time.Time) (caresignal.ModelVersion, error) {
	b := s.d.Bind
	if _, err := tx.ExecContext(ctx, "UPDATE model_versions SET stage = "+b(1)+", stage_changed_at = "+b(2)+" WHERE name = "+b(3)+" AND version = "+b(4),
		stage, stamp(t), v.Name, v.Version); err != nil {
		return v, err
	}
	if err := s.recordStage(ctx, tx, v.Name, v.Version, v.Stage, stage, cause, actor, t); err != nil {
		return v, err
	}
	v.Stage, v.StageChangedAt = stage, t
	return v, nil
}

func (s *Store) recordStage(ctx context.Context, tx *sql.Tx, name, version, from, to, cause, actor string, t time.Time) error {
	b := s.d.Bind
	_, err := tx.ExecContext(ctx, "INSERT INTO model_stage_history (name, version, from_stage, to_stage, cause, actor, at) VALUES ("+
		b(1)+", "+b(2)+", "+b(3)+", "+b(4)+", "+b(5)+", "+b(6)+", "+b(7)+")",
		name, version, nullString(from), to, cause, actor, stamp(t))
	return err
}

func scanVersion(r scanner, extra ...any) (caresignal.ModelVersion, error) {
	var v caresignal.ModelVersion
	var size int64
	var created, changed any
	if err := r.Scan(append([]any{&v.Name, &v.Version, &v.Stage, &v.Checksum, &size, &created, &changed, &v.Note}, extra...)...); err != nil {
		return caresignal.ModelVersion{}, err
	}
	v.Size = int(size)
	var err error
	if v.CreatedAt, err = parseTime(created); err != nil {
		return caresignal.ModelVersion{}, err
	}
	if v.StageChangedAt, err = parseTime(changed); err != nil {
		return caresignal.ModelVersion{}, err
	}
	return v, nil
}

func checkVersion(name, version string) error {
	if name == "" {
		return caresignal.Invalidf("name", "no model name given")
	}
	if version == "" {
		return caresignal.Invalidf("version", "model %s: no version given", name)
	}
	return nil
}

func checkStage(stage string) error {
	switch stage {
	case caresignal.StageStaging, caresignal.StageProduction, caresignal.StageArchived:
		return nil
	}
	return caresignal.Invalidf("stage", "unknown stage %q: use %s, %s or %s", stage, caresignal.StageStaging, caresignal.StageProduction, caresignal.StageArchived)
}

func checkActor(actor string) error {
	if actor == "" {
		return caresignal.Invalidf("actor", "no actor given: name who makes the change")
	}
	return nil
}

// fail returns err as callers see it: the store's own errors as they are,
// a clash with a concurrent transaction as ECONFLICT, and anything else
// wrapped with the database kind and what was being done.
func (s *Store) fail(err error, format string, args ...any) error {
	var e *caresignal.Error
	if errors.As(err, &e) {
		return err
	}
	what := fmt.Sprintf(format, args...)
	if s.d.IsConflict != nil && s.d.IsConflict(err) {
		return &caresignal.Error{Code: caresignal.ECONFLICT, Message: what + ": a concurrent change got there first; try again", Err: err}
	}
	return fmt.Errorf("%s: %s: %w", s.d.Name, what, err)
}

// stampLayout is how timestamps are written: RFC 3339 in UTC with a fixed
// six-digit fraction, so that SQLite's text sorts in time order and both
// databases keep the same microsecond precision.
const stampLayout = "2006-01-02T15:04:05.000000Z07:00"

func stamp(t time.Time) string { return t.UTC().Format(stampLayout) }

// now is the current time at the precision the databases keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// instant is t at the precision the databases keep; now when t is zero.
func instant(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
