package serverless_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/cmd/serverless"
	"github.com/caresignal/caresignal/internal/access"
	"github.com/caresignal/caresignal/internal/modeltest"
	"github.com/caresignal/caresignal/internal/postgres"
	"github.com/caresignal/caresignal/internal/postgres/pgtest"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/internal/sqlstore"
	"github.com/caresignal/caresignal/internal/web"
)

// The predict key the recorded events carry, and its parts.
const (
	testKey    = "cs_5e7a11e55e7a_0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	testKeyID  = "5e7a11e55e7a"
	testSecret = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixture is a database holding the events' predict key and an artifact
// file, as a function bundles it.
type fixture struct {
	db, model string
	store     *sqlstore.Store
}

func newFixture(t testing.TB) *fixture {
	return newFixtureOn(t, "")
}

// newFixtureOn is newFixture on a PostgreSQL database when dsn is set,
// else on a SQLite file.
func newFixtureOn(t testing.TB, dsn string) *fixture {
	t.Helper()
	dir := t.TempDir()
	_, artifact := modeltest.Engagement(t, modeltest.Cohort{Patients: 1500, Seed: 5})
	fx := &fixture{db: dsn, model: filepath.Join(dir, serverless.ModelFileName)}
	if err := os.WriteFile(fx.model, artifact, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var err error
	if dsn != "" {
		fx.store, err = postgres.Open(ctx, dsn)
	} else {
		fx.db = filepath.Join(dir, "caresignal.db")
		fx.store, err = sqlite.Open(ctx, fx.db)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fx.store.Close() })
	k := caresignal.APIKey{ID: testKeyID, Name: "care-team-app", Role: caresignal.RolePredict, CreatedAt: time.Now().UTC()}
	if err := fx.store.CreateKey(ctx, k, access.HashSecret(testSecret)); err != nil {
		t.Fatal(err)
	}
	return fx
}

// function sets up an instance of the function over the fixture.
func (fx *fixture) function(t *testing.T, c serverless.Config) *serverless.Function {
	t.Helper()
	c.Logger = quiet
	if c.ModelPath == "" {
		c.ModelPath = fx.model
	}
	if c.SpillDir == "" {
		c.SpillDir = t.TempDir()
	}
	f, err := serverless.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(context.Background()) })
	return f
}

