package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestLoginRedirectStaysOnSite sends the login form known open-redirect
// bypasses as its next page: each must come back as /, and same-site
// paths must be kept.
func TestLoginRedirectStaysOnSite(t *testing.T) {
	srv, _ := testServer(t)
	for _, tc := range []struct{ next, want string }{
		// Refused: each becomes /.
		{"//evil.example/x", "/"},
		{"///evil.example/x", "/"},
		{"/\\evil.example/x", "/"},
		{"\\/evil.example/x", "/"},
		{"\\\\evil.example/x", "/"},
		{"/%5Cevil.example/x", "/"},
		{"/%5cevil.example/x", "/"},
		{"/%2F/evil.example/x", "/"},
		{"/%2f%2fevil.example/x", "/"},
		{"/\t/evil.example/x", "/"},
		{"/%09/evil.example/x", "/"},
		{"/\n/evil.example/x", "/"},
		{"/\r\n/evil.example/x", "/"},
		{"/\x00/evil.example/x", "/"},
		{"/\x7f/evil.example/x", "/"},
		{"/.//evil.example/x", "/"},
		{"/./\\evil.example/x", "/"},
		{"/a//evil.example/x", "/"},
		{"https://evil.example/x", "/"},
		{"http:/evil.example/x", "/"},
		{"javascript:alert(1)", "/"},
		{" /evil.example/x", "/"},
		{"\t//evil.example/x", "/"},
		{"evil.example/x", "/"},
		{"/%", "/"},
		{"/%zz", "/"},
		{"", "/"},
		// Kept.
		{"/", "/"},
		{"/model", "/model"},
		{"/monitoring/report", "/monitoring/report"},
		{"/worklist?page=2", "/worklist?page=2"},
	} {
		if got := localPath(tc.next); got != tc.want {
			t.Errorf("localPath(%q) = %q, want %q", tc.next, got, tc.want)
		}
		form := url.Values{"next": {tc.next}}
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		srv.Config.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != tc.want {
			t.Errorf("next=%q: %d Location %q, want 303 %q", tc.next, rec.Code, rec.Header().Get("Location"), tc.want)
		}
	}
}
