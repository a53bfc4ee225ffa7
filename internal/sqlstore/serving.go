package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/caresignal/caresignal"
)

// A name's serving state is its production version (model_versions), its
// canary and shadow (model_serving) and its generation
// (model_generations). Every transaction that changes the first two ends
// with changeServing, which also clears what the change made stale,
// increases the generation and, where the dialect can, notifies the
// servers watching the registry.

// ServingConfig returns name's canary and shadow settings.
func (s *Store) ServingConfig(ctx context.Context, name string) (caresignal.ServingConfig, error) {
	if name == "" {
		return caresignal.ServingConfig{Name: name}, caresignal.Invalidf("name", "no model name given")
	}
	cfg, err := s.servingConfig(ctx, s.db, name)
	if err != nil {
		return caresignal.ServingConfig{Name: name}, s.fail(err, "reading the serving config of model %s", name)
	}
	return cfg, nil
}

// servingConfig reads name's row of model_serving: a zero config, with
// Name set, when it has none.
func (s *Store) servingConfig(ctx context.Context, q querier, name string) (caresignal.ServingConfig, error) {
	cfg := caresignal.ServingConfig{Name: name}
	var canary, shadow sql.NullString
	var at any
	err := q.QueryRowContext(ctx, "SELECT canary_version, canary_percent, shadow_version, updated_at, updated_by FROM model_serving WHERE name = "+s.d.Bind(1), name).
		Scan(&canary, &cfg.CanaryPercent, &shadow, &at, &cfg.UpdatedByActor)
	if errors.Is(err, sql.ErrNoRows) {
		return cfg, nil
	}
	if err == nil {
		cfg.UpdatedAt, err = parseTime(at)
	}
	if err != nil {
		return caresignal.ServingConfig{Name: name}, err
	}
	cfg.CanaryVersion, cfg.ShadowVersion = canary.String, shadow.String
	return cfg, nil
}

// SetServingConfig saves cfg, whose versions must exist and not be the
// production version. A zero UpdatedAt means now.
func (s *Store) SetServingConfig(ctx context.Context, cfg caresignal.ServingConfig) error {
	if cfg.Name == "" {
		return caresignal.Invalidf("name", "no model name given")
	}
	if p := cfg.CanaryPercent; math.IsNaN(p) || p < 0 || p > 100 {
		return caresignal.Invalidf("canary_percent", "canary percent %v is outside [0, 100]", p)
	}
	if cfg.CanaryPercent > 0 && cfg.CanaryVersion == "" {
		return caresignal.Invalidf("canary_version", "a canary percent of %v needs a canary version", cfg.CanaryPercent)
	}
	if cfg.UpdatedByActor == "" {
		return caresignal.Invalidf("updated_by", "no actor given: name who changes the serving config")
	}
	cfg.UpdatedAt = instant(cfg.UpdatedAt)
	err := s.inModelTx(ctx, cfg.Name, func(tx *sql.Tx) error {
		prod, err := s.production(ctx, tx, cfg.Name)
		if err != nil && caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
			return err
		}
		for _, c := range []struct{ field, role, version string }{{"canary_version", "canary", cfg.CanaryVersion}, {"shadow_version", "shadow", cfg.ShadowVersion}} {
			if c.version == "" {
				continue
			}
			if c.version == prod.Version {
				return caresignal.Invalidf(c.field, "model %s@%s is the production version: it cannot be the %s as well", cfg.Name, c.version, c.role)
			}
			_, err := s.version(ctx, tx, cfg.Name, c.version)
			if caresignal.ErrorCode(err) == caresignal.ENOTFOUND {
				return caresignal.Invalidf(c.field, "model %s has no version %s", cfg.Name, c.version)
			}
			if err != nil {
				return err
			}
		}
		if err := s.saveServingConfig(ctx, tx, cfg); err != nil {
			return err
		}
		return s.changeServing(ctx, tx, cfg.Name, cfg.UpdatedByActor, cfg.UpdatedAt)
	})
	if err != nil {
		return s.fail(err, "saving the serving config of model %s", cfg.Name)
	}
	return nil
}