// server is what caresignal serve --mode prod runs over the same
// database and model: web.NewHandler with the API keys.
func (fx *fixture) server(t *testing.T, f *serverless.Function) http.Handler {
	t.Helper()
	keys, err := access.NewKeyring(context.Background(), fx.store, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return web.NewHandler(web.Config{Model: f.Model, Store: fx.store, Logger: quiet, Mode: "prod",
		Access: &web.Access{Keys: keys, Store: fx.store, SecureCookies: true}})
}

// serverRequest is an event's request as a client sends it to the
// server, written out independently of the adapter.
type serverRequest struct {
	method, target string
	key            bool   // Authorization: Bearer testKey
	body           string // "": none
}

func (q serverRequest) send(h http.Handler) *httptest.ResponseRecorder {
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	r := httptest.NewRequest(q.method, q.target, body)
	if q.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if q.key {
		r.Header.Set("Authorization", "Bearer "+testKey)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const single = `{"patient_id": "P0012345", "features": ` + modeltest.Features + `, "horizon": 12}`
const badJSON = `{"patient_id": "P0012345", "features": {"age": 54,`

// answer is a response: status, headers (the request id left out: it is
// new for every request) and body.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func fromRecorder(w *httptest.ResponseRecorder) answer {
	h := w.Result().Header.Clone()
	h.Del("X-Request-Id")
	return answer{w.Code, h, w.Body.Bytes()}
}

func decodeBody(t *testing.T, body string, b64 bool) []byte {
	t.Helper()
	if !b64 {
		return []byte(body)
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		t.Fatalf("the response body is marked base64 but is not: %v", err)
	}
	return b
}

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// invokeV1 feeds a REST API event to the Lambda entry and reads its
// response event.
func invokeV1(t *testing.T, f *serverless.Function, name string) answer {
	t.Helper()
	out, err := f.Invoke(context.Background(), readEvent(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("%s: the response event: %v", name, err)
	}
	if len(resp.Headers) > 0 {
		t.Errorf("%s: headers given single-valued too: %v", name, resp.Headers)
	}
	h := http.Header(resp.MultiValueHeaders)
	h.Del("X-Request-Id")
	return answer{resp.StatusCode, h, decodeBody(t, resp.Body, resp.IsBase64Encoded)}
}

// invokeV2 feeds an HTTP API event to the Lambda entry and reads its
// response event; headers are compared joined, as payload 2.0 carries
// them, and Set-Cookie from cookies.
func invokeV2(t *testing.T, f *serverless.Function, name string) answer {
	t.Helper()
	out, err := f.Invoke(context.Background(), readEvent(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("%s: the response event: %v", name, err)
	}
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Del("X-Request-Id")
	return answer{resp.StatusCode, h, decodeBody(t, resp.Body, resp.IsBase64Encoded)}
}

// joined is h as payload 2.0 carries it: one value per header, except
// Set-Cookie.
func joined(h http.Header) http.Header {
	out := http.Header{}
	for k, vs := range h {
		if k == "Set-Cookie" {
			out[k] = vs
			continue
		}
		out.Set(k, strings.Join(vs, ", "))
	}
	return out
}

func sameAnswer(t *testing.T, name string, got, want answer) {
	t.Helper()
	if got.status != want.status {
		t.Errorf("%s: status %d, the server's %d", name, got.status, want.status)
	}
	if !bytes.Equal(got.body, want.body) {
		t.Errorf("%s: body differs from the server's:\n got %s\nwant %s", name, got.body, want.body)
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range want.header {
			if !yield(k) {
				return
			}
		}
	}) {
		if !slices.Equal(got.header[k], want.header[k]) {
			t.Errorf("%s: header %s is %q, the server's %q", name, k, got.header[k], want.header[k])
		}
	}
	for k := range got.header {
		if _, ok := want.header[k]; !ok {
			t.Errorf("%s: header %s that the server does not send", name, k)
		}
	}
}

// TestRecordedEvents feeds recorded API Gateway events of both payload
// versions to the Lambda entry, in production mode with API keys, and
// compares each answer with what the server's handler answers to the same
// request: status, headers and body, byte for byte. After each
// prediction the record is in the database as the invocation returns.
func TestRecordedEvents(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { recordedEvents(t, newFixture(t)) })
	t.Run("postgres", func(t *testing.T) { recordedEvents(t, newFixtureOn(t, pgtest.Schema(t))) })
}

func recordedEvents(t *testing.T, fx *fixture) {
	f := fx.function(t, serverless.Config{Mode: "prod", DB: fx.db})
	srv := fx.server(t, f)
	ctx := context.Background()
	cases := []struct {
		event   string
		req     serverRequest
		status  int
		records int // predictions stored once the invocation returns, in all
	}{
		{"apigw-v1/engagement.json", serverRequest{"POST", "/api/engagement", true, single}, 200, 1},
		{"apigw-v1/engagement-base64.json", serverRequest{"POST", "/api/engagement", true, single}, 200, 2},
		{"apigw-v1/healthz.json", serverRequest{"GET", "/healthz", false, ""}, 200, 2},
		{"apigw-v1/bad-json.json", serverRequest{"POST", "/api/engagement", true, badJSON}, 400, 2},
		{"apigw-v1/no-key.json", serverRequest{"POST", "/api/engagement", false, single}, 401, 2},
		{"apigw-v2/engagement.json", serverRequest{"POST", "/api/engagement", true, single}, 200, 3},
		{"apigw-v2/engagement-base64.json", serverRequest{"POST", "/api/engagement", true, single}, 200, 4},
		{"apigw-v2/healthz-stage.json", serverRequest{"GET", "/healthz", false, ""}, 200, 4},
		{"apigw-v2/bad-json.json", serverRequest{"POST", "/api/engagement", true, badJSON}, 400, 4},
		{"apigw-v2/no-key.json", serverRequest{"POST", "/api/engagement", false, single}, 401, 4},
	}
	for _, c := range cases {
		var got answer
		want := fromRecorder(c.req.send(srv))
		if strings.HasPrefix(c.event, "apigw-v1/") {
			got = invokeV1(t, f, c.event)
		} else {
			got = invokeV2(t, f, c.event)
			want.header = joined(want.header)
		}
		if got.status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.event, got.status, c.status, got.body)
		}
		sameAnswer(t, c.event, got, want)
		// No wait: the record must be stored before Invoke returned.
		if n, err := fx.store.CountPredictions(ctx); err != nil || n != c.records {
			t.Errorf("after %s: %d predictions stored as the invocation returned (%v), want %d", c.event, n, err, c.records)
		}
	}
}

