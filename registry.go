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

// ServingState is what servers answer with for a model name, as the
// registry holds it at one moment: the production version, the canary and
// the shadow, and the generation, which every change to any of them
// increases in the same transaction. A server that has applied a
// generation serves that state; comparing generations tells whether it
// has caught up.
type ServingState struct {
	Name          string  `json:"name"`
	Generation    int64   `json:"generation"`           // 0 until the first change
	Production    string  `json:"production,omitempty"` // "" when name has no production version
	CanaryVersion string  `json:"canary_version,omitempty"`
	CanaryPercent float64 `json:"canary_percent"`
	ShadowVersion string  `json:"shadow_version,omitempty"`
	// ChangedAt and ChangedBy say when and by whom the generation was
	// made (zero at generation 0).
	ChangedAt time.Time `json:"changed_at"`
	ChangedBy string    `json:"changed_by,omitempty"`
}

// Registry is the model registry kept in the database. Every change is one
// transaction: a failed call leaves the registry as it was.
//
// A name's serving state (see ServingState) changes only with its
// production version or its serving config, each change in one
// transaction that also increases the generation. An activation or a
// rollback clears, in its transaction, a canary or shadow that names the
// version entering production or the one leaving it: a canary promoted to
// production is done, and a version an operator has just replaced must
// not go on answering a share of the requests.
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
	// alone (no history entry). A move into or out of production is a
	// change of the serving state (see above).
	SetStage(ctx context.Context, name, version, stage, actor string) (previous ModelVersion, err error)
	// Rollback archives name's production version and returns to
	// production the version that was production before it (from the
	// stage history), returning both. ENOTFOUND when there is nothing to
	// roll back to. It is a change of the serving state (see above).
	Rollback(ctx context.Context, name, actor string) (from, to ModelVersion, err error)
	// StageHistory lists name's stage changes, newest first, at most limit.
	StageHistory(ctx context.Context, name string, limit int) ([]StageChange, error)
	// ServingConfig returns name's canary and shadow settings (a zero
	// config, with Name set, when none were ever saved).
	ServingConfig(ctx context.Context, name string) (ServingConfig, error)
	// SetServingConfig saves cfg, a change of the serving state. Its
	// versions must exist and not be the production version (EINVALID
	// otherwise), and the percent lie in [0, 100].
	SetServingConfig(ctx context.Context, cfg ServingConfig) error
	// ServingState returns name's serving state, read in one snapshot (a
	// zero state, with Name set, for a name the registry does not know).
	// It is one small query, cheap enough to poll every second.
	ServingState(ctx context.Context, name string) (ServingState, error)
}

// RegistryWatcher is a Registry that can tell a server when a serving
// state changes, sooner than polling would find out.
type RegistryWatcher interface {
	// WatchRegistry returns a channel that receives a value soon after a
	// change to name's serving state commits, until ctx ends, when it is
	// closed; nil when the database cannot notify. Values may be merged,
	// and may come without a change: the watch sends one whenever it
	// (re)connects, as it may have missed changes while it was down.
	// While it is down nothing is sent, so watchers poll too.
	WatchRegistry(ctx context.Context, name string) <-chan struct{}
}
