package model

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/caresignal/caresignal"
)

// FromRegistry reads a version's artifact from the registry and verifies
// it as Load does; it also checks that the artifact is the model the
// registry files it under.
func FromRegistry(ctx context.Context, reg caresignal.Registry, name, version string) (*Model, error) {
	_, b, err := reg.ModelArtifact(ctx, name, version)
	if err != nil {
		return nil, err
	}
	m, err := Load(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s@%s: %w", name, version, err)
	}
	if m.Name != name || m.Version != version {
		return nil, caresignal.Errorf(caresignal.ECORRUPT, "the registry's %s@%s holds the artifact of %s@%s", name, version, m.Name, m.Version)
	}
	return m, nil
}

// Activate makes a version the production version of its name, after
// verifying its artifact: a damaged one is refused and nothing changes.
// It returns the version it replaced (zero when none) and the model.
func Activate(ctx context.Context, reg caresignal.Registry, name, version, actor string) (caresignal.ModelVersion, *Model, error) {
	m, err := FromRegistry(ctx, reg, name, version)
	if err != nil {
		return caresignal.ModelVersion{}, nil, err
	}
	prev, err := reg.SetStage(ctx, name, version, caresignal.StageProduction, actor)
	return prev, m, err
}

// Rollback returns name's production to the version before it. The target
// is chosen by the registry, then verified; if it does not load, the
// change is undone and the error says why.
func Rollback(ctx context.Context, reg caresignal.Registry, name, actor string) (from, to caresignal.ModelVersion, m *Model, err error) {
	if from, to, err = reg.Rollback(ctx, name, actor); err != nil {
		return from, to, nil, err
	}
	if m, err = FromRegistry(ctx, reg, to.Name, to.Version); err != nil {
		if _, uerr := reg.SetStage(ctx, from.Name, from.Version, caresignal.StageProduction, actor); uerr != nil {
			return from, to, nil, fmt.Errorf("rolling back to %s, which does not load (%v), and restoring %s failed: %w", to.Version, err, from.Version, uerr)
		}
		return from, to, nil, fmt.Errorf("rollback refused: %w", err)
	}
	return from, to, m, nil
}

// PublishFile verifies the artifact file at path and stores it in the
// registry as a staging version of its name, with a note. It returns the
// version stored (the registry's own copy when it already has the
// version) and the model.
func PublishFile(ctx context.Context, reg caresignal.Registry, path, note, actor string) (caresignal.ModelVersion, *Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return caresignal.ModelVersion{}, nil, &caresignal.Error{Code: caresignal.ENOTFOUND, Message: "cannot read model file " + path, Err: err}
	}
	m, err := Load(bytes.NewReader(b))
	if err != nil {
		return caresignal.ModelVersion{}, nil, fmt.Errorf("model file %s: %w", path, err)
	}
	v, err := reg.PublishModel(ctx, caresignal.ModelVersion{Name: m.Name, Version: m.Version, Note: note}, b, actor)
	if caresignal.ErrorCode(err) == caresignal.ECONFLICT {
		// The registry holds this version in other bytes: the same model
		// trained again, whose training record differs (the version names
		// what a model computes, not when it was trained). It keeps the
		// copy it has.
		v, _, err = reg.ModelArtifact(ctx, m.Name, m.Version)
	}
	return v, m, err
}

// EnsurePublished stores the artifact at path in the registry as a staging
// version unless the registry already has m's version, so that every
// version that makes logged predictions can be rescored from the registry.
// tried says whether it had to publish (err then says whether that failed).
func EnsurePublished(ctx context.Context, reg caresignal.Registry, path string, m *Model, note, actor string) (v caresignal.ModelVersion, tried bool, err error) {
	_, _, err = reg.ModelArtifact(ctx, m.Name, m.Version)
	if caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		return caresignal.ModelVersion{}, false, err
	}
	v, _, err = PublishFile(ctx, reg, path, note, actor)
	return v, true, err
}
