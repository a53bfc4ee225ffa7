package serving

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model"
)

// Deployer keeps a server's Models in step with the model registry: the
// production version of one model name, its canary and its shadow. Every
// artifact is loaded and verified (format, checksum, consistency) before
// the registry is changed or the served set swapped, so a damaged or
// foreign artifact is refused and the current set keeps serving.
type Deployer struct {
	Registry caresignal.Registry
	Models   *Models
	Name     string // the model name this server serves
	Log      *slog.Logger

	mu     sync.Mutex // one change at a time
	loaded map[string]*model.Model
}

// NewDeployer returns a deployer of name's versions into ms.
func NewDeployer(reg caresignal.Registry, ms *Models, name string, log *slog.Logger) *Deployer {
	d := &Deployer{Registry: reg, Models: ms, Name: name, Log: log, loaded: map[string]*model.Model{}}
	if sv := ms.Load(); sv != nil && sv.Production != nil {
		d.loaded[sv.Production.Version] = sv.Production
	}
	return d
}

// load returns a version's model, verified, from the cache or the registry.
func (d *Deployer) load(ctx context.Context, version string) (*model.Model, error) {
	if m, ok := d.loaded[version]; ok {
		return m, nil
	}
	m, err := model.FromRegistry(ctx, d.Registry, d.Name, version)
	if err != nil {
		return nil, err
	}
	d.loaded[version] = m
	return m, nil
}

// Sync reads the registry and swaps the served set if it changed. Without
// a production version in the registry the current set stays. It returns
// whether it swapped.
func (d *Deployer) Sync(ctx context.Context) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sync(ctx)
}

func (d *Deployer) sync(ctx context.Context) (bool, error) {
	prod, err := d.Registry.ProductionModel(ctx, d.Name)
	if caresignal.ErrorCode(err) == caresignal.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	cfg, err := d.Registry.ServingConfig(ctx, d.Name)
	if err != nil {
		return false, err
	}
	next := &Set{}
	if next.Production, err = d.load(ctx, prod.Version); err != nil {
		return false, err
	}
	// A canary or shadow that fails to load is left out (and said), not
	// allowed to stop production from serving.
	if v := cfg.CanaryVersion; v != "" && v != prod.Version && cfg.CanaryPercent > 0 {
		if m, err := d.load(ctx, v); err != nil {
			d.Log.Error("canary not served", "model", d.Name, "version", v, "err", err)
		} else {
			next.Canary, next.CanaryPercent = m, cfg.CanaryPercent
		}
	}
	if v := cfg.ShadowVersion; v != "" && v != prod.Version {
		if m, err := d.load(ctx, v); err != nil {
			d.Log.Error("shadow not served", "model", d.Name, "version", v, "err", err)
		} else {
			next.Shadow = m
		}
	}
	cur := d.Models.Load()
	if cur != nil && same(cur, next) {
		return false, nil
	}
	d.Models.Set(next)
	d.Log.Info("serving", "model", d.Name, "production", next.Production.Version,
		"canary", versionOf(next.Canary), "canary_percent", next.CanaryPercent, "shadow", versionOf(next.Shadow))
	d.prune(next)
	return true, nil
}

func same(a, b *Set) bool {
	return a.Production == b.Production && a.Canary == b.Canary && a.CanaryPercent == b.CanaryPercent && a.Shadow == b.Shadow
}

func versionOf(m *model.Model) string {
	if m == nil {
		return ""
	}
	return m.Version
}

// prune forgets loaded models the set no longer uses, except the last
// few, so a rollback is quick and memory stays bounded.
func (d *Deployer) prune(sv *Set) {
	const keep = 4
	if len(d.loaded) <= keep {
		return
	}
	for v, m := range d.loaded {
		if m != sv.Production && m != sv.Canary && m != sv.Shadow {
			delete(d.loaded, v)
			if len(d.loaded) <= keep {
				return
			}
		}
	}
}

// Activate makes version the production version (see model.Activate:
// the artifact is verified before the registry changes) and swaps the set.
func (d *Deployer) Activate(ctx context.Context, version, actor string) (caresignal.ModelVersion, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	previous, m, err := model.Activate(ctx, d.Registry, d.Name, version, actor)
	if err != nil {
		return previous, err
	}
	d.loaded[version] = m
	_, err = d.sync(ctx)
	return previous, err
}

// Rollback returns production to the version before it (see
// model.Rollback: a target that does not load is refused and the change
// undone) and swaps the set.
func (d *Deployer) Rollback(ctx context.Context, actor string) (from, to caresignal.ModelVersion, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	from, to, m, err := model.Rollback(ctx, d.Registry, d.Name, actor)
	if err != nil {
		return from, to, err
	}
	d.loaded[to.Version] = m
	_, err = d.sync(ctx)
	return from, to, err
}

// SetServing stores a new canary and shadow configuration in the
// registry and swaps the set. The candidates are loaded and verified
// first: a version that does not load is refused here rather than left
// out later.
func (d *Deployer) SetServing(ctx context.Context, cfg caresignal.ServingConfig) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, v := range []string{cfg.CanaryVersion, cfg.ShadowVersion} {
		if v == "" {
			continue
		}
		if _, err := d.load(ctx, v); err != nil {
			return err
		}
	}
	if err := d.Registry.SetServingConfig(ctx, cfg); err != nil {
		return err
	}
	_, err := d.sync(ctx)
	return err
}

// Run syncs every interval until ctx ends, so changes made with the
// command line (or by another replica) reach this server.
func (d *Deployer) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := d.Sync(ctx); err != nil && ctx.Err() == nil {
				d.Log.Warn("reading the model registry", "model", d.Name, "err", err)
			}
		}
	}
}

// StartingModel is the model a server starts with: the artifact file's,
// unless the registry has a production version of the same name (or,
// when the file cannot be loaded, of any one name), which wins.
// fromRegistry says which it is.
func StartingModel(ctx context.Context, reg caresignal.Registry, path string) (m *model.Model, fromRegistry bool, err error) {
	if m, err = model.LoadFile(path); err != nil {
		versions, verr := reg.ModelVersions(ctx, "")
		if verr != nil || len(versions) == 0 {
			return nil, false, err
		}
		for _, v := range versions {
			if v.Stage == caresignal.StageProduction {
				m, err := model.FromRegistry(ctx, reg, v.Name, v.Version)
				return m, true, err
			}
		}
		return nil, false, err
	}
	prod, err := reg.ProductionModel(ctx, m.Name)
	if err == nil && prod.Version != m.Version {
		m, err := model.FromRegistry(ctx, reg, prod.Name, prod.Version)
		return m, true, err
	}
	return m, false, nil
}
