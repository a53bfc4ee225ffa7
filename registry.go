package caresignal

import (
	"context"
	"time"
)

// Model stages in the registry. A model name has at most one production
// version; publishing adds a staging version; a version leaves production
// by being archived (when another is activated, or by a rollback).
const (
	StageStaging    = "staging"
	StageProduction = "production"
	StageArchived   = "archived"
)

// ModelVersion is one artifact in the model registry.
type ModelVersion struct {
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Stage     string    `json:"stage"`    // StageStaging, StageProduction or StageArchived
	Checksum  string    `json:"checksum"` // hex SHA-256 of the artifact bytes, computed by the store
	Size      int       `json:"size"`     // artifact bytes
	CreatedAt time.Time `json:"created_at"`
	// StageChangedAt is when the version entered its current stage.
	StageChangedAt time.Time `json:"stage_changed_at"`
	Note           string    `json:"note,omitempty"` // free text given at publication
}

// StageChange is one entry of a model's stage history: who moved which
// version from which stage to which, and when.
type StageChange struct {
	Name    string    `json:"name"`
	Version string    `json:"version"`
	From    string    `json:"from"` // "" when the version was published
	To      string    `json:"to"`
	Actor   string    `json:"actor"` // the API key name or "cli"
	At      time.Time `json:"at"`
}

// ServingConfig is how a server answers for a model name beyond its
// production version: a canary version taking a share of the requests, and
// a shadow version scored beside production whose answers are recorded but
// never returned. Empty versions mean none.
type ServingConfig struct {
	Name           string    `json:"name"`
	CanaryVersion  string    `json:"canary_version,omitempty"`
	CanaryPercent  float64   `json:"canary_percent"` // 0–100
	ShadowVersion  string    `json:"shadow_version,omitempty"`
	UpdatedAt      time.Time `json:"updated_at"`
	UpdatedByActor string    `json:"updated_by"`
}

// Registry is the model registry kept in the database. Every change is one
// transaction: a failed call leaves the registry as it was.
type Registry interface {
	// PublishModel stores artifact as a new staging version of v.Name and
	// v.Version (v.Note is kept; other fields are set by the store) and
	// returns the stored record. Publishing the same bytes again returns
	// the existing record; different bytes under an existing version are
	// ECONFLICT.
	PublishModel(ctx context.Context, v ModelVersion, artifact []byte, actor string) (ModelVersion, error)
	// ModelVersions lists a name's versions, newest first; every name's
	// when name is "".
	ModelVersions(ctx context.Context, name string) ([]ModelVersion, error)
	// ModelArtifact returns a version's record and bytes, ECORRUPT when the
	// bytes no longer match the recorded checksum, ENOTFOUND when absent.
	ModelArtifact(ctx context.Context, name, version string) (ModelVersion, []byte, error)
	// ProductionModel returns the production version of name, ENOTFOUND
	// when it has none.
	ProductionModel(ctx context.Context, name string) (ModelVersion, error)
	// SetStage moves a version to stage. Moving one to production archives
	// the current production version in the same transaction and returns
	// it (zero when there was none). A version already in stage is left
	// alone (no history entry).
	SetStage(ctx context.Context, name, version, stage, actor string) (previous ModelVersion, err error)
	// Rollback archives name's production version and returns to
	// production the version that was production before it (from the
	// stage history), returning both. ENOTFOUND when there is nothing to
	// roll back to.
	Rollback(ctx context.Context, name, actor string) (from, to ModelVersion, err error)
	// StageHistory lists name's stage changes, newest first, at most limit.
	StageHistory(ctx context.Context, name string, limit int) ([]StageChange, error)
	// ServingConfig returns name's canary and shadow settings (a zero
	// config, with Name set, when none were ever saved).
	ServingConfig(ctx context.Context, name string) (ServingConfig, error)
	// SetServingConfig saves cfg. Its versions must exist (EINVALID
	// otherwise) and the percent lie in [0, 100].
	SetServingConfig(ctx context.Context, cfg ServingConfig) error
}
