package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/access"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/internal/sqlstore"
)

// prodFixture is a production-mode server on an embedded database with
// one key per role and a revoked one.
type prodFixture struct {
	srv   *httptest.Server
	store *sqlstore.Store
	keys  map[string]string // role (or "revoked") → plaintext key
	ids   map[string]string // role → key id
	logs  *syncBuffer
}

func newProdFixture(t *testing.T, tune func(*Access)) *prodFixture {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &prodFixture{store: store, keys: map[string]string{}, ids: map[string]string{}, logs: &syncBuffer{}}
	for _, role := range []string{caresignal.RolePredict, caresignal.RoleCare, caresignal.RoleViewer, caresignal.RoleAdmin, "revoked"} {
		r := role
		if role == "revoked" {
			r = caresignal.RolePredict
		}
		plain, k, hash, err := access.NewKey(role+"-holder", r, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := store.CreateKey(ctx, k, hash); err != nil {
			t.Fatal(err)
		}
		f.keys[role], f.ids[role] = plain, k.ID
	}
	if err := store.RevokeKey(ctx, f.ids["revoked"], time.Now()); err != nil {
		t.Fatal(err)
	}
	kr, err := access.NewKeyring(ctx, store, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	a := &Access{Keys: kr, Store: store}
	if tune != nil {
		tune(a)
	}
	h := NewHandler(Config{Model: testModel(t), Store: store, Logger: slog.New(slog.NewJSONHandler(f.logs, nil)), Mode: "prod", Access: a})
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *prodFixture) do(t *testing.T, method, path, key, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestRolesAndStatuses: every route answers 401 without a valid key, 403
// to a role it does not allow, and its usual answer to one it does.
func TestRolesAndStatuses(t *testing.T) {
	f := newProdFixture(t, nil)
	engagement := `{"patient_id": "P1", "features": ` + goodFeatures + `}`
	cases := []struct {
		method, path, body string
		allowed            []string // roles answered normally; the others get 403
		public             bool
	}{
		{"POST", "/api/engagement", engagement, []string{"predict", "admin"}, false},
		{"POST", "/invocations", `{"dataframe_records": [` + strings.TrimSuffix(goodFeatures, "}") + `, "month": 1}]}`, []string{"predict", "admin"}, false},
		{"GET", "/api/model", "", []string{"predict", "care", "viewer", "admin"}, false},
		{"GET", "/api/models/engagement", "", []string{"predict", "care", "viewer", "admin"}, false},
		{"GET", "/metrics", "", []string{"viewer", "admin"}, false},
		{"GET", "/worklist", "", []string{"care", "viewer", "admin"}, false},
		{"GET", "/model", "", []string{"predict", "care", "viewer", "admin"}, false},
		{"GET", "/monitoring", "", []string{"viewer", "admin"}, false},
		{"GET", "/api/admin/models", "", []string{"admin"}, false},
		{"GET", "/api/admin/keys", "", []string{"admin"}, false},
		{"GET", "/api/admin/audit", "", []string{"admin"}, false},
		{"GET", "/healthz", "", nil, true},
		{"GET", "/readyz", "", nil, true},
		{"GET", "/openapi.json", "", nil, true},
		{"GET", "/v2/health/live", "", nil, true},
	}
	for _, c := range cases {
		for _, who := range []string{"", "garbage", "revoked", "predict", "care", "viewer", "admin"} {
			key := f.keys[who]
			if who == "garbage" {
				key = "cs_0123456789ab_" + strings.Repeat("0", 64)
			}
			resp, body := f.do(t, c.method, c.path, key, c.body)
			want := http.StatusOK
			switch {
			case c.public:
			case who == "" || who == "garbage" || who == "revoked":
				want = http.StatusUnauthorized
				if resp.Header.Get("WWW-Authenticate") == "" && resp.StatusCode == 401 {
					t.Errorf("%s %s: 401 without WWW-Authenticate", c.method, c.path)
				}
			default:
				want = http.StatusForbidden
				for _, r := range c.allowed {
					if r == who {
						want = http.StatusOK
					}
				}
			}
			if c.path == "/worklist" && want == http.StatusOK && resp.StatusCode == http.StatusOK && !strings.Contains(body, who+"-holder ("+who+")") {
				t.Errorf("GET /worklist as %s: the page does not say who is logged in", who)
			}
			if c.path == "/worklist" && want == http.StatusForbidden && resp.StatusCode == want && !strings.Contains(body, "This page needs the care, viewer or admin role") {
				t.Errorf("GET /worklist as %s: the refusal does not say which role the page needs: %.300s", who, body)
			}
			if (c.path == "/worklist" || c.path == "/model" || c.path == "/monitoring") && want == http.StatusUnauthorized && who == "" {
				// A browser without credentials is sent to the login page.
				want = http.StatusSeeOther
			}
			if resp.StatusCode != want {
				t.Errorf("%s %s as %q: status %d, want %d: %.200s", c.method, c.path, who, resp.StatusCode, want, body)
			}
		}
	}
	if strings.Contains(f.logs.String(), f.keys["admin"][16:]) {
		t.Error("a key's secret reached the log")
	}
}

// TestAuditLogRecordsAdminActions: a key created through the API, a
// refused activation and a denied attempt are all in the audit log with
// their actor and outcome.
func TestAuditLogRecordsAdminActions(t *testing.T) {
	f := newProdFixture(t, nil)
	resp, body := f.do(t, "POST", "/api/admin/keys", f.keys["admin"], `{"name": "new-app", "role": "predict"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create key: %d %s", resp.StatusCode, body)
	}
	newKey := regexp.MustCompile(`"key":"(cs_[0-9a-f_]+)"`).FindStringSubmatch(body)
	if newKey == nil {
		t.Fatalf("no key in %s", body)
	}
	// The new key works at once on this server.
	if resp, body := f.do(t, "GET", "/api/model", newKey[1], ""); resp.StatusCode != 200 {
		t.Errorf("new key: %d %s", resp.StatusCode, body)
	}
	if resp, _ := f.do(t, "POST", "/api/admin/keys", f.keys["admin"], `{"name": "x", "role": "root"}`); resp.StatusCode != 400 {
		t.Errorf("bad role: %d", resp.StatusCode)
	}
	f.do(t, "POST", "/api/admin/drain", f.keys["viewer"], "")
	if resp, _ := f.do(t, "DELETE", "/api/admin/keys/"+f.ids["predict"], f.keys["admin"], ""); resp.StatusCode != 200 {
		t.Errorf("revoke: %d", resp.StatusCode)
	}
	// Revocation takes effect at once on the server that revoked it.
	if resp, _ := f.do(t, "GET", "/api/model", f.keys["predict"], ""); resp.StatusCode != 401 {
		t.Errorf("revoked key: %d, want 401", resp.StatusCode)
	}
	entries, err := f.store.AuditLog(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Actor+" "+e.Action+" "+e.Outcome)
		if e.RequestID == "" {
			t.Errorf("audit entry %s without a request id", e.Action)
		}
	}
	want := []string{"admin-holder key.revoke ok", "viewer-holder access denied", "admin-holder key.create refused", "admin-holder key.create ok"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("audit log:\n got %q\nwant %q", got, want)
	}
}

// TestWebLogin: the login form sets a double-submit token; a session
// cookie is HttpOnly, SameSite=Strict and Secure when configured; forms
// need the session's CSRF token; logging out or revoking the key ends the
// session.
func TestWebLogin(t *testing.T) {
	f := newProdFixture(t, func(a *Access) { a.SecureCookies = false })
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		resp, err := c.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	postForm := func(path string, v url.Values) (*http.Response, string) {
		resp, err := c.PostForm(f.srv.URL+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	token := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

	resp, _ := get("/model")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fmodel" {
		t.Fatalf("anonymous /model: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := get("/login?next=/model")
	m := token.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no form token on the login page")
	}
	if resp, _ := postForm("/login", url.Values{"key": {f.keys["viewer"]}, "csrf": {"forged"}, "next": {"/model"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login with a forged form token: %d", resp.StatusCode)
	}
	_, page = get("/login")
	m = token.FindStringSubmatch(page)
	if resp, _ := postForm("/login", url.Values{"key": {f.keys["revoked"]}, "csrf": {m[1]}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with a revoked key: %d", resp.StatusCode)
	}
	_, page = get("/login")
	m = token.FindStringSubmatch(page)
	resp, _ = postForm("/login", url.Values{"key": {f.keys["predict"]}, "csrf": {m[1]}, "next": {"//evil.example/x"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q (an off-site next must become /)", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure {
		t.Fatalf("session cookie %+v", sess)
	}
	resp, page = get("/")
	if resp.StatusCode != 200 || !strings.Contains(page, "predict-holder") {
		t.Fatalf("home after login: %d", resp.StatusCode)
	}
	csrf := token.FindStringSubmatch(page)
	if csrf == nil {
		t.Fatal("no CSRF token in the what-if form")
	}
	form := url.Values{"age": {"54"}, "sex": {"F"}, "program": {"diabetes"}, "channel": {"app"}, "baseline_score": {"0.6"},
		"prior_no_shows": {"1"}, "enrolled_via": {"referral"}, "sessions_last_month": {"3"}, "days_since_last_session": {"6"},
		"messages_last_month": {"4"}, "months_enrolled": {"0"}, "horizon": {"12"}}
	if resp, _ := postForm("/", form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("what-if without the CSRF token: %d, want 403", resp.StatusCode)
	}
	form.Set("csrf", csrf[1])
	if resp, body := postForm("/", form); resp.StatusCode != 200 || !strings.Contains(body, "Top drivers") {
		t.Errorf("what-if with the CSRF token: %d", resp.StatusCode)
	}
	if resp, _ := get("/metrics"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("/metrics as predict: %d, want 403", resp.StatusCode)
	}
	if resp, _ := postForm("/logout", url.Values{"csrf": {csrf[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp, _ := get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d, want a redirect to the login", resp.StatusCode)
	}

	// Revoking the key ends its session.
	_, page = get("/login")
	m = token.FindStringSubmatch(page)
	postForm("/login", url.Values{"key": {f.keys["viewer"]}, "csrf": {m[1]}})
	if resp, _ := get("/model"); resp.StatusCode != 200 {
		t.Fatalf("viewer session: %d", resp.StatusCode)
	}
	// A viewer may not call the scoring API, but may use the what-if form
	// (docs/operations.md, "Who may do what").
	if resp, _ := f.do(t, "POST", "/api/engagement", f.keys["viewer"], `{"features": {}}`); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /api/engagement as viewer: %d, want 403", resp.StatusCode)
	}
	_, page = get("/")
	if csrf = token.FindStringSubmatch(page); csrf == nil {
		t.Fatal("no CSRF token in the viewer's what-if form")
	}
	form.Set("csrf", csrf[1])
	if resp, body := postForm("/", form); resp.StatusCode != 200 || !strings.Contains(body, "Top drivers") {
		t.Errorf("what-if as viewer: %d", resp.StatusCode)
	}
	if r, _ := f.do(t, "DELETE", "/api/admin/keys/"+f.ids["viewer"], f.keys["admin"], ""); r.StatusCode != 200 {
		t.Fatal("revoke failed")
	}
	if resp, _ := get("/model"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("session of a revoked key: %d, want a redirect to the login", resp.StatusCode)
	}
}

// TestRateLimitPerKey: past its burst a key gets 429 with Retry-After;
// another key is unaffected.
func TestRateLimitPerKey(t *testing.T) {
	f := newProdFixture(t, func(a *Access) { a.RatePerKey, a.Burst = 0.5, 3 })
	var codes []int
	for range 5 {
		resp, _ := f.do(t, "GET", "/api/model", f.keys["predict"], "")
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if codes[0] != 200 || codes[2] != 200 || codes[3] != 429 || codes[4] != 429 {
		t.Errorf("statuses %v, want 3×200 then 429", codes)
	}
	if resp, _ := f.do(t, "GET", "/api/model", f.keys["viewer"], ""); resp.StatusCode != 200 {
		t.Errorf("another key: %d", resp.StatusCode)
	}
}

// TestTrustedProxyOnly: with a trusted proxy declared, other peers are
// refused everywhere but the health probes, public routes included.
func TestTrustedProxyOnly(t *testing.T) {
	f := newProdFixture(t, func(a *Access) { a.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	if resp, body := f.do(t, "GET", "/api/model", f.keys["admin"], ""); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "proxy") {
		t.Errorf("direct peer: %d %s", resp.StatusCode, body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/ping", "/health", "/v2/health/live", "/v2/health/ready"} {
		if resp, _ := f.do(t, "GET", path, "", ""); resp.StatusCode != 200 {
			t.Errorf("health probe %s from a direct peer: %d", path, resp.StatusCode)
		}
	}
	for _, rt := range []struct{ method, path string }{
		{"GET", "/openapi.json"}, {"GET", "/login"}, {"POST", "/login"}, {"GET", "/v2"}, {"GET", staticPathOf(t, "app.css")},
		{"GET", "/api/no-such-route"}, {"DELETE", "/api/engagement"},
	} {
		if resp, body := f.do(t, rt.method, rt.path, "", ""); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "proxy") {
			t.Errorf("public route %s %s from a direct peer: %d %s", rt.method, rt.path, resp.StatusCode, body[:min(len(body), 200)])
		}
	}
	// Every public route is either a probe or refused above.
	for _, r := range (&server{metrics: newMetrics(nil)}).routeTable() {
		if r.level == levelPublic && !probes[r.pattern] && !slices.Contains([]string{"GET /openapi.json", "GET /login", "POST /login", "GET /v2", "GET /static/{file}", "/api/"}, r.pattern) {
			t.Errorf("public route %q is neither a probe nor checked here", r.pattern)
		}
	}
	g := newProdFixture(t, func(a *Access) { a.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	if resp, _ := g.do(t, "GET", "/api/model", g.keys["admin"], ""); resp.StatusCode != 200 {
		t.Errorf("through the proxy: %d", resp.StatusCode)
	}
}

// TestEveryRouteHasALevel: every route of the table names a known access
// level (guard refuses to start otherwise), and only the web app's pages
// are marked as pages.
func TestEveryRouteHasALevel(t *testing.T) {
	s := &server{metrics: newMetrics(nil)}
	for _, r := range s.routeTable() {
		if !slices.Contains(levels, r.level) {
			t.Errorf("route %q has access level %q", r.pattern, r.level)
		}
		_, path, _ := strings.Cut(r.pattern, " ")
		if isAPI := strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/v2") || path == "/invocations"; isAPI && r.kind != apiRoute {
			t.Errorf("API route %q is marked as a page", r.pattern)
		}
	}
}

// TestDatabaseDownDuringLoad: in production mode, with keys checked from
// the cache, predictions go on when the database goes away mid-load;
// readiness says so.
func TestDatabaseDownDuringLoad(t *testing.T) {
	f := newProdFixture(t, nil)
	load := startLoad(4, func() *http.Request {
		req, _ := http.NewRequest("POST", f.srv.URL+"/api/engagement", strings.NewReader(`{"patient_id": "P1", "features": `+goodFeatures+`}`))
		req.Header.Set("Authorization", "Bearer "+f.keys["predict"])
		return req
	})
	time.Sleep(150 * time.Millisecond)
	f.store.Close()
	before := load.ok.Load()
	time.Sleep(250 * time.Millisecond)
	load.Stop()
	if load.failed.Load() != 0 || load.ok.Load() <= before {
		t.Errorf("%d answered (%d after the database went away), %d failed", load.ok.Load(), load.ok.Load()-before, load.failed.Load())
	}
	if resp, body := f.do(t, "GET", "/readyz", "", ""); resp.StatusCode != 503 || !strings.Contains(body, "unreachable") {
		t.Errorf("readiness without the database: %d %s", resp.StatusCode, body)
	}
}

// loadGen keeps clients sending requests until stopped, counting 200s
// and everything else (errors included) as failures.
type loadGen struct {
	stop       atomic.Bool
	ok, failed atomic.Int64
	wg         sync.WaitGroup
}

// startLoad starts n clients, each sending newReq() again and again.
func startLoad(n int, newReq func() *http.Request) *loadGen {
	g := &loadGen{}
	for range n {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			for !g.stop.Load() {
				resp, err := http.DefaultClient.Do(newReq())
				if err != nil {
					g.failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					g.ok.Add(1)
				} else {
					g.failed.Add(1)
				}
			}
		}()
	}
	return g
}

// Stop stops the clients and waits for them.
func (g *loadGen) Stop() {
	g.stop.Store(true)
	g.wg.Wait()
}

// TestPlatformTLS: behind a platform's router (no fixed address), every
// request but the health probes must say it reached the router over
// HTTPS; a plain-HTTP one is refused before its key is looked at.
func TestPlatformTLS(t *testing.T) {
	f := newProdFixture(t, func(a *Access) { a.PlatformTLS = true })
	get := func(path, proto string) int {
		req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+f.keys["admin"])
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for proto, want := range map[string]int{"": 403, "http": 403, "https": 200, "HTTPS": 200, "http, https": 200, "https, http": 403} {
		if got := get("/api/model", proto); got != want {
			t.Errorf("X-Forwarded-Proto %q: %d, want %d", proto, got, want)
		}
	}
	if got := get("/openapi.json", "http"); got != 403 {
		t.Errorf("a public route over plain HTTP: %d", got)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if got := get(path, ""); got != 200 {
			t.Errorf("health probe %s: %d", path, got)
		}
	}
}

// TestFailedAuthenticationIsAuditedAndSlowed: attempts at administrators'
// routes without a valid key and refused web logins go to the audit log,
// by key id and never with the secret, and are counted in /metrics; after
// ten failed logins a client is answered 429, a valid key included.
func TestFailedAuthenticationIsAuditedAndSlowed(t *testing.T) {
	f := newProdFixture(t, nil)
	wrong := f.keys["admin"][:len(f.keys["admin"])-4] + "0000" // the admin's id, a wrong secret
	if wrong == f.keys["admin"] {
		wrong = f.keys["admin"][:len(f.keys["admin"])-4] + "1111"
	}
	for _, key := range []string{"", "garbage", wrong} {
		if resp, _ := f.do(t, "POST", "/api/admin/drain", key, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("admin route with key %q: %d", key, resp.StatusCode)
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func(key string) int {
		resp, err := c.Get(f.srv.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(string(b))
		if m == nil {
			t.Fatal("no login token")
		}
		resp, err = c.PostForm(f.srv.URL+"/login", url.Values{"key": {key}, "csrf": {m[1]}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var codes []int
	for range 11 {
		codes = append(codes, login(wrong))
	}
	if codes[0] != http.StatusUnauthorized || codes[9] != http.StatusUnauthorized || codes[10] != http.StatusTooManyRequests {
		t.Errorf("failed logins answered %v; want ten 401s, then 429", codes)
	}
	if code := login(f.keys["viewer"]); code != http.StatusTooManyRequests {
		t.Errorf("a valid key from a client that failed ten times: %d, want 429", code)
	}

	entries, err := f.store.AuditLog(context.Background(), 50)
	if err != nil {
		t.Fatal(err)
	}
	admin, logins := 0, 0
	for _, e := range entries {
		if strings.Contains(e.Actor+e.KeyID+e.Target+e.Detail, wrong[16:]) {
			t.Errorf("an audit entry holds the secret: %+v", e)
		}
		switch {
		case e.Action == "access" && e.Outcome == "denied" && e.Actor == "unauthenticated" && e.Target == "POST /api/admin/drain":
			admin++
		case e.Action == "login" && e.Outcome == "refused" && e.KeyID == f.ids["admin"]:
			logins++
		}
	}
	if admin != 3 || logins != 10 {
		t.Errorf("audited %d refused admin attempts (want 3) and %d refused logins (want 10)", admin, logins)
	}
	resp, body := f.do(t, "GET", "/metrics", f.keys["admin"], "")
	for _, want := range []string{`caresignal_auth_failures_total{kind="admin"} 3`, `caresignal_auth_failures_total{kind="login"} 10`, `caresignal_auth_failures_total{kind="limited"} 2`} {
		if resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
