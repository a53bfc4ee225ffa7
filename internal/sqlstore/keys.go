package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/caresignal/caresignal"
)

// CreateKey stores a new API key with the hash of its secret. A zero
// CreatedAt means now.
func (s *Store) CreateKey(ctx context.Context, k caresignal.APIKey, secretHash []byte) error {
	switch {
	case k.ID == "":
		return caresignal.Invalidf("id", "no key id given")
	case k.Name == "":
		return caresignal.Invalidf("name", "key %s: no name given", k.ID)
	case len(secretHash) == 0:
		return caresignal.Invalidf("secret_hash", "key %s: no secret hash given", k.ID)
	}
	switch k.Role {
	case caresignal.RolePredict, caresignal.RoleCare, caresignal.RoleViewer, caresignal.RoleAdmin:
	default:
		return caresignal.Invalidf("role", "unknown role %q: use %s, %s, %s or %s", k.Role, caresignal.RolePredict, caresignal.RoleCare, caresignal.RoleViewer, caresignal.RoleAdmin)
	}
	var revoked any
	if k.RevokedAt != nil {
		revoked = stamp(instant(*k.RevokedAt))
	}
	taken := caresignal.Errorf(caresignal.ECONFLICT, "an API key with id %s already exists", k.ID)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		b := s.d.Bind
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM api_keys WHERE id = "+b(1), k.ID).Scan(&one)
		if err == nil {
			return taken
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO api_keys (id, name, role, secret_hash, created_at, revoked_at) VALUES ("+
			b(1)+", "+b(2)+", "+b(3)+", "+b(4)+", "+b(5)+", "+b(6)+")",
			k.ID, k.Name, k.Role, secretHash, stamp(instant(k.CreatedAt)), revoked)
		return err
	})
	if err != nil {
		if s.d.IsConflict != nil && s.d.IsConflict(err) {
			// A concurrent CreateKey took the id between the check and the insert.
			return &caresignal.Error{Code: caresignal.ECONFLICT, Message: taken.Message, Err: err}
		}
		return s.fail(err, "creating key %s", k.ID)
	}
	return nil
}

// Keys lists every key, oldest first, with its secret hash.
func (s *Store) Keys(ctx context.Context) ([]caresignal.APIKey, [][]byte, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, name, role, secret_hash, created_at, revoked_at FROM api_keys ORDER BY created_at, id")
	if err != nil {
		return nil, nil, s.fail(err, "listing keys")
	}
	defer rows.Close()
	keys, hashes := []caresignal.APIKey{}, [][]byte{}
	for rows.Next() {
		var k caresignal.APIKey
		var hash []byte
		var created, revoked any
		if err := rows.Scan(&k.ID, &k.Name, &k.Role, &hash, &created, &revoked); err != nil {
			return nil, nil, s.fail(err, "listing keys")
		}
		if k.CreatedAt, err = parseTime(created); err != nil {
			return nil, nil, s.fail(err, "listing keys")
		}
		if revoked != nil {
			t, err := parseTime(revoked)
			if err != nil {
				return nil, nil, s.fail(err, "listing keys")
			}
			k.RevokedAt = &t
		}
		keys, hashes = append(keys, k), append(hashes, hash)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, s.fail(err, "listing keys")
	}
	return keys, hashes, nil
}

// RevokeKey marks a key revoked, keeping an earlier revocation time. A
// zero at means now.
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) error {
	if id == "" {
		return caresignal.Invalidf("id", "no key id given")
	}
	b := s.d.Bind
	res, err := s.db.ExecContext(ctx, "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, "+b(1)+") WHERE id = "+b(2), stamp(instant(at)), id)
	if err != nil {
		return s.fail(err, "revoking key %s", id)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(err, "revoking key %s", id)
	}
	if n == 0 {
		return caresignal.Errorf(caresignal.ENOTFOUND, "no API key has id %s", id)
	}
	return nil
}

// AppendAudit records one administrative action. A zero At means now.
// Only an entry without an action or an outcome is refused: the log must
// not lose what happened over a field it does not know.
func (s *Store) AppendAudit(ctx context.Context, e caresignal.AuditEntry) error {
	switch {
	case e.Action == "":
		return caresignal.Invalidf("action", "audit entry: no action given")
	case e.Outcome == "":
		return caresignal.Invalidf("outcome", "audit entry %s: no outcome given", e.Action)
	}
	b := s.d.Bind
	_, err := s.db.ExecContext(ctx, "INSERT INTO audit_log (at, actor, key_id, action, target, outcome, detail, request_id) VALUES ("+
		b(1)+", "+b(2)+", "+b(3)+", "+b(4)+", "+b(5)+", "+b(6)+", "+b(7)+", "+b(8)+")",
		stamp(instant(e.At)), e.Actor, e.KeyID, e.Action, e.Target, e.Outcome, e.Detail, e.RequestID)
	if err != nil {
		return s.fail(err, "recording %s in the audit log", e.Action)
	}
	return nil
}

// AuditLog returns the newest entries first, at most limit.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]caresignal.AuditEntry, error) {
	if limit < 0 {
		return nil, caresignal.Invalidf("limit", "limit %d is negative", limit)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT at, actor, key_id, action, target, outcome, detail, request_id FROM audit_log ORDER BY id DESC LIMIT "+s.d.Bind(1), limit)
	if err != nil {
		return nil, s.fail(err, "reading the audit log")
	}
	defer rows.Close()
	out := []caresignal.AuditEntry{}
	for rows.Next() {
		var e caresignal.AuditEntry
		var at any
		if err := rows.Scan(&at, &e.Actor, &e.KeyID, &e.Action, &e.Target, &e.Outcome, &e.Detail, &e.RequestID); err != nil {
			return nil, s.fail(err, "reading the audit log")
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, s.fail(err, "reading the audit log")
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "reading the audit log")
	}
	return out, nil
}
