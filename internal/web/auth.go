package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/access"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/wire"
)

// Access is the production server's access control. A nil Access (the
// development mode) lets anyone do anything.
type Access struct {
	Keys  *access.Keyring
	Store caresignal.KeyStore // the audit log, and key management by admins
	// SecureCookies marks the session cookie Secure (the server is reached
	// over HTTPS, directly or through a trusted proxy).
	SecureCookies bool
	// TrustedProxies, when set, are the only peers allowed to connect
	// (TLS ends at them); health probes excepted.
	TrustedProxies []netip.Prefix
	// PlatformTLS says TLS ends at a platform's router whose address is
	// not fixed (Heroku, an API gateway): every request but the health
	// probes must then say, in X-Forwarded-Proto, that the router
	// received it over HTTPS.
	PlatformTLS bool
	// RatePerKey limits each key's requests per second (burst Burst);
	// zero: no limit.
	RatePerKey rate.Limit
	Burst      int
	// SessionTTL bounds a web login; zero: 12 hours.
	SessionTTL time.Duration
	// Gateway, when set, authenticates every request instead of the API
	// keys and sessions: a serverless function behind an API gateway
	// whose authorizer has already checked the caller says here who it
	// is (ok false: nobody, 401). Keys may then be nil.
	Gateway func(*http.Request) (access.Principal, bool)
}

// Route access levels: which roles may use a route.
const (
	levelPublic  = "public"  // anyone: health probes, the API description, the login page
	levelApp     = "app"     // every role: the what-if page and model metadata
	levelPredict = "predict" // predict, admin: the prediction API
	levelCare    = "care"    // care, viewer, admin: the worklist and patient pages
	levelContact = "contact" // care, admin: recording contacts with patients
	levelViewer  = "viewer"  // viewer, admin: reports and metrics
	levelAdmin   = "admin"   // admin: models, keys, the server itself
)

// levels lists the access levels, from everyone to administrators only.
var levels = []string{levelPublic, levelApp, levelPredict, levelCare, levelContact, levelViewer, levelAdmin}

// levelRoles lists the roles each level allows, but public's.
var levelRoles = map[string][]string{
	levelApp:     caresignal.Roles,
	levelPredict: {caresignal.RolePredict, caresignal.RoleAdmin},
	levelCare:    {caresignal.RoleCare, caresignal.RoleViewer, caresignal.RoleAdmin},
	levelContact: {caresignal.RoleCare, caresignal.RoleAdmin},
	levelViewer:  {caresignal.RoleViewer, caresignal.RoleAdmin},
	levelAdmin:   {caresignal.RoleAdmin},
}

func levelAllows(level, role string) bool {
	if level == levelPublic {
		return true
	}
	return slices.Contains(levelRoles[level], role)
}

// levelNeeds says in words which roles a level allows: "the care, viewer
// or admin role".
func levelNeeds(level string) string {
	roles := levelRoles[level]
	switch len(roles) {
	case 0:
		return "no role"
	case 1:
		return "the " + roles[0] + " role"
	}
	return "the " + strings.Join(roles[:len(roles)-1], ", ") + " or " + roles[len(roles)-1] + " role"
}

// caller is who is making a request, and how.
type caller struct {
	access.Principal
	session *session // nil unless authenticated by the session cookie
}

func callerOf(ctx context.Context) *caller {
	if ri, ok := ctx.Value(requestKey).(*requestInfo); ok {
		return ri.caller
	}
	return nil
}

// withCaller records who makes the request; without the middleware's
// request info (a handler used alone), it adds its own.
func withCaller(r *http.Request, c *caller) *http.Request {
	if ri, ok := r.Context().Value(requestKey).(*requestInfo); ok {
		ri.caller = c
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), requestKey, &requestInfo{caller: c}))
}

// devCaller is everyone in development mode.
var devCaller = &caller{Principal: access.Principal{Name: "dev", Role: caresignal.RoleAdmin}}

