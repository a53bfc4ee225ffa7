package main

import (
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
)

// TestTrustedProxyRanges: a trusted proxy is one address, anywhere, or a
// range of private addresses; a range reaching public addresses would let
// anyone there pose as the proxy, and is refused.
func TestTrustedProxyRanges(t *testing.T) {
	for _, c := range []struct {
		proxies string
		ok      bool
	}{
		{"127.0.0.1", true},
		{"203.0.113.7", true}, // the proxy's own public address
		{"2001:db8::7", true},
		{"10.0.0.0/8, 192.168.1.0/24", true},
		{"172.16.0.0/12", true},
		{"fd12:3456::/48", true},
		{"100.64.0.0/10", true},
		{"0.0.0.0/0", false},
		{"::/0", false},
		{"0.0.0.0/1,128.0.0.0/1", false},
		{"10.0.0.0/7", false}, // 10/8 and 11/8, which is public
		{"172.16.0.0/11", false},
		{"203.0.113.0/24", false},
		{"10.0.0.1, 8.0.0.0/8", false},
		{"2000::/3", false},
	} {
		s := serveFlags{mode: "prod", logFormat: "json", proxies: c.proxies, registryPoll: 1e9, keyRefresh: 1e9}
		err := s.validate()
		if c.ok && err != nil {
			t.Errorf("--trusted-proxy %s refused: %v", c.proxies, err)
		}
		if !c.ok && caresignal.ErrorField(err) != "trusted-proxy" {
			t.Errorf("--trusted-proxy %s: %v, want a refusal naming trusted-proxy", c.proxies, err)
		}
	}
}

// TestDevModeExposure: development mode taken by default on an address
// other hosts can reach is refused when TLS files are given or API keys
// exist; on loopback, or chosen explicitly, it starts.
func TestDevModeExposure(t *testing.T) {
	for _, c := range []struct {
		addr    string
		tls     bool
		keys    int
		chosen  bool
		refused bool
	}{
		{"0.0.0.0:8080", false, 0, false, false},
		{"0.0.0.0:8080", false, 2, false, true},
		{":8080", true, 0, false, true},
		{"10.1.2.3:8080", false, 1, false, true},
		{"example.org:8080", false, 1, false, true},
		{"0.0.0.0:8080", true, 3, true, false},
		{"127.0.0.1:8080", true, 3, false, false},
		{"localhost:8080", false, 3, false, false},
		{"[::1]:8080", false, 3, false, false},
	} {
		s := serveFlags{mode: "dev", addr: c.addr, modeChosen: c.chosen}
		if c.tls {
			s.tlsCert, s.tlsKey = "c.pem", "k.pem"
		}
		err := s.checkDevExposure(c.keys)
		if got := err != nil; got != c.refused {
			t.Errorf("%+v: %v", c, err)
		}
		if err != nil && (caresignal.ErrorField(err) != "mode" || !strings.Contains(err.Error(), "--mode prod")) {
			t.Errorf("%+v: the refusal does not say what to do: %v", c, err)
		}
	}
	if err := (&serveFlags{mode: "prod", addr: "0.0.0.0:8080", tlsCert: "c"}).checkDevExposure(5); err != nil {
		t.Errorf("prod mode: %v", err)
	}
}

// TestPlatformTLSFlag: --tls-terminated-by-platform satisfies prod mode's
// need for TLS, and its environment variable must be a boolean.
func TestPlatformTLSFlag(t *testing.T) {
	s := serveFlags{mode: "prod", logFormat: "json", registryPoll: 1e9, keyRefresh: 1e9}
	if err := s.validate(); caresignal.ErrorField(err) != "mode" {
		t.Errorf("prod without TLS: %v", err)
	}
	s.platformTLS = true
	if err := s.validate(); err != nil {
		t.Errorf("prod with TLS at the platform: %v", err)
	}
	e := &env{getenv: func(string) string { return "yes please" }}
	s.envBool(e, "CARESIGNAL_TLS_TERMINATED_BY_PLATFORM", "tls-terminated-by-platform")
	if err := s.validate(); caresignal.ErrorField(err) != "tls-terminated-by-platform" {
		t.Errorf("a bad environment value: %v", err)
	}
}

// TestDurableLogFlag: --durable-log needs the prediction log, and its
// environment variable must be a boolean.
func TestDurableLogFlag(t *testing.T) {
	s := serveFlags{mode: "dev", logFormat: "json", registryPoll: 1e9, keyRefresh: 1e9, predLog: true, durableLog: true}
	if err := s.validate(); err != nil {
		t.Errorf("durable: %v", err)
	}
	s.predLog = false
	if err := s.validate(); caresignal.ErrorField(err) != "durable-log" {
		t.Errorf("durable without the log: %v", err)
	}
	s = serveFlags{mode: "dev", logFormat: "json", registryPoll: 1e9, keyRefresh: 1e9, predLog: true}
	if s.envBool(&env{getenv: func(string) string { return "1" }}, "CARESIGNAL_DURABLE_LOG", "durable-log") != true {
		t.Error("CARESIGNAL_DURABLE_LOG=1 is not true")
	}
	s.envBool(&env{getenv: func(string) string { return "sometimes" }}, "CARESIGNAL_DURABLE_LOG", "durable-log")
	if err := s.validate(); caresignal.ErrorField(err) != "durable-log" || !strings.Contains(err.Error(), "CARESIGNAL_DURABLE_LOG") {
		t.Errorf("a bad environment value: %v", err)
	}
}
