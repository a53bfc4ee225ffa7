package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthURL(t *testing.T) {
	for _, c := range []struct {
		addr     string
		tls      bool
		url      string
		loopback bool
	}{
		{":8080", false, "http://127.0.0.1:8080/healthz", true},
		{"0.0.0.0:8080", false, "http://127.0.0.1:8080/healthz", true},
		{"[::]:8080", false, "http://[::1]:8080/healthz", true},
		{"127.0.0.1:9000", true, "https://127.0.0.1:9000/healthz", true},
		{"localhost:8080", false, "http://localhost:8080/healthz", true},
		{"10.1.2.3:8080", true, "https://10.1.2.3:8080/healthz", false},
	} {
		url, loopback, err := healthURL(c.addr, c.tls)
		if err != nil || url != c.url || loopback != c.loopback {
			t.Errorf("healthURL(%q, %v) = %q, %v, %v; want %q, %v", c.addr, c.tls, url, loopback, err, c.url, c.loopback)
		}
	}
	for _, bad := range []string{"8080", "", "host:"} {
		if _, _, err := healthURL(bad, false); err == nil || !strings.Contains(err.Error(), "--addr") {
			t.Errorf("healthURL(%q): %v, want an error naming --addr", bad, err)
		}
	}
}

// healthcheck runs the command in-process with the given environment.
func healthcheck(vars map[string]string, args ...string) (string, error) {
	var out, errOut syncBuffer
	err := run(context.Background(), append([]string{"healthcheck"}, args...), envOf(vars), strings.NewReader(""), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestHealthcheck(t *testing.T) {
	var status = http.StatusOK
	var probed string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probed = r.Method + " " + r.URL.Path
		w.WriteHeader(status)
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)

	// Up: the address from the environment, as in the container, on every
	// interface (":port"), asked on loopback.
	if out, err := healthcheck(map[string]string{"CARESIGNAL_ADDR": ":" + port}); err != nil || probed != "GET /healthz" {
		t.Errorf("a server answering 200: %v (%s), probed %q", err, out, probed)
	}
	if _, err := healthcheck(map[string]string{"PORT": port}); err != nil {
		t.Errorf("the address from PORT: %v", err)
	}
	if _, err := healthcheck(nil, "--addr", addr); err != nil {
		t.Errorf("--addr %s: %v", addr, err)
	}

	// Up but failing its probe.
	status = http.StatusServiceUnavailable
	if _, err := healthcheck(nil, "--addr", addr); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("a server answering 503: %v, want an error naming the status", err)
	}

	// Down: nothing listens any more.
	srv.Close()
	_, err := healthcheck(nil, "--addr", addr)
	if err == nil || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "\n") {
		t.Errorf("no server: %v, want one line naming the address", err)
	}

	// A server that accepts but never answers: the timeout.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = healthcheck(nil, "--addr", ln.Addr().String(), "--timeout", "200ms")
	if err == nil || !strings.Contains(err.Error(), "within 200ms") {
		t.Errorf("a server that never answers: %v, want the timeout", err)
	}
	if _, err := healthcheck(nil, "--timeout", "0s"); err == nil || !strings.Contains(err.Error(), "--timeout") {
		t.Errorf("--timeout 0s: %v", err)
	}
}

// TestHealthcheckTLS: with CARESIGNAL_TLS_CERT set, as for serve, the probe
// goes over HTTPS; on loopback the certificate is not checked, elsewhere
// it is.
func TestHealthcheckTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	vars := map[string]string{"CARESIGNAL_TLS_CERT": "/etc/caresignal/tls.crt", "CARESIGNAL_ADDR": addr}
	if out, err := healthcheck(vars); err != nil || !strings.Contains(out, "https://") {
		t.Errorf("HTTPS on loopback: %v (%s)", err, out)
	}
	if _, err := healthcheck(nil, "--addr", addr); err == nil {
		t.Error("plain HTTP to an HTTPS server passed")
	}
	// Not on loopback (the test's own non-loopback address, if it has
	// one): the self-signed certificate must be refused.
	if ip := outboundIP(); ip != "" {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Skipf("cannot listen on %s: %v", ip, err)
		}
		other := httptest.NewUnstartedServer(srv.Config.Handler)
		other.Listener = ln
		other.StartTLS()
		defer other.Close()
		if _, err := healthcheck(map[string]string{"CARESIGNAL_TLS_CERT": "x", "CARESIGNAL_ADDR": ln.Addr().String()}); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("a self-signed certificate off loopback: %v, want it refused", err)
		}
	}
}

// outboundIP is one of the host's non-loopback IPv4 addresses, or "".
func outboundIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}
