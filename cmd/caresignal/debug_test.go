package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
)

// TestDebugAddr: the profiling endpoints are served only on a loopback
// address, beside the API (not on it), without the command line, and
// stop with the server.
func TestDebugAddr(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", "10.1.2.3:6060", ":6060", "example.org:6060", "6060"} {
		_, _, err := runCmd(t, "", "serve", "--debug-addr", addr, "--data-dir", t.TempDir())
		if caresignal.ErrorField(err) != "debug-addr" {
			t.Errorf("--debug-addr %s: %v", addr, err)
		}
	}

	dir := t.TempDir()
	pipeline(t, dir, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sout, serr syncBuffer
	done := make(chan error, 1)
	args := []string{"serve", "--data-dir", dir, "--addr", "127.0.0.1:0", "--debug-addr", "127.0.0.1:0"}
	go func() { done <- run(ctx, args, noEnv, strings.NewReader(""), &sout, &serr) }()
	base := waitURL(t, &sout, done)
	m := regexp.MustCompile(`profiling: (http://\S+/debug/pprof/)`).FindStringSubmatch(sout.String())
	if m == nil {
		t.Fatalf("serve did not print the profiling address:\n%s", sout.String())
	}
	debug := m[1]
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(debug + "heap?debug=1"); code != 200 || !strings.Contains(body, "heap profile") {
		t.Errorf("heap profile: %d %.200s", code, body)
	}
	if code, body := get(debug + "goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Errorf("goroutine profile: %d %.200s", code, body)
	}
	if code, body := get(debug + "cmdline"); code != 404 || strings.Contains(body, dir) {
		t.Errorf("cmdline: %d %.200s", code, body)
	}
	if code, _ := get(base + "debug/pprof/"); code != 404 {
		t.Errorf("the API's own address serves profiles: %d", code)
	}
	cancel()
	waitStopped(t, done, "serve")
	if _, err := http.Get(debug); err == nil {
		t.Error("the profiling address still answers after the server stopped")
	}
}