func (s *Store) saveServingConfig(ctx context.Context, tx *sql.Tx, cfg caresignal.ServingConfig) error {
	b := s.d.Bind
	_, err := tx.ExecContext(ctx, "INSERT INTO model_serving (name, canary_version, canary_percent, shadow_version, updated_at, updated_by) VALUES ("+
		b(1)+", "+b(2)+", "+b(3)+", "+b(4)+", "+b(5)+", "+b(6)+") ON CONFLICT (name) DO UPDATE SET "+
		"canary_version = excluded.canary_version, canary_percent = excluded.canary_percent, shadow_version = excluded.shadow_version, "+
		"updated_at = excluded.updated_at, updated_by = excluded.updated_by",
		cfg.Name, nullString(cfg.CanaryVersion), cfg.CanaryPercent, nullString(cfg.ShadowVersion), stamp(cfg.UpdatedAt), cfg.UpdatedByActor)
	return err
}

// changeServing ends a transaction that changes name's serving state: it
// clears a canary or shadow naming one of replaced (the versions entering
// and leaving production), increases the generation and notifies.
func (s *Store) changeServing(ctx context.Context, tx *sql.Tx, name, actor string, t time.Time, replaced ...string) error {
	if len(replaced) > 0 {
		cfg, err := s.servingConfig(ctx, tx, name)
		if err != nil {
			return err
		}
		cleared := false
		if cfg.CanaryVersion != "" && slices.Contains(replaced, cfg.CanaryVersion) {
			cfg.CanaryVersion, cfg.CanaryPercent, cleared = "", 0, true
		}
		if cfg.ShadowVersion != "" && slices.Contains(replaced, cfg.ShadowVersion) {
			cfg.ShadowVersion, cleared = "", true
		}
		if cleared {
			cfg.UpdatedAt, cfg.UpdatedByActor = t, actor
			if err := s.saveServingConfig(ctx, tx, cfg); err != nil {
				return err
			}
		}
	}
	b := s.d.Bind
	if _, err := tx.ExecContext(ctx, "INSERT INTO model_generations (name, generation, changed_at, changed_by) VALUES ("+b(1)+", 1, "+b(2)+", "+b(3)+
		") ON CONFLICT (name) DO UPDATE SET generation = model_generations.generation + 1, changed_at = excluded.changed_at, changed_by = excluded.changed_by",
		name, stamp(t), actor); err != nil {
		return err
	}
	if s.d.Notify != "" {
		if _, err := tx.ExecContext(ctx, s.d.Notify, name); err != nil {
			return err
		}
	}
	return nil
}

// ServingState reads name's serving state in one statement, so in one
// snapshot on both databases.
func (s *Store) ServingState(ctx context.Context, name string) (caresignal.ServingState, error) {
	st := caresignal.ServingState{Name: name}
	if name == "" {
		return st, caresignal.Invalidf("name", "no model name given")
	}
	b := s.d.Bind
	var (
		generation               sql.NullInt64
		at                       any
		by, prod, canary, shadow sql.NullString
		percent                  sql.NullFloat64
	)
	err := s.db.QueryRowContext(ctx, "SELECT g.generation, g.changed_at, g.changed_by, p.version, c.canary_version, c.canary_percent, c.shadow_version "+
		"FROM (SELECT CAST("+b(1)+" AS TEXT) AS name) n "+
		"LEFT JOIN model_generations g ON g.name = n.name "+
		"LEFT JOIN model_versions p ON p.name = n.name AND p.stage = "+b(2)+" "+
		"LEFT JOIN model_serving c ON c.name = n.name", name, caresignal.StageProduction).
		Scan(&generation, &at, &by, &prod, &canary, &percent, &shadow)
	if err == nil && at != nil {
		st.ChangedAt, err = parseTime(at)
	}
	if err != nil {
		return caresignal.ServingState{Name: name}, s.fail(err, "reading the serving state of model %s", name)
	}
	st.Generation, st.ChangedBy = generation.Int64, by.String
	st.Production, st.CanaryVersion, st.CanaryPercent, st.ShadowVersion = prod.String, canary.String, percent.Float64, shadow.String
	return st, nil
}

// WatchRegistry implements caresignal.RegistryWatcher with the dialect's
// Watch; nil when it has none (SQLite: servers poll).
func (s *Store) WatchRegistry(ctx context.Context, name string) <-chan struct{} {
	if s.d.Watch == nil {
		return nil
	}
	return s.d.Watch(ctx, name)
}