// guard applies the route's access level: 401 without a valid key or
// session, 403 for a role the route does not allow, for a cookie-borne
// form without its CSRF token, and for a peer that is not a trusted
// proxy (on every route but the health probes, public ones included);
// 429 past the key's rate.
func (s *server) guard(rt route) http.Handler {
	pattern, level, next := rt.pattern, rt.level, rt.handler
	if !slices.Contains(levels, level) {
		panic("web: route " + pattern + " has no access level")
	}
	a := s.cfg.Access
	if level == levelPublic && (a == nil || probes[pattern]) {
		return next
	}
	if a == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, withCaller(r, devCaller))
		})
	}
	api := rt.kind == apiRoute
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.fromTrustedPeer(r) {
			s.deny(w, r, http.StatusForbidden, api, "connect through the proxy this server trusts")
			return
		}
		if a.PlatformTLS && !forwardedHTTPS(r) {
			s.deny(w, r, http.StatusForbidden, api, "this server takes requests its platform received over HTTPS only (X-Forwarded-Proto: https)")
			return
		}
		if level == levelPublic {
			next.ServeHTTP(w, r)
			return
		}
		c, ok := s.authenticate(r)
		if !ok && level == levelAdmin {
			// Audited like a refused role: who tried (the key's public
			// id, when one was sent), never the secret.
			s.metrics.authFailures.WithLabelValues("admin").Inc()
			key, _ := presentedKey(r)
			who := &caller{Principal: access.Principal{Name: "unauthenticated", KeyID: keyIDOf(key)}}
			s.audit(r, who, "access", pattern, "denied", "no valid key")
		}
		if !ok {
			if !api && r.Method == http.MethodGet && r.Header.Get("Authorization") == "" {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="caresignal"`)
			s.deny(w, r, http.StatusUnauthorized, api, "a valid API key is required: send Authorization: Bearer <key>")
			return
		}
		if !levelAllows(level, c.Role) {
			if level == levelAdmin {
				s.audit(r, c, "access", pattern, "denied", "role "+c.Role)
			}
			if api {
				s.deny(w, r, http.StatusForbidden, api, "the "+c.Role+" role may not use this route")
			} else {
				s.deny(w, r, http.StatusForbidden, api, "This page needs "+levelNeeds(level)+"; you are logged in as "+c.Name+", with the "+c.Role+" role. Ask an administrator for a key with the role it needs.")
			}
			return
		}
		if c.session != nil && !safeMethod(r.Method) && !c.session.csrfOK(r) {
			s.deny(w, r, http.StatusForbidden, api, "the form's CSRF token is missing or stale: reload the page")
			return
		}
		if lim := s.limiter(c.KeyID); lim != nil && !lim.Allow() {
			w.Header().Set("Retry-After", "1")
			s.deny(w, r, http.StatusTooManyRequests, api, "rate limit exceeded for this key: slow down")
			return
		}
		next.ServeHTTP(w, withCaller(r, c))
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func (s *server) deny(w http.ResponseWriter, r *http.Request, code int, api bool, msg string) {
	if api {
		writeJSON(s.log, w, code, wire.ErrorBody{Error: msg})
		return
	}
	s.render(w, code, "denied.html", &deniedPage{chrome: s.chrome(r, ""), Status: code, Message: msg})
}

// authenticate finds the caller's key in the Authorization (Bearer) or
// X-API-Key header, or the session cookie.
func (s *server) authenticate(r *http.Request) (*caller, bool) {
	a := s.cfg.Access
	if a.Gateway != nil {
		p, ok := a.Gateway(r)
		if !ok {
			return nil, false
		}
		return &caller{Principal: p}, true
	}
	key, ok := presentedKey(r)
	if !ok {
		return nil, false
	}
	if key != "" {
		p, ok := a.Keys.Check(r.Context(), key)
		if !ok {
			return nil, false
		}
		return &caller{Principal: p}, true
	}
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, false
	}
	sess, ok := s.sessions.get(ck.Value)
	if !ok {
		return nil, false
	}
	// A revoked key ends its sessions.
	if _, ok := a.Keys.Lookup(sess.principal.KeyID); !ok {
		s.sessions.drop(ck.Value)
		return nil, false
	}
	return &caller{Principal: sess.principal, session: sess}, true
}

// forwardedHTTPS reports whether the router in front said it received r
// over HTTPS: the last value of X-Forwarded-Proto (the one the nearest
// proxy set) is https.
func forwardedHTTPS(r *http.Request) bool {
	return strings.EqualFold(lastForwarded(r, "X-Forwarded-Proto"), "https")
}

// lastForwarded is the last value of a list header such as
// X-Forwarded-For, over all its lines: the one the nearest proxy added.
func lastForwarded(r *http.Request, header string) string {
	vals := r.Header.Values(header)
	if len(vals) == 0 {
		return ""
	}
	last := vals[len(vals)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.TrimSpace(last)
}

// peerHost is the host part of the connection's remote address.
func peerHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// fromTrustedPeer is true without trusted proxies, or when the peer is one.
func (s *server) fromTrustedPeer(r *http.Request) bool {
	a := s.cfg.Access
	if a == nil || len(a.TrustedProxies) == 0 {
		return true
	}
	ip, err := netip.ParseAddr(peerHost(r))
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range a.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// limiter returns the key's token bucket, nil without rate limits.
func (s *server) limiter(keyID string) *rate.Limiter {
	a := s.cfg.Access
	if a == nil || a.RatePerKey <= 0 {
		return nil
	}
	if l, ok := s.limiters.Load(keyID); ok {
		return l.(*rate.Limiter)
	}
	l, _ := s.limiters.LoadOrStore(keyID, rate.NewLimiter(a.RatePerKey, max(a.Burst, 1)))
	return l.(*rate.Limiter)
}

// audit records an administrative action. A failure to record is logged
// (the action's outcome is already decided).
func (s *server) audit(r *http.Request, c *caller, action, target, outcome, detail string) {
	if s.cfg.Access == nil || s.cfg.Access.Store == nil {
		s.log.Info("admin action", "actor", c.Name, "action", action, "target", target, "outcome", outcome, "request_id", requestID(r.Context()))
		return
	}
	e := caresignal.AuditEntry{At: time.Now().UTC(), Actor: c.Name, KeyID: c.KeyID, Action: action, Target: target,
		Outcome: outcome, Detail: detail, RequestID: requestID(r.Context())}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.cfg.Access.Store.AppendAudit(ctx, e); err != nil {
		s.log.Error("writing the audit log", "action", action, "outcome", outcome, "request_id", e.RequestID, "err", err)
	}
}

// Sessions of the web app's login: kept in memory (a restart logs
// everyone out), each with its own CSRF token.

const (
	sessionCookie = "caresignal_session"
	loginCookie   = "caresignal_login" // double-submit token of the login form
)

type session struct {
	principal access.Principal
	csrf      string
	expires   time.Time
}

func (s *session) csrfOK(r *http.Request) bool {
	token := r.Header.Get("X-CSRF-Token")
	if token == "" {
		token = r.PostFormValue("csrf")
	}
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func (ss *sessions) create(p access.Principal, ttl time.Duration) (string, *session) {
	tok, csrf := randomToken(), randomToken()
	sess := &session{principal: p, csrf: csrf, expires: time.Now().Add(ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[string]*session{}
	}
	now := time.Now()
	for k, v := range ss.m {
		if now.After(v.expires) {
			delete(ss.m, k)
		}
	}
	ss.m[tok] = sess
	return tok, sess
}

func (ss *sessions) get(tok string) (*session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	sess, ok := ss.m[tok]
	if !ok || time.Now().After(sess.expires) {
		delete(ss.m, tok)
		return nil, false
	}
	return sess, true
}

func (ss *sessions) drop(tok string) {
	ss.mu.Lock()
	delete(ss.m, tok)
	ss.mu.Unlock()
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type loginPage struct {
	chrome
	Next  string
	Token string
	Error string
}

type deniedPage struct {
	chrome
	Status  int
	Message string
}

// localPath keeps a post-login redirect on this site: anything but a
// plain path of this site becomes /. Browsers read a backslash as a slash
// and drop tabs and newlines, so "/\t/evil.example" or `/\evil.example`
// leads to another host; a percent-encoded form of either, decoded once
// more by a proxy or an application, does too. So p is refused if it, or
// p decoded once, has a backslash, a control character or an empty
// segment ("//"), or names a scheme or a host.
func localPath(p string) string {
	decoded, err := url.PathUnescape(p)
	if err != nil || !plainPath(p) || !plainPath(decoded) {
		return "/"
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return p
}

// plainPath is true for a path starting with one slash, without
// backslashes, control characters or empty or "." segments that could
// make two slashes.
func plainPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.Contains(p, "/./") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

func (s *server) handleLoginForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := localPath(r.URL.Query().Get("next"))
		if s.cfg.Access == nil {
			// Development mode has no logins: there is nothing to log in to.
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		s.renderLogin(w, r, http.StatusOK, next, "")
	})
}

func (s *server) renderLogin(w http.ResponseWriter, r *http.Request, code int, next, msg string) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/login", HttpOnly: true,
		Secure: s.secureCookies(), SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	s.render(w, code, "login.html", &loginPage{chrome: s.chrome(r, "/login"), Next: next, Token: tok, Error: msg})
}

func (s *server) secureCookies() bool { return s.cfg.Access != nil && s.cfg.Access.SecureCookies }

// handleLogin checks a key typed into the login form and opens a session.
// The form carries the token of its double-submit cookie, so another site
// cannot log a browser in under its own key.
func (s *server) handleLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		if err := r.ParseForm(); err != nil {
			s.renderLogin(w, r, http.StatusBadRequest, "/", "The form could not be read.")
			return
		}
		next := localPath(r.PostForm.Get("next"))
		if s.cfg.Access == nil {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		ck, err := r.Cookie(loginCookie)
		if err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
			s.renderLogin(w, r, http.StatusForbidden, next, "The login form expired: try again.")
			return
		}
		key := strings.TrimSpace(r.PostForm.Get("key"))
		sources := s.failureSources(r, key)
		if s.loginFailures.blocked(sources...) {
			s.metrics.authFailures.WithLabelValues("limited").Inc()
			w.Header().Set("Retry-After", "60")
			s.renderLogin(w, r, http.StatusTooManyRequests, next, "Too many failed logins: wait a minute and try again.")
			return
		}
		var p access.Principal
		ok := false
		if s.cfg.Access.Keys != nil { // nil when a gateway authenticates
			p, ok = s.cfg.Access.Keys.Check(r.Context(), key)
		}
		if !ok {
			s.loginFailures.fail(sources...)
			s.metrics.authFailures.WithLabelValues("login").Inc()
			s.audit(r, &caller{Principal: access.Principal{Name: "unauthenticated", KeyID: keyIDOf(key)}}, "login", "/login", "refused", "no valid key")
			s.renderLogin(w, r, http.StatusUnauthorized, next, "That key is not valid.")
			return
		}
		ttl := s.cfg.Access.SessionTTL
		if ttl <= 0 {
			ttl = 12 * time.Hour
		}
		tok, _ := s.sessions.create(p, ttl)
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true,
			Secure: s.secureCookies(), SameSite: http.SameSiteStrictMode, MaxAge: int(ttl.Seconds())})
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1})
		s.log.Info("login", "actor", p.Name, "role", p.Role, "request_id", requestID(r.Context()))
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
}

func (s *server) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ck, err := r.Cookie(sessionCookie); err == nil {
			s.sessions.drop(ck.Value)
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			Secure: s.secureCookies(), SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
}

// chrome is what every page's frame shows: the mode banner, the model,
// the navigation, who is logged in and the form token.
type chrome struct {
	Mode  string
	Model *model.Model
	Path  string
	User  string
	Role  string
	CSRF  string
	Login bool // the server has logins (production mode)
}

// Can reports whether the page's user may open pages of level (the menus
// show only those).
func (c chrome) Can(level string) bool { return levelAllows(level, c.Role) }

func (s *server) chrome(r *http.Request, path string) chrome {
	c := chrome{Mode: s.cfg.Mode, Path: path, Login: s.cfg.Access != nil}
	if cl := callerOf(r.Context()); cl != nil {
		c.User, c.Role = cl.Name, cl.Role
		if cl.session != nil {
			c.CSRF = cl.session.csrf
		}
	}
	c.Model = s.production()
	return c
}
