package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// inlineCode finds what a Content-Security-Policy without 'unsafe-inline'
// blocks: <script> and <style> elements and style attributes (event
// handler attributes such as onclick= are inline script too).
var inlineCode = regexp.MustCompile(`(?i)<script|<style|\sstyle\s*=|\son[a-z]+\s*=`)

// TestSecurityHeaders: every page of the web app, on every route of the
// table a browser can GET without parameters, answers with the browser
// security headers, a policy that allows no inline script or style and
// no inline code to need it, and no-store (pages show patients).
func TestSecurityHeaders(t *testing.T) {
	srv, _ := testServer(t)
	s := &server{metrics: newMetrics(nil)}
	type request struct {
		method, path string
		page         bool
	}
	var requests []request
	for _, r := range s.routeTable() {
		method, path, _ := strings.Cut(r.pattern, " ")
		if strings.Contains(strings.TrimSuffix(path, "{$}"), "{") || method != http.MethodGet {
			continue
		}
		requests = append(requests, request{method, strings.TrimSuffix(path, "{$}"), r.kind == pageRoute})
	}
	requests = append(requests, request{http.MethodPost, "/", true}) // the what-if form's answer, with its charts
	if len(requests) < 10 {
		t.Fatalf("only %d routes to check", len(requests))
	}
	var stylesheets []string
	for _, rq := range requests {
		var resp *http.Response
		var err error
		if rq.method == http.MethodPost {
			resp, err = http.PostForm(srv.URL+rq.path, whatIfForm())
		} else {
			resp, err = http.Get(srv.URL + rq.path)
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		name := rq.method + " " + rq.path
		h := resp.Header
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", name, got)
		}
		if got := h.Get("Referrer-Policy"); got != "same-origin" {
			t.Errorf("%s: Referrer-Policy %q", name, got)
		}
		if got := h.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("%s: HSTS %q over plain HTTP", name, got)
		}
		if got := h.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", name, got)
		}
		csp := h.Get("Content-Security-Policy")
		if csp == "" {
			t.Errorf("%s: no Content-Security-Policy", name)
			continue
		}
		if rq.path == "/monitoring/report" {
			continue // the stored report's own page: its own policy (TestMonitoringReportPolicy)
		}
		if strings.Contains(csp, "unsafe-") || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", name, csp)
		}
		if !rq.page {
			continue
		}
		if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("%s: Content-Type %q", name, h.Get("Content-Type"))
		}
		if m := inlineCode.FindAllString(string(b), -1); m != nil {
			t.Errorf("%s: inline code the policy blocks: %q", name, m)
		}
		for _, m := range regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)"`).FindAllStringSubmatch(string(b), -1) {
			stylesheets = append(stylesheets, m[1])
		}
		if !strings.Contains(csp, "style-src 'self'") {
			t.Errorf("%s: the policy does not allow the style sheet: %q", name, csp)
		}
	}
	if len(stylesheets) == 0 {
		t.Fatal("no page links a style sheet")
	}
	for _, href := range stylesheets {
		if !strings.HasPrefix(href, "/static/") {
			t.Errorf("style sheet %q is not served by the app", href)
			continue
		}
		resp, err := http.Get(srv.URL + href)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(string(b), ".card") {
			t.Errorf("GET %s: %d %q", href, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: Cache-Control %q", href, cc)
		}
	}
	resp, err := http.Get(srv.URL + "/static/nothing.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown static file: %d", resp.StatusCode)
	}
}

// TestMonitoringFramesItsReport: /monitoring embeds /monitoring/report,
// so the page's policy allows a frame from its own origin.
func TestMonitoringFramesItsReport(t *testing.T) {
	srv, _ := testServer(t)
	resp, err := http.Get(srv.URL + "/monitoring")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src 'self'") {
		t.Errorf("/monitoring: Content-Security-Policy %q", csp)
	}
}

// TestHSTS: Strict-Transport-Security when the server is reached over
// HTTPS: its own TLS, or a production server (which runs behind TLS,
// its own or a trusted proxy's).
func TestHSTS(t *testing.T) {
	srv, _ := testServer(t)
	tlsSrv := httptestTLS(t, srv.Config.Handler)
	resp, err := tlsSrv.Client().Get(tlsSrv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("over TLS: HSTS %q", got)
	}
	f := newProdFixture(t, func(a *Access) { a.SecureCookies = true })
	resp, _ = f.do(t, http.MethodGet, "/healthz", "", "")
	if got := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("behind a TLS proxy: HSTS %q", got)
	}
}

func httptestTLS(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// staticPathOf is the path pages link the static file name by.
func staticPathOf(t *testing.T, name string) string {
	t.Helper()
	p, err := staticPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