// TestTrustedAuthorizer: with the gateway's authorizer trusted, an event
// whose request context carries an authorizer's identity is answered as
// the server answers a predict key, one without is refused (401), and
// the predict role does not reach the administrators' routes.
func TestTrustedAuthorizer(t *testing.T) {
	fx := newFixture(t)
	f := fx.function(t, serverless.Config{Mode: "prod", TrustGateway: true})
	srv := fx.server(t, f)
	want := fromRecorder(serverRequest{"POST", "/api/engagement", true, single}.send(srv))
	got := invokeV1(t, f, "apigw-v1/lambda-authorizer.json")
	sameAnswer(t, "apigw-v1/lambda-authorizer.json", got, want)
	got = invokeV2(t, f, "apigw-v2/jwt-authorizer.json")
	sameAnswer(t, "apigw-v2/jwt-authorizer.json", got, answer{want.status, joined(want.header), want.body})
	for _, name := range []string{"apigw-v1/no-key.json", "apigw-v1/engagement.json"} {
		// A key is no substitute for the authorizer here.
		if got := invokeV1(t, f, name); got.status != http.StatusUnauthorized {
			t.Errorf("%s without an authorizer: status %d, want 401", name, got.status)
		}
	}
	if got := invokeV2(t, f, "apigw-v2/jwt-authorizer-admin-route.json"); got.status != http.StatusForbidden {
		t.Errorf("the admin route with the authorizer's predict role: status %d, want 403: %s", got.status, got.body)
	}
	if got := invokeV2(t, f, "apigw-v2/healthz-stage.json"); got.status != http.StatusOK {
		t.Errorf("the health probe: status %d, want 200", got.status)
	}
}

// TestNotAGatewayEvent: an event of another kind fails the invocation,
// saying what was expected.
func TestNotAGatewayEvent(t *testing.T) {
	fx := newFixture(t)
	f := fx.function(t, serverless.Config{Mode: "dev"})
	for _, ev := range []string{`{"Records": [{"eventSource": "aws:sqs"}]}`, `[1, 2]`, `{"version": "2.0", "rawPath": "http://x/"}`} {
		if _, err := f.Invoke(context.Background(), []byte(ev)); err == nil || caresignal.ErrorCode(err) != caresignal.EINVALID {
			t.Errorf("event %s: error %v, want one saying it is not an API Gateway event", ev, err)
		}
	}
}

