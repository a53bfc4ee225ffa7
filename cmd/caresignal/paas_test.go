package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/postgres/pgtest"
)

// procfile reads the repository's Procfile: process type → command line.
func procfile(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "Procfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	procs := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, cmd, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("Procfile: %q is not <process type>: <command>", line)
		}
		procs[strings.TrimSpace(name)] = strings.TrimSpace(cmd)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return procs
}

// procCommand checks that a Procfile command line runs the caresignal
// binary with one of its commands, and returns that command's name.
func procCommand(t *testing.T, line string) string {
	t.Helper()
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "caresignal" {
		t.Fatalf("Procfile command %q does not start with caresignal <command>", line)
	}
	return f[1]
}

func knownCommand(name string) bool {
	for _, c := range commands() {
		if c.name == name {
			return true
		}
	}
	return false
}

// envOf returns a getenv that knows only vars.
func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestPaaS starts the real binary as a platform such as Heroku does: the
// Procfile's web line run by a shell in an empty folder, with nothing in
// the environment but PATH (holding the binary, as the Go buildpack's
// bin/ is), PORT and DATABASE_URL. The database was filled beforehand by
// the CLI, which also took the database from DATABASE_URL alone.
//
// The server listens on every interface at PORT, as on a dyno, for the
// few seconds of the test, on a port just found free; the test connects
// through loopback.
func TestPaaS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dsn := pgtest.Schema(t)
	procs := procfile(t)
	if procCommand(t, procs["web"]) != "serve" {
		t.Fatalf("the Procfile's web process is %q, not caresignal serve", procs["web"])
	}

	// The one-off commands an operator runs (heroku run ...): only
	// DATABASE_URL says where the database is.
	dir := t.TempDir()
	cli := func(args ...string) string {
		t.Helper()
		var out, errOut syncBuffer
		getenv := envOf(map[string]string{"DATABASE_URL": dsn, "CARESIGNAL_DATA_DIR": dir})
		if err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errOut); err != nil {
			t.Fatalf("caresignal %s: %v\n%s\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
		}
		return out.String()
	}
	cli("generate", "--patients", "1200", "--seed", "3")
	if out := cli("etl", "--as-of", "2026-11-01"); !strings.Contains(out, "person_period has") {
		t.Fatalf("etl: %s", out)
	}
	cli("train")
	// A dyno's files are gone when it stops: the web process finds the
	// model in the database's registry, not in a file.
	cli("models", "publish", "--activate")
	cli("keys", "create", "--name", "ops", "--role", "admin")
	predict := strings.TrimSpace(cli("keys", "create", "--name", "app", "--role", "predict"))
	if sqlite := filepath.Join(dir, dbFileName); fileExists(sqlite) {
		t.Fatalf("the commands wrote %s instead of using DATABASE_URL", sqlite)
	}

	bin := filepath.Join(t.TempDir(), "bin")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "caresignal"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	// exec, so that SIGTERM reaches the server as the platform's does.
	web := exec.Command("/bin/sh", "-c", "exec "+procs["web"])
	web.Dir = t.TempDir()
	web.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "PORT=" + port, "DATABASE_URL=" + dsn}
	var stdout, stderr syncBuffer
	web.Stdout, web.Stderr = &stdout, &stderr
	if err := web.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed when the process has ended, with its error in waitErr.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = web.Wait(); close(exited) }()
	t.Cleanup(func() {
		web.Process.Kill()
		<-exited
	})
	base := "http://127.0.0.1:" + port + "/"
	healthy := false
	for deadline := time.Now().Add(30 * time.Second); !healthy && time.Now().Before(deadline); {
		select {
		case <-exited:
			t.Fatalf("the web process stopped: %v\n%s\n%s", waitErr, stdout.String(), stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(base + "healthz") // no X-Forwarded-Proto: the router's probes do not send it
		if err == nil {
			resp.Body.Close()
			healthy = resp.StatusCode == 200
		}
	}
	if !healthy {
		t.Fatalf("the web process never answered /healthz on PORT %s\n%s\n%s", port, stdout.String(), stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "production mode") || !strings.Contains(out, "from the model registry") {
		t.Errorf("the web process does not serve the registry's model in production mode:\n%s", out)
	}

	post := func(proto string) (int, string) {
		req, _ := http.NewRequest("POST", base+"api/engagement", strings.NewReader(request))
		req.Header.Set("Authorization", "Bearer "+predict)
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := post("https"); code != 200 || !strings.Contains(body, `"expected_months"`) {
		t.Errorf("a prediction the router received over HTTPS: %d %s", code, body)
	}
	for _, proto := range []string{"", "http"} {
		if code, body := post(proto); code != 403 || !strings.Contains(body, "X-Forwarded-Proto: https") {
			t.Errorf("a prediction with X-Forwarded-Proto %q: %d %s, want 403 naming the header", proto, code, body)
		}
	}

	// The platform stops a dyno with SIGTERM.
	if err := web.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil || !strings.Contains(stdout.String(), "stopped") {
			t.Errorf("after SIGTERM: %v\n%s\n%s", waitErr, stdout.String(), stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Error("the web process did not stop within 30 s of SIGTERM")
	}
	if strings.Contains(stdout.String()+stderr.String(), predict[16:]) {
		t.Error("a key's secret reached the output")
	}

	// Heroku's DATABASE_URL has no sslmode: the driver's default must try
	// TLS first. The test server's own URL says sslmode=disable; without it,
	// a server that offers TLS must be reached over TLS.
	t.Run("TLS without sslmode", func(t *testing.T) {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Del("sslmode")
		u.RawQuery = q.Encode()
		d := dataFlags{db: u.String(), databaseURL: u.String()}
		store, _, err := d.open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		db := store.(interface{ DB() *sql.DB }).DB()
		var offered string
		if err := db.QueryRow("SHOW ssl").Scan(&offered); err != nil {
			t.Fatal(err)
		}
		if offered != "on" {
			t.Skip("the test server offers no TLS")
		}
		var ssl bool
		if err := db.QueryRow("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
			t.Errorf("a DATABASE_URL without sslmode reached a server offering TLS in clear text (%v)", err)
		}
	})

	t.Run("scheduled command", func(t *testing.T) {
		line, ok := procs["run"]
		if !ok {
			t.Fatal("the Procfile has no run process for the scheduler")
		}
		name := procCommand(t, line)
		if !knownCommand(name) {
			t.Skipf("the Procfile's run process calls caresignal %s, which this build does not have yet: not run", name)
		}
		sched := exec.Command("/bin/sh", "-c", "exec "+line)
		sched.Dir = t.TempDir()
		sched.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "DATABASE_URL=" + dsn}
		if out, err := sched.CombinedOutput(); err != nil {
			t.Errorf("the Procfile's run process (%s): %v\n%s", line, err, out)
		}
	})
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestPortAndDatabaseURL: PORT gives serve's address unless --addr or
// CARESIGNAL_ADDR does, must be a port number, and needs a mode chosen;
// DATABASE_URL gives every command's database unless --db or
// CARESIGNAL_DB does, must be a PostgreSQL URL, and -h shows no password.
func TestPortAndDatabaseURL(t *testing.T) {
	dir := t.TempDir()
	serve := func(vars map[string]string, args ...string) (string, error) {
		vars["CARESIGNAL_DATA_DIR"] = dir
		var out, errOut syncBuffer
		err := run(context.Background(), append([]string{"serve"}, args...), envOf(vars), strings.NewReader(""), &out, &errOut)
		return errOut.String(), err
	}
	for _, c := range []struct {
		vars  map[string]string
		args  []string
		field string // the refusal's field; "" for one that is not about PORT
	}{
		{map[string]string{"PORT": "80a"}, []string{"--mode", "prod", "--tls-terminated-by-platform"}, "port"},
		{map[string]string{"PORT": "0"}, []string{"--mode", "prod", "--tls-terminated-by-platform"}, "port"},
		{map[string]string{"PORT": "65536"}, []string{"--mode", "prod", "--tls-terminated-by-platform"}, "port"},
		{map[string]string{"PORT": "+80"}, []string{"--mode", "prod", "--tls-terminated-by-platform"}, "port"},
		{map[string]string{"PORT": "5000"}, nil, "mode"},
		// --addr or CARESIGNAL_ADDR wins, so a bad PORT does not matter and
		// development mode by default is today's rule again; the server
		// then stops for want of a model.
		{map[string]string{"PORT": "x"}, []string{"--addr", "127.0.0.1:0"}, ""},
		{map[string]string{"PORT": "x", "CARESIGNAL_ADDR": "127.0.0.1:0"}, nil, ""},
		// A mode chosen explicitly is respected.
		{map[string]string{"PORT": "5000"}, []string{"--mode", "dev"}, ""},
		{map[string]string{"PORT": "5000", "CARESIGNAL_MODE": "dev"}, nil, ""},
	} {
		_, err := serve(c.vars, c.args...)
		if err == nil {
			t.Errorf("%v %v: started without a model", c.vars, c.args)
			continue
		}
		if got := caresignal.ErrorField(err); got != c.field && (c.field != "" || got == "port" || got == "mode") {
			t.Errorf("%v %v: %v, want a refusal of field %q", c.vars, c.args, err, c.field)
		}
		if c.field == "mode" && !strings.Contains(err.Error(), "--mode prod --tls-terminated-by-platform") {
			t.Errorf("the refusal does not say what to do: %v", err)
		}
	}
	// With PORT, the address is every interface at that port.
	var s serveFlags
	fs := newFlagSet(&env{getenv: noEnv, stderr: io.Discard}, "serve", "", "")
	e := &env{getenv: envOf(map[string]string{"PORT": "5000"})}
	s.register(fs, e, "json")
	s.usePort(fs, e)
	if err := parse(fs, nil); err != nil || s.addr != ":5000" || s.port != "5000" {
		t.Errorf("PORT=5000: addr %q, port %q, %v", s.addr, s.port, err)
	}

	var d dataFlags
	fs = newFlagSet(&env{getenv: noEnv, stderr: io.Discard}, "etl", "", "")
	d.register(fs, &env{getenv: envOf(map[string]string{"DATABASE_URL": "postgres://u:pw@db.example.org:5432/x", "CARESIGNAL_DB": "/tmp/a.db"})})
	if parse(fs, nil); d.db != "/tmp/a.db" {
		t.Errorf("CARESIGNAL_DB does not win over DATABASE_URL: %q", d.db)
	}
	path := filepath.Join(dir, "x.db")
	for _, url := range []string{"mysql://u:s3cret@db.example.org/x", "sqlite3://" + path, path, "u:s3cret@host://x"} {
		var out, errOut syncBuffer
		err := run(context.Background(), []string{"keys", "list", "--data-dir", dir}, envOf(map[string]string{"DATABASE_URL": url}), strings.NewReader(""), &out, &errOut)
		if caresignal.ErrorField(err) != "db" || !strings.Contains(err.Error(), "DATABASE_URL must be a postgres://") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("DATABASE_URL=%s: %v", url, err)
		}
	}
	if fileExists(path) {
		t.Error("a DATABASE_URL that is a path created a SQLite file")
	}
	// --db wins over a bad DATABASE_URL.
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"keys", "list", "--db", filepath.Join(dir, "k.db")}, envOf(map[string]string{"DATABASE_URL": "mysql://x/y"}), strings.NewReader(""), &out, &errOut); err != nil {
		t.Errorf("--db with a bad DATABASE_URL: %v", err)
	}
	for _, vars := range []map[string]string{{"DATABASE_URL": "postgres://u:s3cret@db.example.org/x"}, {"CARESIGNAL_DB": "postgres://u:s3cret@db.example.org/x"}} {
		var out, errOut bytes.Buffer
		run(context.Background(), []string{"serve", "-h"}, envOf(vars), strings.NewReader(""), &out, &errOut)
		if strings.Contains(out.String()+errOut.String(), "s3cret") || !strings.Contains(errOut.String(), "DATABASE_URL") {
			t.Errorf("serve -h with %v shows the password or does not name DATABASE_URL:\n%s", vars, errOut.String())
		}
	}
}
