// Package access issues and checks API keys.
//
// A key reads cs_<id>_<secret>: id is 12 hex digits, public, used to find
// the key; secret is 64 hex digits (256 random bits) and is never stored:
// the database keeps its SHA-256 only. A fast hash is enough here because
// the secret is random, not a password a person chose: no dictionary or
// brute force reaches 256 bits. Hashes are compared in constant time.
//
// A Keyring caches the key table in memory so that checking a key costs
// no database round trip; it reloads the table periodically and on an
// unknown id (at most once a second), so a key created or revoked by any
// process takes effect within the reload interval.
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caresignal/caresignal"
)

const (
	prefix    = "cs_"
	idLen     = 12
	secretLen = 64
)

// ValidRole reports whether role is one of caresignal.Roles.
func ValidRole(role string) bool {
	return slices.Contains(caresignal.Roles, role)
}

// NewKey generates a key for name with role: the plaintext to hand over
// once, the record to store, and the hash of its secret.
func NewKey(name, role string, now time.Time) (plaintext string, k caresignal.APIKey, hash []byte, err error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", k, nil, caresignal.Invalidf("name", "a key needs a name of 1 to 100 characters saying who holds it")
	}
	if !ValidRole(role) {
		return "", k, nil, caresignal.Invalidf("role", "role must be predict, care, viewer or admin, got %q", role)
	}
	var b [idLen/2 + secretLen/2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", k, nil, err
	}
	id := hex.EncodeToString(b[:idLen/2])
	secret := hex.EncodeToString(b[idLen/2:])
	k = caresignal.APIKey{ID: id, Name: name, Role: role, CreatedAt: now.UTC()}
	return prefix + id + "_" + secret, k, HashSecret(secret), nil
}

// ParseKey splits a presented key into its id and secret.
func ParseKey(s string) (id, secret string, ok bool) {
	if len(s) != len(prefix)+idLen+1+secretLen || !strings.HasPrefix(s, prefix) || s[len(prefix)+idLen] != '_' {
		return "", "", false
	}
	id, secret = s[len(prefix):len(prefix)+idLen], s[len(prefix)+idLen+1:]
	if !isHex(id) || !isHex(secret) {
		return "", "", false
	}
	return id, secret, true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// HashSecret is what the store keeps of a key's secret.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte("caresignal-api-key\x00" + secret))
	return h[:]
}

// Principal is who made a request: the key's id, name and role.
type Principal struct {
	KeyID string
	Name  string
	Role  string
}

type entry struct {
	key  caresignal.APIKey
	hash []byte
}

// Keyring checks presented keys against the store's keys, cached.
type Keyring struct {
	store   caresignal.KeyStore
	refresh time.Duration

	mu     sync.RWMutex
	keys   map[string]entry
	missAt time.Time // the last reload caused by an unknown id
}

// NewKeyring loads the keys of store and reloads them every refresh.
func NewKeyring(ctx context.Context, store caresignal.KeyStore, refresh time.Duration) (*Keyring, error) {
	kr := &Keyring{store: store, refresh: refresh}
	if err := kr.Reload(ctx); err != nil {
		return nil, err
	}
	return kr, nil
}

// Reload reads the key table again.
func (kr *Keyring) Reload(ctx context.Context) error {
	keys, hashes, err := kr.store.Keys(ctx)
	if err != nil {
		return fmt.Errorf("reading API keys: %w", err)
	}
	m := make(map[string]entry, len(keys))
	for i, k := range keys {
		m[k.ID] = entry{key: k, hash: hashes[i]}
	}
	kr.mu.Lock()
	kr.keys = m
	kr.mu.Unlock()
	return nil
}

// Active counts the keys not revoked, in all and with the admin role.
func (kr *Keyring) Active() (all, admins int) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	for _, e := range kr.keys {
		if e.key.RevokedAt == nil {
			all++
			if e.key.Role == caresignal.RoleAdmin {
				admins++
			}
		}
	}
	return all, admins
}

// Check returns the principal a presented key authenticates, or false for
// a malformed, unknown, wrong or revoked key. An unknown id triggers a
// reload, at most once a second across all requests, so garbage keys
// cannot hammer the database; a failed reload keeps the old cache.
func (kr *Keyring) Check(ctx context.Context, presented string) (Principal, bool) {
	id, secret, ok := ParseKey(presented)
	if !ok {
		return Principal{}, false
	}
	kr.mu.RLock()
	e, found := kr.keys[id]
	kr.mu.RUnlock()
	if !found && kr.claimMissReload() && kr.Reload(ctx) == nil {
		kr.mu.RLock()
		e, found = kr.keys[id]
		kr.mu.RUnlock()
	}
	if !found {
		// Same work as a found key, so timing does not tell ids apart.
		subtle.ConstantTimeCompare(HashSecret(secret), make([]byte, sha256.Size))
		return Principal{}, false
	}
	if subtle.ConstantTimeCompare(HashSecret(secret), e.hash) != 1 || e.key.RevokedAt != nil {
		return Principal{}, false
	}
	return Principal{KeyID: e.key.ID, Name: e.key.Name, Role: e.key.Role}, true
}

func (kr *Keyring) claimMissReload() bool {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if time.Since(kr.missAt) < time.Second {
		return false
	}
	kr.missAt = time.Now()
	return true
}

// Run reloads the keys every refresh interval until ctx ends, so keys
// created or revoked elsewhere take effect here. Failures keep the last
// good table and are reported to onError.
func (kr *Keyring) Run(ctx context.Context, onError func(error)) {
	t := time.NewTicker(kr.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := kr.Reload(ctx); err != nil && ctx.Err() == nil && onError != nil {
				onError(err)
			}
		}
	}
}

// Forget drops a key from the cache at once (after revoking it here).
func (kr *Keyring) Forget(id string) {
	kr.mu.Lock()
	delete(kr.keys, id)
	kr.mu.Unlock()
}

// Lookup returns the cached key with id when it exists and is not revoked.
func (kr *Keyring) Lookup(id string) (caresignal.APIKey, bool) {
	kr.mu.RLock()
	e, ok := kr.keys[id]
	kr.mu.RUnlock()
	if !ok || e.key.RevokedAt != nil {
		return caresignal.APIKey{}, false
	}
	return e.key, true
}