// TestCloudFunction serves the Google Cloud Functions entry point, set
// up from the environment, and compares it with the server.
func TestCloudFunction(t *testing.T) {
	fx := newFixture(t)
	t.Setenv("CARESIGNAL_DB", fx.db)
	t.Setenv("CARESIGNAL_MODEL", fx.model)
	t.Setenv("CARESIGNAL_SPILL_DIR", t.TempDir())
	t.Setenv("CARESIGNAL_MODE", "")
	t.Setenv("CARESIGNAL_TRUST_GATEWAY_AUTHORIZER", "")
	t.Setenv("DATABASE_URL", "")
	ref := fx.function(t, serverless.Config{Mode: "dev"}) // for its model
	srv := fx.server(t, ref)
	ctx := context.Background()
	for i, q := range []serverRequest{
		{"POST", "/api/engagement", true, single},
		{"GET", "/healthz", false, ""},
		{"POST", "/api/engagement", true, badJSON},
		{"POST", "/api/engagement", false, single},
		{"POST", "/api/engagement", true, single},
	} {
		want := fromRecorder(q.send(srv))
		got := fromRecorder(q.send(http.HandlerFunc(serverless.HTTP)))
		sameAnswer(t, q.method+" "+q.target, got, want)
		wantN := 1
		if i == 4 {
			wantN = 2
		}
		if n, err := fx.store.CountPredictions(ctx); err != nil || n != wantN {
			t.Errorf("request %d: %d predictions stored as the function returned (%v), want %d", i, n, err, wantN)
		}
	}
}

// TestConfigFromEnv: development mode only when chosen, production mode
// only with a way to check callers, settings that are not what they say
// refused by name.
func TestConfigFromEnv(t *testing.T) {
	cases := []struct {
		env   map[string]string
		field string // "" when accepted
	}{
		{map[string]string{}, "mode"},
		{map[string]string{"CARESIGNAL_DB": "/tmp/x.db"}, ""},
		{map[string]string{"DATABASE_URL": "postgres://u@h/db"}, ""},
		{map[string]string{"DATABASE_URL": "mysql://u@h/db"}, "db"},
		{map[string]string{"CARESIGNAL_TRUST_GATEWAY_AUTHORIZER": "true"}, ""},
		{map[string]string{"CARESIGNAL_TRUST_GATEWAY_AUTHORIZER": "yes please"}, "trust-gateway-authorizer"},
		{map[string]string{"CARESIGNAL_MODE": "dev"}, ""},
		{map[string]string{"CARESIGNAL_MODE": "dev", "CARESIGNAL_TRUST_GATEWAY_AUTHORIZER": "true"}, "mode"},
		{map[string]string{"CARESIGNAL_MODE": "staging", "CARESIGNAL_DB": "/tmp/x.db"}, "mode"},
		{map[string]string{"CARESIGNAL_MODE": "dev", "CARESIGNAL_PSEUDONYM_KEY": "short"}, "pseudonym-key"},
	}
	for _, c := range cases {
		cfg, err := serverless.ConfigFromEnv(func(k string) string { return c.env[k] })
		var e *caresignal.Error
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%v: %v", c.env, err)
		case c.field != "" && err == nil:
			t.Errorf("%v: accepted as %+v", c.env, cfg)
		case c.field != "" && (!asError(err, &e) || e.Field != c.field):
			t.Errorf("%v: error %v, want one naming %s", c.env, err, c.field)
		}
	}
}

func asError(err error, e **caresignal.Error) bool {
	ce, ok := err.(*caresignal.Error)
	*e = ce
	return ok
}

// TestNewRefuses: a set-up that fails part way says why, and closes what
// it had opened (the database) without panicking.
func TestNewRefuses(t *testing.T) {
	fx := newFixture(t)
	empty := filepath.Join(t.TempDir(), "empty.db")
	cases := []struct {
		c    serverless.Config
		want string
	}{
		{serverless.Config{Mode: "prod", DB: fx.db, ModelPath: filepath.Join(t.TempDir(), "none.json")}, "none.json"},
		{serverless.Config{Mode: "dev", ModelPath: filepath.Join(t.TempDir(), "none.json")}, "none.json"},
		{serverless.Config{Mode: "prod", DB: empty, ModelPath: fx.model}, "no active key"},
		{serverless.Config{Mode: "prod", DB: "mysql://u@h/db", ModelPath: fx.model}, "postgres://"},
	}
	for _, c := range cases {
		c.c.Logger, c.c.SpillDir = quiet, t.TempDir()
		f, err := serverless.New(context.Background(), c.c)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %q", c.c, err, c.want)
		}
		if f != nil {
			t.Errorf("%+v: a function returned with the error", c.c)
		}
	}
}
