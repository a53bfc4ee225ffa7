// Package container holds the container image's Dockerfile and the compose
// file, and checks the compose file with compose-spec's own loader: the
// one docker compose uses. It is a module of its own so that the loader's
// dependencies stay out of caresignal's; .ci/run runs it explicitly.
package container

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// required are the variables compose.yaml needs from the environment (or
// the .env file beside it): the certificate nginx presents.
var required = []string{
	"CARESIGNAL_TLS_CERT_FILE=/etc/ssl/certs/caresignal.crt",
	"CARESIGNAL_TLS_KEY_FILE=/etc/ssl/private/caresignal.key",
}

// load loads compose.yaml as docker compose would, with the given
// environment and profiles. The env files under secrets/ are made on the
// host and not in the repository, so they are not read.
func load(t *testing.T, env []string, profiles ...string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose.yaml"},
		cli.WithWorkingDirectory("."),
		cli.WithEnv(env),
		cli.WithProfiles(profiles),
		cli.WithoutEnvironmentResolution,
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func TestComposeNeedsTheCertificate(t *testing.T) {
	_, err := load(t, nil)
	if err == nil || !strings.Contains(err.Error(), "CARESIGNAL_TLS_CERT_FILE") {
		t.Fatalf("loading without the certificate's path: %v, want an error naming CARESIGNAL_TLS_CERT_FILE", err)
	}
}

func TestCompose(t *testing.T) {
	p, err := load(t, required, "scheduled")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range p.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"caresignal", "nginx", "postgres", "run"}; !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	df := readDockerfile(t)
	server, nginx, pg, sched := p.Services["caresignal"], p.Services["nginx"], p.Services["postgres"], p.Services["run"]

	// The images and commands.
	if server.Image == "" || server.Image != sched.Image {
		t.Errorf("the run service's image %q is not the server's %q", sched.Image, server.Image)
	}
	if server.Build == nil || filepath.Join(server.Build.Context, server.Build.Dockerfile) != mustAbs(t, "Dockerfile") {
		t.Errorf("the server's build does not use deploy/container/Dockerfile from the repository root: %+v", server.Build)
	}
	if !slices.Equal(server.Command, types.ShellCommand{"serve"}) || !slices.Equal(sched.Command, types.ShellCommand{"run"}) {
		t.Errorf("commands: server %q, run %q; want serve and run", server.Command, sched.Command)
	}
	if !strings.HasPrefix(nginx.Image, "nginx:") || !strings.HasPrefix(pg.Image, "postgres:16") {
		t.Errorf("images: nginx %q, postgres %q", nginx.Image, pg.Image)
	}

	// Non-root, as the image's USER; the image's own probe.
	for _, s := range []types.ServiceConfig{server, sched} {
		if s.User != df.user || strings.HasPrefix(s.User, "0") || s.User == "" {
			t.Errorf("service %s runs as %q, want the image's non-root user %q", s.Name, s.User, df.user)
		}
	}
	hc := server.HealthCheck
	if hc == nil || hc.Disable || !slices.Equal([]string(hc.Test), append([]string{"CMD"}, df.healthcheck...)) {
		t.Errorf("the server's healthcheck %+v, want CMD %q as the Dockerfile's", hc, df.healthcheck)
	}
	if d, ok := server.DependsOn["postgres"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("the server does not wait for postgres to be healthy: %+v", server.DependsOn)
	}
	if d, ok := sched.DependsOn["postgres"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("the run service does not wait for postgres to be healthy: %+v", sched.DependsOn)
	}
	if pg.HealthCheck == nil || pg.HealthCheck.Disable || len(pg.HealthCheck.Test) < 2 {
		t.Errorf("postgres has no healthcheck: %+v", pg.HealthCheck)
	}

	// The run service is started by the host's scheduler only.
	if !slices.Contains(sched.Profiles, "scheduled") {
		t.Errorf("the run service has no profile: docker compose up would start it")
	}
	plain, err := load(t, required)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plain.Services["run"]; ok {
		t.Error("the run service is started by docker compose up")
	}

	// The way in: nginx, in the server's network namespace, with the
	// shipped site unchanged; the server on loopback trusting loopback.
	if nginx.NetworkMode != "service:caresignal" {
		t.Errorf("nginx's network_mode %q, want service:caresignal", nginx.NetworkMode)
	}
	addr, proxy := env(server, "CARESIGNAL_ADDR"), env(server, "CARESIGNAL_TRUSTED_PROXY")
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" || proxy != "127.0.0.1" || env(server, "CARESIGNAL_MODE") != "prod" {
		t.Errorf("the server listens on %q trusting %q in mode %q; want 127.0.0.1:<port>, 127.0.0.1, prod", addr, proxy, env(server, "CARESIGNAL_MODE"))
	}
	site := mustAbs(t, "../nginx/caresignal.conf")
	if !mounts(nginx, site, "/etc/nginx/conf.d/default.conf") {
		t.Errorf("nginx does not mount the shipped site %s as conf.d/default.conf: %+v", site, nginx.Volumes)
	}
	conf, err := os.ReadFile(site)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\s*server 127\.0\.0\.1:` + port + `;`).Match(conf) {
		t.Errorf("the shipped nginx site's upstream is not 127.0.0.1:%s, where the server listens", port)
	}
	for _, s := range p.Services {
		for _, pt := range s.Ports {
			if s.Name != "caresignal" || (pt.Target != 80 && pt.Target != 443) {
				t.Errorf("service %s publishes port %d: only nginx's 80 and 443 may be published", s.Name, pt.Target)
			}
		}
	}

	// Secrets: from files, never in the compose file's environment.
	if v, ok := pg.Environment["POSTGRES_PASSWORD"]; ok {
		t.Errorf("POSTGRES_PASSWORD is set inline (%v)", v != nil)
	}
	if f := env(pg, "POSTGRES_PASSWORD_FILE"); !secretFile(p, pg, f) {
		t.Errorf("postgres's POSTGRES_PASSWORD_FILE %q is not one of its secrets", f)
	}
	for _, s := range []types.ServiceConfig{server, sched} {
		u, err := url.Parse(env(s, "CARESIGNAL_DB"))
		if err != nil || u.Scheme != "postgres" || u.Host != "postgres:5432" {
			t.Errorf("service %s: CARESIGNAL_DB %q is not the postgres service", s.Name, env(s, "CARESIGNAL_DB"))
			continue
		}
		if _, set := u.User.Password(); set {
			t.Errorf("service %s: CARESIGNAL_DB holds the password", s.Name)
		}
		if f := env(s, "PGPASSFILE"); !secretFile(p, s, f) {
			t.Errorf("service %s: PGPASSFILE %q is not one of its secrets", s.Name, f)
		}
		if _, ok := s.Environment["CARESIGNAL_PSEUDONYM_KEY"]; ok {
			t.Errorf("service %s: the pseudonym key is inline", s.Name)
		}
		if len(s.EnvFiles) == 0 || !strings.Contains(s.EnvFiles[0].Path, string(filepath.Separator)+"secrets"+string(filepath.Separator)) {
			t.Errorf("service %s reads no env file from secrets/ (the pseudonym key): %+v", s.Name, s.EnvFiles)
		}
		if !mountsVolume(s, "/data") {
			t.Errorf("service %s does not keep /data in a volume", s.Name)
		}
		if env(s, "CARESIGNAL_CADENCE") == "" {
			t.Errorf("service %s does not name the cadence", s.Name)
		}
	}
	for name, sec := range p.Secrets {
		if sec.File == "" || sec.Content != "" || sec.Environment != "" || !strings.HasPrefix(sec.File, mustAbs(t, "secrets")+string(filepath.Separator)) {
			t.Errorf("secret %s is not a file under secrets/: %+v", name, sec)
		}
	}
	gitignore, _ := os.ReadFile(".gitignore")
	if !strings.Contains(string(gitignore), "/secrets/") {
		t.Error("secrets/ is not in deploy/container/.gitignore")
	}
}

// dockerfile is what the tests need from the Dockerfile's final stage.
type dockerfile struct {
	user        string
	healthcheck []string
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var d dockerfile
	cmd := regexp.MustCompile(`CMD \[(.*)\]$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "USER "):
			d.user = strings.TrimSpace(strings.TrimPrefix(line, "USER "))
		case strings.HasPrefix(line, "HEALTHCHECK "):
			m := cmd.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("Dockerfile: %q has no CMD [...]", line)
			}
			for _, a := range strings.Split(m[1], ",") {
				d.healthcheck = append(d.healthcheck, strings.Trim(strings.TrimSpace(a), `"`))
			}
		}
	}
	if d.user == "" || d.healthcheck == nil {
		t.Fatalf("Dockerfile: no USER or HEALTHCHECK (%+v)", d)
	}
	return d
}

func env(s types.ServiceConfig, key string) string {
	if v := s.Environment[key]; v != nil {
		return *v
	}
	return ""
}

// secretFile reports whether path is where one of s's secrets is mounted
// (/run/secrets/<name>), from a secret the project defines.
func secretFile(p *types.Project, s types.ServiceConfig, path string) bool {
	for _, sec := range s.Secrets {
		target := sec.Target
		if target == "" {
			target = "/run/secrets/" + sec.Source
		}
		if _, ok := p.Secrets[sec.Source]; ok && target == path {
			return true
		}
	}
	return false
}

func mounts(s types.ServiceConfig, source, target string) bool {
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind && v.Source == source && v.Target == target && v.ReadOnly {
			return true
		}
	}
	return false
}

func mountsVolume(s types.ServiceConfig, target string) bool {
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeVolume && v.Target == target {
			return true
		}
	}
	return false
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
