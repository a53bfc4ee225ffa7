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
//
// A change made through the deployer is served before its call returns.
// A change made elsewhere (another server, the command line) is read by
// Run: at once when the registry notifies it (caresignal.RegistryWatcher,
// on PostgreSQL), and at every poll in any case.
type Deployer struct {
	Registry caresignal.Registry
	Models   *Models
	Name     string // the model name this server serves
	Log      *slog.Logger

	mu     sync.Mutex // one change or sync at a time
	loaded map[string]*model.Model
	// current says the served set is the registry's state at the set's
	// generation, nothing left out: a poll finding that generation again
	// has nothing to do.
	current bool
	// failed holds, for a canary or shadow version that did not load, the
	// error last logged, so that one failing at every poll is said once.
	failed map[string]string
}

// NewDeployer returns a deployer of name's versions into ms.
func NewDeployer(reg caresignal.Registry, ms *Models, name string, log *slog.Logger) *Deployer {
	d := &Deployer{Registry: reg, Models: ms, Name: name, Log: log, loaded: map[string]*model.Model{}, failed: map[string]string{}}
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

// Sync reads the registry's serving state and serves it, whatever
// generation the served set has. Without a production version in the
// registry the current set stays. It returns whether the models served
// changed.
func (d *Deployer) Sync(ctx context.Context) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.current = false
	return d.sync(ctx)
}

// poll is Sync for Run: one small query when the generation is the one
// served.
func (d *Deployer) poll(ctx context.Context) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sync(ctx)
}

func (d *Deployer) sync(ctx context.Context) (bool, error) {
	st, err := d.Registry.ServingState(ctx, d.Name)
	if err != nil {
		return false, err
	}
	cur := d.Models.Load()
	if st.Production == "" || (d.current && cur != nil && cur.Generation == st.Generation) {
		return false, nil
	}
	next := &Set{Generation: st.Generation, ChangedAt: st.ChangedAt}
	if next.Production, err = d.load(ctx, st.Production); err != nil {
		d.current = false
		return false, err
	}
	// A canary or shadow that fails to load is left out (and said), not
	// allowed to stop production from serving; later polls try again.
	complete := true
	if v := st.CanaryVersion; v != "" && v != st.Production && st.CanaryPercent > 0 {
		if m, err := d.loadCandidate(ctx, "canary", v); err != nil {
			complete = false
		} else {
			next.Canary, next.CanaryPercent = m, st.CanaryPercent
		}
	}
	if v := st.ShadowVersion; v != "" && v != st.Production {
		if m, err := d.loadCandidate(ctx, "shadow", v); err != nil {
			complete = false
		} else {
			next.Shadow = m
		}
	}
	d.current = complete
	changed := cur == nil || !same(cur, next)
	if !changed && cur.Generation == next.Generation && cur.ChangedAt.Equal(next.ChangedAt) {
		return false, nil
	}
	d.Models.Set(next)
	if changed {
		d.Log.Info("serving", "model", d.Name, "generation", next.Generation, "production", next.Production.Version,
			"canary", versionOf(next.Canary), "canary_percent", next.CanaryPercent, "shadow", versionOf(next.Shadow))
	}
	d.prune(next)
	return changed, nil
}

// loadCandidate loads a canary or shadow version, logging a failure the
// first time it occurs.
func (d *Deployer) loadCandidate(ctx context.Context, role, version string) (*model.Model, error) {
	m, err := d.load(ctx, version)
	if err == nil {
		delete(d.failed, version)
		return m, nil
	}
	if d.failed[version] != err.Error() {
		d.failed[version] = err.Error()
		d.Log.Error(role+" not served", "model", d.Name, "version", version, "err", err)
	}
	return nil, err
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
// the artifact is verified before the registry changes) and serves the
// registry's new state before it returns.
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
// undone) and serves the registry's new state before it returns.
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
// registry and serves the registry's new state before it returns. The
// candidates are loaded and verified first: a version that does not load
// is refused here rather than left out later.
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

// Run follows the registry until ctx ends: it reads the serving state
// when the registry says it changed (if it can) and every interval, so
// changes made with the command line or on another server reach this
// one. A failure to read is logged when it starts or changes, and the
// recovery once.
func (d *Deployer) Run(ctx context.Context, every time.Duration) {
	var changes <-chan struct{}
	if w, ok := d.Registry.(caresignal.RegistryWatcher); ok {
		changes = w.WatchRegistry(ctx, d.Name)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	failing := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case _, ok := <-changes:
			if !ok {
				changes = nil // ended with ctx
				continue
			}
		}
		_, err := d.poll(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && err.Error() != failing:
			failing = err.Error()
			d.Log.Warn("reading the model registry", "model", d.Name, "err", err)
		case err == nil && failing != "":
			failing = ""
			d.Log.Info("reading the model registry again", "model", d.Name)
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
