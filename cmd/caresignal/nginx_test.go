package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caresignal/caresignal/wire"
)

// The shipped deployment files the tests run.
const (
	nginxSiteFile = "../../deploy/nginx/caresignal.conf"
	envFile       = "../../deploy/systemd/caresignal.env.example"
)

// TestNginxInFront runs Debian's nginx with the shipped site
// (deploy/nginx/caresignal.conf, its ports, paths and certificate
// substituted) in front of a real server process started with the shipped
// settings file (deploy/systemd/caresignal.env.example): production mode,
// nginx as the trusted proxy. Through nginx over HTTPS: a prediction, the
// security headers once each, the health probe, the redirect from plain
// HTTP, and the size limits of both layers. Directly, from 127.0.0.2: the
// server's refusal of a peer that is not its proxy.
func TestNginxInFront(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary and nginx")
	}
	nginx := findNginx(t)
	dir := t.TempDir()
	pipeline(t, dir, "")
	mustRun(t, "keys", "create", "--data-dir", dir, "--name", "ops", "--role", "admin")
	predict := strings.TrimSpace(mustRun(t, "keys", "create", "--data-dir", dir, "--name", "app", "--role", "predict"))

	// The server, configured by the shipped settings file; only the
	// database (the embedded one in dir), the folders and the port change.
	settings := readEnvFile(t, envFile)
	site, err := os.ReadFile(nginxSiteFile)
	if err != nil {
		t.Fatal(err)
	}
	if want := "server " + settings["CARESIGNAL_ADDR"] + ";"; !strings.Contains(string(site), want) {
		t.Fatalf("%s does not pass requests to CARESIGNAL_ADDR of %s (%q)", nginxSiteFile, envFile, want)
	}
	if settings["CARESIGNAL_MODE"] != "prod" || settings["CARESIGNAL_TRUSTED_PROXY"] != "127.0.0.1" {
		t.Fatalf("%s: want CARESIGNAL_MODE=prod and CARESIGNAL_TRUSTED_PROXY=127.0.0.1 (nginx on the same host), got %q and %q",
			envFile, settings["CARESIGNAL_MODE"], settings["CARESIGNAL_TRUSTED_PROXY"])
	}
	settings["CARESIGNAL_DB"] = ""
	settings["CARESIGNAL_DATA_DIR"] = dir
	settings["CARESIGNAL_SPILL_DIR"] = filepath.Join(dir, "spill")
	for k, v := range settings {
		t.Setenv(k, v)
	}
	// Registered before serverProcess's own cleanup, so run after it: the
	// server has exited, and its stderr is complete.
	var serverErr *bytes.Buffer
	var nginxErr *syncBuffer
	t.Cleanup(func() {
		if t.Failed() && serverErr != nil && nginxErr != nil {
			t.Logf("nginx stderr:\n%s\nserver stderr (the last 2000 bytes):\n%s", nginxErr.String(), tail(serverErr.String(), 2000))
		}
	})
	_, upstream, _, serverErr := serverProcess(t, dir) // --addr: a free loopback port

	// nginx, in the foreground, everything under tmp.
	tmp := t.TempDir()
	ca, certFile, keyFile := selfSigned(t, tmp)
	httpsPort, httpPort := freePort(t), freePort(t)
	conf := nginxConf(t, tmp, string(site), map[string]string{
		"listen 443 ssl;":                 fmt.Sprintf("listen 127.0.0.1:%d ssl;", httpsPort),
		"listen [::]:443 ssl;":            "",
		"listen 80;":                      fmt.Sprintf("listen 127.0.0.1:%d;", httpPort),
		"listen [::]:80;":                 "",
		"/etc/ssl/certs/caresignal.crt":   certFile,
		"/etc/ssl/private/caresignal.key": keyFile,
		"server 127.0.0.1:8080;":          "server " + upstream + ";",
	})
	nginxErr = startNginx(t, nginx, tmp, conf)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	client := &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	base := fmt.Sprintf("https://127.0.0.1:%d/", httpsPort)
	waitNginx(t, client, base+"healthz", nginxErr)

	type answer struct {
		status int
		header http.Header
		body   string
	}
	do := func(c *http.Client, method, url, key, contentType, body string) answer {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: reading the answer: %v", method, url, err)
		}
		return answer{resp.StatusCode, resp.Header, string(b)}
	}
	const jsonType = "application/json"

	// A prediction through nginx, with the server's security headers, once
	// each (nginx adds none), and nginx's version hidden.
	a := do(client, "POST", base+"api/engagement", predict, jsonType, request)
	if a.status != 200 || !strings.Contains(a.body, `"expected_months"`) {
		t.Fatalf("prediction through nginx: %d %s", a.status, a.body)
	}
	page := do(client, "GET", base+"login", "", "", "")
	if page.status != 200 {
		t.Errorf("GET /login through nginx: %d", page.status)
	}
	for what, h := range map[string]http.Header{"prediction": a.header, "login page": page.header} {
		for name, want := range map[string]string{
			"Content-Security-Policy":   contentSecurityPolicyPrefix,
			"Strict-Transport-Security": "max-age=31536000",
			"X-Content-Type-Options":    "nosniff",
			"Referrer-Policy":           "same-origin",
			"Cache-Control":             "no-store",
		} {
			if got := h.Values(name); len(got) != 1 || !strings.HasPrefix(got[0], want) {
				t.Errorf("%s through nginx: %s = %q, want one value starting %q", what, name, got, want)
			}
		}
		if s := h.Get("Server"); s != "nginx" {
			t.Errorf("%s through nginx: Server %q, want nginx without its version", what, s)
		}
	}
	if a := do(client, "POST", base+"api/engagement", "", jsonType, request); a.status != 401 {
		t.Errorf("prediction through nginx without a key: %d, want 401", a.status)
	}

	// Plain HTTP is only a redirect to HTTPS.
	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: client.CheckRedirect}
	if a := do(plain, "GET", fmt.Sprintf("http://127.0.0.1:%d/api/model?x=1", httpPort), "", "", ""); a.status != 301 || a.header.Get("Location") != "https://127.0.0.1/api/model?x=1" {
		t.Errorf("plain HTTP: %d Location %q, want 301 to https://127.0.0.1/api/model?x=1", a.status, a.header.Get("Location"))
	}

	// Size limits. nginx's client_max_body_size is the server's own limit:
	// a body of exactly that size passes both layers, one byte more is
	// refused by nginx before the server sees it.
	full := request + strings.Repeat(" ", wire.MaxBodyBytes-len(request))
	if a := do(client, "POST", base+"api/engagement", predict, jsonType, full); a.status != 200 {
		t.Errorf("a body of exactly %d bytes through nginx: %d %.200s", wire.MaxBodyBytes, a.status, a.body)
	}
	over := full + " "
	if a := do(client, "POST", base+"api/engagement", predict, jsonType, over); a.status != 413 || !strings.Contains(a.body, "<center>nginx</center>") {
		t.Errorf("a body of %d bytes through nginx: %d %.200s, want nginx's 413", len(over), a.status, a.body)
	}
	// The server holds the same limit itself, should nginx's be raised:
	// sent directly from the proxy's address, the same body gets the
	// server's own 413.
	if a := do(plain, "POST", "http://"+upstream+"/api/engagement", predict, jsonType, over); a.status != 413 || !strings.Contains(a.body, fmt.Sprintf(`"request body exceeds %d bytes"`, wire.MaxBodyBytes)) {
		t.Errorf("a body of %d bytes sent to the server directly: %d %.200s, want its 413", len(over), a.status, a.body)
	}
	// The server's smaller limits (a login form: 8 KiB) hold behind nginx.
	form := "key=" + strings.Repeat("x", 16<<10)
	if a := do(client, "POST", base+"login", "", "application/x-www-form-urlencoded", form); a.status != 400 || !strings.Contains(a.body, "The form could not be read.") {
		t.Errorf("a 16 KiB login form through nginx: %d %.200s, want the server's 400", a.status, a.body)
	}

	// nginx tells the server who the client is (X-Forwarded-For): failed
	// logins are slowed per client, so after ten from 127.0.0.1 the next
	// is refused (429), while a client connecting to nginx from 127.0.0.2
	// is not, even claiming to be 127.0.0.1 in its own X-Forwarded-For.
	// Were the header missing, the server would count every client as
	// nginx's own address.
	viaOther := &http.Client{Timeout: 30 * time.Second, CheckRedirect: client.CheckRedirect, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext:     (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext,
	}}
	// (One failure returns to a client every 6 s: on a slow machine the
	// 429 may come a little after the eleventh attempt.)
	for i := 1; ; i++ {
		got := failLogin(t, client, base, nil)
		if got == 429 && i > 10 {
			break
		}
		if got != 401 || i == 20 {
			t.Fatalf("failed login %d through nginx from 127.0.0.1: %d, want 401 for the first ten, then 429", i, got)
		}
	}
	if got := failLogin(t, viaOther, base, http.Header{"X-Forwarded-For": {"127.0.0.1"}}); got != 401 {
		t.Errorf("failed login through nginx from 127.0.0.2, after ten from 127.0.0.1: %d, want 401 (not slowed)", got)
	}

	// A client that is not the proxy: from 127.0.0.2 the server answers
	// its health probe, and refuses everything else.
	other := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext,
	}}
	if a := do(other, "GET", "http://"+upstream+"/healthz", "", "", ""); a.status != 200 {
		t.Errorf("health probe from 127.0.0.2: %d", a.status)
	}
	if a := do(other, "POST", "http://"+upstream+"/api/engagement", predict, jsonType, request); a.status != 403 || !strings.Contains(a.body, "connect through the proxy this server trusts") {
		t.Errorf("prediction from 127.0.0.2, not the proxy: %d %s, want 403", a.status, a.body)
	}
	if a := do(other, "GET", "http://"+upstream+"/login", "", "", ""); a.status != 403 {
		t.Errorf("login page from 127.0.0.2, not the proxy: %d, want 403", a.status)
	}
}

