package web

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/caresignal/caresignal/internal/access"
)

// Failed logins are slowed per client and per key id: after
// failureBurst failures, one more is allowed every failureEvery, and the
// attempts past that are answered 429 without checking the key. Failed
// logins and unauthenticated attempts at administrators' routes are
// written to the audit log, by key id (never the secret).
const (
	failureBurst = 10
	failureEvery = 6 * time.Second // ten a minute once the burst is spent
	// maxFailureSources bounds the clients and key ids remembered; past it
	// the ones whose buckets are full again are forgotten.
	maxFailureSources = 10000
)

// failures keeps a token bucket of failed logins per source ("client
// <address>", "key <id>").
type failures struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// blocked reports whether any of sources has no failure left to spend.
func (f *failures) blocked(sources ...string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for _, src := range sources {
		if b, ok := f.buckets[src]; ok && b.TokensAt(now) < 1 {
			return true
		}
	}
	return false
}

// fail spends a failure of each source.
func (f *failures) fail(sources ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.buckets == nil {
		f.buckets = map[string]*rate.Limiter{}
	}
	now := time.Now()
	if len(f.buckets) >= maxFailureSources {
		for src, b := range f.buckets {
			if b.TokensAt(now) >= failureBurst {
				delete(f.buckets, src)
			}
		}
	}
	for _, src := range sources {
		b, ok := f.buckets[src]
		if !ok {
			b = rate.NewLimiter(rate.Every(failureEvery), failureBurst)
			f.buckets[src] = b
		}
		b.AllowN(now, 1)
	}
}

// failureSources names where a failed attempt came from: the client (the
// address the trusted proxy forwarded, else the peer) and, when the key
// sent is well formed, its id.
func (s *server) failureSources(r *http.Request, key string) []string {
	out := []string{"client " + s.clientAddr(r)}
	if id, _, ok := access.ParseKey(key); ok {
		out = append(out, "key "+id)
	}
	return out
}

// clientAddr is the client's address: behind a trusted proxy, the last
// address of X-Forwarded-For (the one the proxy added); else the peer.
func (s *server) clientAddr(r *http.Request) string {
	if a := s.cfg.Access; a != nil && len(a.TrustedProxies) > 0 && s.fromTrustedPeer(r) {
		if ip, err := netip.ParseAddr(lastForwarded(r, "X-Forwarded-For")); err == nil {
			return ip.String()
		}
	}
	return peerHost(r)
}

// presentedKey is the key a request sends (Authorization: Bearer, which
// wins, or X-API-Key; "" for none); ok is false for an Authorization
// header of another scheme.
func presentedKey(r *http.Request) (key string, ok bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		return strings.TrimSpace(token), strings.EqualFold(scheme, "Bearer")
	}
	return r.Header.Get("X-API-Key"), true
}

// keyIDOf is the public id of a well-formed key, or "".
func keyIDOf(key string) string {
	id, _, _ := access.ParseKey(key)
	return id
}
