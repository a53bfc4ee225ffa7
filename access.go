package caresignal

import (
	"context"
	"time"
)

// Roles of API keys and logins. predict calls the prediction API and
// uses the what-if page; care is a care team's: the what-if page, the
// worklist, patient pages and contacts; viewer also reads reports and
// monitoring (the worklist and patient pages too, without recording
// contacts); admin does everything, and manages models, keys and the
// server.
const (
	RolePredict = "predict"
	RoleCare    = "care"
	RoleViewer  = "viewer"
	RoleAdmin   = "admin"
)

// Roles lists the roles.
var Roles = []string{RolePredict, RoleCare, RoleViewer, RoleAdmin}

// APIKey is a stored API key. Only a hash of its secret is kept.
type APIKey struct {
	ID        string     `json:"id"`   // public part of the key, used to look it up
	Name      string     `json:"name"` // who or what holds it ("care-team-app")
	Role      string     `json:"role"` // one of Roles
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"` // nil while the key is valid
}

// AuditEntry is one administrative action, recorded whether it succeeded
// or not.
type AuditEntry struct {
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`            // the key's name, or "cli" for the command line
	KeyID     string    `json:"key_id,omitempty"` // "" for the command line
	Action    string    `json:"action"`           // "model.activate", "key.create", "server.stop", …
	Target    string    `json:"target"`           // what it acted on ("engagement@20261128T1012")
	Outcome   string    `json:"outcome"`          // "ok", "refused" (bad request), "denied" (wrong role) or "failed"
	Detail    string    `json:"detail,omitempty"` // a short reason; never patient data
	RequestID string    `json:"request_id,omitempty"`
}

// KeyStore keeps API keys and the audit log in the database.
type KeyStore interface {
	// CreateKey stores a new key with the hash of its secret; ECONFLICT
	// when the id is taken.
	CreateKey(ctx context.Context, k APIKey, secretHash []byte) error
	// Keys lists every key, revoked ones included, oldest first, with the
	// hashes of their secrets (same order).
	Keys(ctx context.Context) ([]APIKey, [][]byte, error)
	// RevokeKey marks a key revoked at the given time; ENOTFOUND when no key
	// has that id; revoking twice keeps the first time.
	RevokeKey(ctx context.Context, id string, at time.Time) error
	// AppendAudit records one administrative action.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// AuditLog returns the newest entries first, at most limit.
	AuditLog(ctx context.Context, limit int) ([]AuditEntry, error)
}