// contentSecurityPolicyPrefix is the start of the server's policy.
const contentSecurityPolicyPrefix = "default-src 'none';"

// findNginx returns nginx's path. Without it the test is skipped, but
// fails in CI (CI set), where .ci/run installs it.
func findNginx(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("nginx")
	if err != nil {
		// Debian installs it in /usr/sbin, which a user's PATH may lack.
		if fi, serr := os.Stat("/usr/sbin/nginx"); serr == nil && fi.Mode()&0o111 != 0 {
			return "/usr/sbin/nginx"
		}
		if os.Getenv("CI") != "" {
			t.Fatal("nginx is not installed, and CI is set: .ci/run installs it (apt-get install nginx)")
		}
		t.Skip("nginx is not installed (apt-get install nginx); CI runs this test")
	}
	return path
}

// readEnvFile reads a systemd EnvironmentFile of KEY=value lines.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			t.Fatalf("%s:%d: not KEY=value: %q", path, n, line)
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// into dir, and returns the certificate for clients to trust.
func selfSigned(t *testing.T, dir string) (cert *x509.Certificate, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "caresignal test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, certFile, keyFile
}

// freePort is a loopback port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// nginxConf writes the site, with each of subst's strings (every one of
// which must occur in it, so that the test follows the shipped file)
// replaced, inside a main configuration whose every path is under tmp.
// It returns the main configuration's path.
func nginxConf(t *testing.T, tmp, site string, subst map[string]string) string {
	t.Helper()
	for old, repl := range subst {
		if !strings.Contains(site, old) {
			t.Fatalf("%s no longer contains %q: update the test's substitutions", nginxSiteFile, old)
		}
		site = strings.ReplaceAll(site, old, repl)
	}
	siteFile := filepath.Join(tmp, "site.conf")
	if err := os.WriteFile(siteFile, []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if os.Geteuid() == 0 {
		// Workers run as nobody by default, who may not enter the test's
		// private temporary folders.
		b.WriteString("user root root;\n")
	}
	fmt.Fprintf(&b, "worker_processes 1;\nevents { worker_connections 64; }\nhttp {\n    access_log %s;\n", filepath.Join(tmp, "access.log"))
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "    %s_temp_path %s;\n", d, filepath.Join(tmp, d))
	}
	fmt.Fprintf(&b, "    include %s;\n}\n", siteFile)
	conf := filepath.Join(tmp, "nginx.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

// startNginx checks the configuration (nginx -t), then starts nginx in
// the foreground in its own process group, stopped when the test ends.
func startNginx(t *testing.T, nginx, tmp, conf string) *syncBuffer {
	t.Helper()
	args := []string{"-p", tmp, "-c", conf, "-e", "stderr", "-g", fmt.Sprintf("daemon off; pid %s;", filepath.Join(tmp, "nginx.pid"))}
	if out, err := exec.Command(nginx, append([]string{"-t"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	var stderr syncBuffer
	cmd := exec.Command(nginx, args...)
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// SIGTERM: the master stops its workers and exits. Should it not,
		// its process group (the master and its workers) is killed.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	return &stderr
}

// waitNginx waits up to 10 s for url to answer 200 through nginx.
func waitNginx(t *testing.T, client *http.Client, url string, stderr *syncBuffer) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := client.Get(url)
		if err != nil {
			last = err.Error()
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			return
		}
		last = resp.Status
	}
	t.Fatalf("nginx did not answer 200 on %s within 10 s (last: %s); its stderr:\n%s", url, last, stderr.String())
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// loginToken finds the login form's double-submit token.
var loginToken = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// failLogin fetches the login form through c and posts it with a key that
// is not valid, with extra headers; it returns the answer's status.
func failLogin(t *testing.T, c *http.Client, base string, extra http.Header) int {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	withJar := *c
	withJar.Jar = jar
	resp, err := withJar.Get(base + "login")
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := loginToken.FindSubmatch(page)
	if err != nil || m == nil {
		t.Fatalf("GET /login: %v, no form token in:\n%.500s", err, page)
	}
	form := url.Values{"csrf": {string(m[1])}, "key": {"not-a-key"}, "next": {"/"}}
	req, err := http.NewRequest("POST", base+"login", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = extra.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err = withJar.Do(req); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
