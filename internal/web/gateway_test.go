package web

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/access"
)

// TestGatewayAuthenticates: with Access.Gateway set and no key ring, the
// gateway's answer alone decides who calls: its principal's role is
// applied as a key's would be, nobody is 401 whatever key is sent, and a
// login with a key is refused rather than failing on the missing ring.
func TestGatewayAuthenticates(t *testing.T) {
	f := newProdFixture(t, func(a *Access) {
		a.Keys = nil
		a.SecureCookies = false
		a.Gateway = func(r *http.Request) (access.Principal, bool) {
			// In this test a header stands for the context a gateway sets.
			if r.Header.Get("X-Test-Admitted") == "" {
				return access.Principal{}, false
			}
			return access.Principal{Name: "authorizer:app", Role: caresignal.RolePredict}, true
		}
	})
	engagement := `{"patient_id": "P1", "features": ` + goodFeatures + `}`
	send := func(method, path, body string, admitted bool, key string) int {
		t.Helper()
		req, _ := http.NewRequest(method, f.srv.URL+path, nil)
		if body != "" {
			req, _ = http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
		}
		if admitted {
			req.Header.Set("X-Test-Admitted", "1")
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		method, path, body string
		admitted           bool
		key                string
		want               int
	}{
		{"POST", "/api/engagement", engagement, true, "", 200},
		{"POST", "/api/engagement", engagement, false, "", 401},
		{"POST", "/api/engagement", engagement, false, f.keys["admin"], 401},
		{"GET", "/api/admin/models", "", true, "", 403},
		{"GET", "/metrics", "", true, "", 403},
		{"GET", "/healthz", "", false, "", 200},
	} {
		if got := send(c.method, c.path, c.body, c.admitted, c.key); got != c.want {
			t.Errorf("%s %s admitted=%v key=%v: %d, want %d", c.method, c.path, c.admitted, c.key != "", got, c.want)
		}
	}

	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(f.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no form token on the login page")
	}
	resp, err = cl.PostForm(f.srv.URL+"/login", url.Values{"key": {f.keys["admin"]}, "csrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with a key when the gateway authenticates: %d, want 401", resp.StatusCode)
	}
}
