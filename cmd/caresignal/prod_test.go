package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/wire"
)

// TestProductionServe: the registry and key commands, a production server
// that refuses to start without an admin key, answers 401/403/200 by
// role, and stops when an administrator asks, with the stop audited.
func TestProductionServe(t *testing.T) {
	dir := t.TempDir()
	pipeline(t, dir, "")
	// score published the version it used, as staging; publishing the
	// same artifact again keeps that record and activates it.
	out := mustRun(t, "models", "publish", "--data-dir", dir, "--activate", "--note", "first")
	if !strings.Contains(out, "(production") {
		t.Fatalf("publish: %s", out)
	}
	if out := mustRun(t, "models", "list", "--data-dir", dir); !strings.Contains(out, "production") || !strings.Contains(out, "published by caresignal score") {
		t.Errorf("models list:\n%s", out)
	}
	serveArgs := []string{"serve", "--mode", "prod", "--trusted-proxy", "127.0.0.1", "--data-dir", dir, "--addr", "127.0.0.1:0"}
	if _, _, err := runCmd(t, "", serveArgs...); err == nil || !strings.Contains(err.Error(), "keys create --role admin") {
		t.Fatalf("prod without an admin key: %v", err)
	}
	if _, _, err := runCmd(t, "", "keys", "create", "--data-dir", dir, "--name", "x", "--role", "root"); err == nil || !strings.Contains(err.Error(), "role") {
		t.Errorf("bad role: %v", err)
	}
	admin := strings.TrimSpace(mustRun(t, "keys", "create", "--data-dir", dir, "--name", "ops", "--role", "admin"))
	predict := strings.TrimSpace(mustRun(t, "keys", "create", "--data-dir", dir, "--name", "app", "--role", "predict"))
	if !regexp.MustCompile(`^cs_[0-9a-f]{12}_[0-9a-f]{64}$`).MatchString(admin) {
		t.Fatalf("key %q", admin)
	}
	if list := mustRun(t, "keys", "list", "--data-dir", dir); strings.Contains(list, admin[16:]) || !strings.Contains(list, "ops") {
		t.Errorf("keys list shows a secret or misses a key:\n%s", list)
	}
	// With keys in the database, development mode by default on an
	// address other hosts can reach is refused.
	if _, _, err := runCmd(t, "", "serve", "--data-dir", dir, "--addr", "0.0.0.0:0"); caresignal.ErrorField(err) != "mode" || !strings.Contains(err.Error(), "2 active API keys") {
		t.Errorf("dev mode by default on 0.0.0.0 with keys: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sout, serr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, serveArgs, noEnv, strings.NewReader(""), &sout, &serr) }()
	base := waitURL(t, &sout, done)
	call := func(method, path, key, body string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := call("POST", "api/engagement", "", request); c != 401 {
		t.Errorf("no key: %d", c)
	}
	if c := call("POST", "api/engagement", predict, request); c != 200 {
		t.Errorf("predict key: %d", c)
	}
	if c := call("POST", "api/admin/stop", predict, ""); c != 403 {
		t.Errorf("stop with a predict key: %d", c)
	}
	if c := call("POST", "api/admin/stop", admin, ""); c != 202 {
		t.Errorf("stop with the admin key: %d", c)
	}
	waitStopped(t, done, "serve, stopped by an administrator,")
	if strings.Contains(serr.String(), "P000123") || strings.Contains(serr.String(), admin[16:]) {
		t.Error("a patient id or a key secret reached the log")
	}
	audit := mustRun(t, "audit", "--data-dir", dir)
	for _, want := range []string{"ops    server.stop", "app    access", "cli    key.create", "cli    model.activate"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %q:\n%s", want, audit)
		}
	}
}

func waitURL(t *testing.T, out *syncBuffer, done chan error) string {
	t.Helper()
	urlRE := regexp.MustCompile(`web app:\s+(https?://\S+/)`)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		select {
		case err := <-done:
			t.Fatalf("serve stopped early: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if m := urlRE.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("serve printed no URL:\n%s", out.String())
	return ""
}

// TestSIGTERMUnderLoad: a real server process gets SIGTERM while 16
// clients post without pause. Every request it accepted is answered in
// full with 200; the only errors clients see are refused connections
// after it stopped listening.
func TestSIGTERMUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	pipeline(t, dir, "")
	bin := filepath.Join(dir, "caresignal")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "serve", "--data-dir", dir, "--addr", addr)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitHealthy(t, "http://"+addr+"/")

	var answered, refused, failed atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	stop := make(chan struct{})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", "http://"+addr+"/api/engagement", strings.NewReader(request))
				// Marks the POST safe to retry on a connection the server
				// closed before reading it, as a load balancer would.
				req.Header.Set("Idempotency-Key", "load")
				resp, err := client.Do(req)
				if err != nil {
					if errors.Is(err, syscall.ECONNREFUSED) {
						refused.Add(1)
						continue
					}
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
					continue
				}
				body, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				if rerr != nil || resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"expected_months"`)) {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, resp.Status)
					continue
				}
				answered.Add(1)
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	before := answered.Load()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	close(stop)
	wg.Wait()
	if werr != nil {
		t.Errorf("server exit: %v\n%s", werr, stderr.String())
	}
	if failed.Load() != 0 {
		t.Errorf("%d requests failed (first: %v)", failed.Load(), firstFailure.Load())
	}
	if before == 0 || !strings.Contains(stdout.String(), "stopped") {
		t.Errorf("answered %d before SIGTERM; stdout:\n%s", before, stdout.String())
	}
	// The prediction log was flushed on the way out: one record per answer.
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	groups, err := store.SummarisePredictions(context.Background(), caresignal.PredictionFilter{})
	n := 0
	for _, g := range groups {
		if g.Route != wire.ScoreRoute { // the pipeline's batch scores
			n += g.Records
		}
	}
	if err != nil || int64(n) != answered.Load() {
		t.Errorf("prediction log holds %d served records for %d answers (%v)", n, answered.Load(), err)
	}
	t.Logf("%d answered (%d before SIGTERM) and logged, %d refused after the listener closed", answered.Load(), before, refused.Load())
	_ = os.Remove(bin)
}
