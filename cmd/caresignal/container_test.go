package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dockerfilePath is the shipped Dockerfile, from this package's folder.
var dockerfilePath = filepath.Join("..", "..", "deploy", "container", "Dockerfile")

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	op   string // FROM, COPY, RUN, …
	args string
}

// readDockerfile splits a Dockerfile into its stages' instructions.
func readDockerfile(t *testing.T, path string) [][]instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages [][]instruction
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			cur += rest + " "
			continue
		}
		cur += line
		op, args, _ := strings.Cut(cur, " ")
		cur = ""
		in := instruction{strings.ToUpper(op), strings.TrimSpace(args)}
		if in.op == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before the first FROM", path, in.op)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

// shellWords splits a simple shell command line: words separated by
// spaces, single or double quotes grouping, no expansion.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// dockerBuild is the Dockerfile's go build command: its environment
// assignments and its arguments after "go".
func dockerBuild(t *testing.T, stages [][]instruction) (env, args []string) {
	t.Helper()
	for _, st := range stages[:len(stages)-1] {
		for _, in := range st {
			if in.op != "RUN" || !strings.Contains(in.args, "go build") {
				continue
			}
			words := shellWords(in.args)
			i := 0
			for ; i < len(words) && strings.Contains(words[i], "="); i++ {
				env = append(env, words[i])
			}
			if i+1 >= len(words) || words[i] != "go" || words[i+1] != "build" || slices.ContainsFunc(words, func(w string) bool { return w == "&&" || w == ";" }) {
				t.Fatalf("the Dockerfile's build is not one go build command: RUN %s", in.args)
			}
			return env, words[i+1:]
		}
	}
	t.Fatal("the Dockerfile's build stages have no RUN ... go build")
	return nil, nil
}

// TestContainerImage builds the binary as the Dockerfile does (its go
// build line, run on the host) and checks it is static and stripped. Then,
// if podman works here, it builds an image from the Dockerfile's final
// stage (the shipped lines, with the build stage's files taken from the
// host), and runs it: the commands that make a model into the image's
// /data volume, the server refusing to start in the image's production
// mode without a proxy or TLS, then serving in development mode chosen
// explicitly on a loopback-published port: /healthz, the image's
// HEALTHCHECK, a prediction, a clean stop on SIGTERM.
func TestContainerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and, with podman, an image")
	}
	stages := readDockerfile(t, dockerfilePath)
	if len(stages) < 2 || stages[len(stages)-1][0].args != "scratch" {
		t.Fatalf("%s: the final stage is not FROM scratch", dockerfilePath)
	}
	final := stages[len(stages)-1]

	// The binary, built with the Dockerfile's own command line, from the
	// repository root as its WORKDIR holds it.
	env, args := dockerBuild(t, stages)
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "caresignal")
	for i, a := range args {
		if a == "-o" && i+1 < len(args) {
			args[i+1] = bin
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", args...)
	build.Dir = root
	build.Env = append(os.Environ(), env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	checkStatic(t, bin, root)

	path, why := findPodman()
	if path == "" {
		t.Skipf("no image built here (%s): the binary was built with the Dockerfile's flags and checked static", why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// The build context: the final stage's files from the host.
	bctx := filepath.Join(tmp, "context")
	var containerfile strings.Builder
	fromBuild := map[string]string{ // the build stage's paths → the host's
		"/out/caresignal":                    bin,
		"/out/data":                          filepath.Join(tmp, "data"),
		"/out/tmp":                           filepath.Join(tmp, "data"),
		"/etc/ssl/certs/ca-certificates.crt": "/etc/ssl/certs/ca-certificates.crt",
	}
	if err := os.Mkdir(fromBuild["/out/data"], 0o755); err != nil {
		t.Fatal(err)
	}
	for i, in := range final {
		line := in.op + " " + in.args
		if in.op == "COPY" {
			words := strings.Fields(in.args)
			var flags []string
			var from string
			for len(words) > 0 && strings.HasPrefix(words[0], "--") {
				if f, ok := strings.CutPrefix(words[0], "--from="); ok {
					from = f
				} else {
					flags = append(flags, words[0])
				}
				words = words[1:]
			}
			if len(words) != 2 {
				t.Fatalf("Dockerfile: COPY %s: want one source and one destination", in.args)
			}
			src, dst := words[0], words[1]
			host := filepath.Join(root, src)
			if from != "" {
				var ok bool
				if host, ok = fromBuild[src]; !ok {
					t.Fatalf("Dockerfile: COPY --from=%s %s: this test does not know what the build stage puts there; add it to fromBuild", from, src)
				}
			}
			local := fmt.Sprintf("f%d", i)
			copyPath(t, host, filepath.Join(bctx, local))
			line = strings.Join(append(append([]string{"COPY"}, flags...), local, dst), " ")
		}
		containerfile.WriteString(line + "\n")
	}
	if err := os.WriteFile(filepath.Join(bctx, "Containerfile"), []byte(containerfile.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	suffix := randomHex(t)
	image, volume, name := "localhost/caresignal-test:"+suffix, "caresignal-test-"+suffix, "caresignal-test-"+suffix
	// The docker format: OCI images have no HEALTHCHECK. A build of COPY
	// lines alone runs no container.
	build = exec.CommandContext(ctx, path, "build", "--format", "docker", "-t", image, "-f", filepath.Join(bctx, "Containerfile"), bctx)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("podman build: %v\n%s\nContainerfile:\n%s", err, tail(string(out), 2000), containerfile.String())
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, args := range [][]string{{"rm", "-f", "-t", "0", name}, {"volume", "rm", "-f", volume}, {"rmi", "-f", image}} {
			exec.CommandContext(ctx, path, args...).Run()
		}
	})
	podman, why := podmanRuntime(ctx, path, image)
	if podman == nil {
		t.Skipf("the image was built from the Dockerfile's final stage, but no container runs here: %s", why)
	}

	// The commands an operator runs before the server, into a new volume
	// that takes the image's /data and its owner: as the image's user.
	runImage := func(args ...string) (string, error) {
		return podman(ctx, append([]string{"run", "--rm", "-v", volume + ":/data", image}, args...)...)
	}
	for _, cmd := range [][]string{
		{"generate", "--patients", "1200", "--seed", "3"},
		{"etl", "--as-of", "2026-11-01"},
		{"train"},
	} {
		if out, err := runImage(cmd...); err != nil {
			t.Fatalf("podman run %s: %v\n%s", strings.Join(cmd, " "), err, tail(out, 2000))
		}
	}
	// The image's own mode: production, which needs TLS or a proxy.
	if out, err := runImage(); err == nil || !strings.Contains(out, "--mode prod needs TLS") {
		t.Errorf("the image's default command started without TLS or a trusted proxy (%v):\n%s", err, tail(out, 2000))
	}

	// Development mode chosen explicitly: inside, the server listens on
	// :8080, every interface of its own network; outside, the port is
	// published on loopback only.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if out, err := podman(ctx, "run", "-d", "--name", name, "-v", volume+":/data", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port),
		"-e", "CARESIGNAL_MODE=dev", image); err != nil {
		t.Fatalf("podman run serve: %v\n%s", err, tail(out, 2000))
	}
	logs := func() string { out, _ := podman(ctx, "logs", name); return tail(out, 3000) }
	base := fmt.Sprintf("http://127.0.0.1:%d/", port)
	healthy := false
	for deadline := time.Now().Add(60 * time.Second); !healthy && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get(base + "healthz"); err == nil {
			resp.Body.Close()
			healthy = resp.StatusCode == 200
		}
	}
	if !healthy {
		t.Fatalf("the container never answered /healthz on 127.0.0.1:%d\n%s", port, logs())
	}
	if out, err := podman(ctx, "healthcheck", "run", name); err != nil {
		t.Errorf("the image's HEALTHCHECK: %v\n%s", err, out)
	}
	// The server's process as the host sees it (scratch has no ps for
	// "podman top"): its real and effective user ids.
	if out, err := podman(ctx, "inspect", "--format", "{{.State.Pid}}", name); err != nil {
		t.Errorf("podman inspect: %v\n%s", err, out)
	} else if status, err := os.ReadFile("/proc/" + lastLine(out) + "/status"); err != nil {
		t.Errorf("the server's process: %v", err)
	} else if uid := regexp.MustCompile(`(?m)^Uid:\s+(\d+)\s+(\d+)`).FindSubmatch(status); uid == nil || string(uid[1]) != "65532" || string(uid[2]) != "65532" {
		t.Errorf("the server runs as %q, want uid 65532 (the image's USER)", uid)
	}
	resp, err := http.Post(base+"api/engagement", "application/json", strings.NewReader(request))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"expected_months"`)) {
		t.Errorf("a prediction: %d %s\n%s", resp.StatusCode, body, logs())
	}

	// docker stop and podman stop send SIGTERM, then SIGKILL after -t.
	if out, err := podman(ctx, "stop", "-t", "30", name); err != nil {
		t.Errorf("podman stop: %v\n%s", err, out)
	}
	if out := logs(); !strings.Contains(out, "stopped") {
		t.Errorf("the server did not stop cleanly on SIGTERM:\n%s", out)
	}
	if out, _ := podman(ctx, "inspect", "--format", "{{.State.ExitCode}}", name); strings.TrimSpace(out) != "0" {
		t.Errorf("exit code after SIGTERM: %s", out)
	}
}

// checkStatic checks the binary as the Dockerfile's flags make it: no
// dynamic loader or libraries (CGO_ENABLED=0: it runs FROM scratch), no
// symbol table or DWARF (-s -w), no path of the build machine (-trimpath).
func checkStatic(t *testing.T, bin, root string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a %s program header: it is not static", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs %v", libs)
	}
	for _, name := range []string{".symtab", ".debug_info", ".zdebug_info"} {
		if f.Section(name) != nil {
			t.Errorf("the binary has a %s section: not built with -s -w", name)
		}
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	// With -trimpath, go build does not record -ldflags (it may hold
	// paths): the sections above show them.
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("build settings CGO_ENABLED=%q -trimpath=%q, want 0 and true", settings["CGO_ENABLED"], settings["-trimpath"])
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(root+"/")) {
		t.Errorf("the binary holds the build machine's path %s", root)
	}
}

// findPodman returns podman's path if it is installed and "podman info"
// works, else why not.
func findPodman() (path, why string) {
	path, err := exec.LookPath("podman")
	if err != nil {
		return "", "podman is not installed"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, path, "info").CombinedOutput(); err != nil {
		return "", fmt.Sprintf("podman info failed: %v: %s", err, lastLine(string(out)))
	}
	return path, ""
}

// podmanRuntime returns a function running podman with the global flags
// under which the image's "version" command runs, or says why none does:
// the default OCI runtime first, then runc (crun refuses hosts whose
// cgroups are in hybrid mode, as this one's). The ulimits podman sets by
// default may be above this process's own, which the runtime then cannot
// set: containers get 4096 files and processes, or this process's
// open-file limit if lower.
func podmanRuntime(ctx context.Context, path, image string) (func(ctx context.Context, args ...string) (string, error), string) {
	nofile := uint64(4096)
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < nofile {
		nofile = r.Cur
	}
	ulimits := []string{"--ulimit", fmt.Sprintf("nofile=%d:%d", nofile, nofile), "--ulimit", "nproc=4096:4096"}
	var tried []string
	for _, global := range [][]string{nil, {"--runtime", "runc"}} {
		podman := func(ctx context.Context, args ...string) (string, error) {
			if len(args) > 0 && args[0] == "run" {
				args = append([]string{"run"}, append(slices.Clone(ulimits), args[1:]...)...)
			}
			out, err := exec.CommandContext(ctx, path, append(slices.Clone(global), args...)...).CombinedOutput()
			return string(out), err
		}
		out, err := podman(ctx, "run", "--rm", image, "version")
		if err == nil && slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool { return strings.HasPrefix(l, "caresignal ") }) {
			return podman, ""
		}
		tried = append(tried, fmt.Sprintf("podman %s run: %v: %s", strings.Join(global, " "), err, lastLine(out)))
	}
	return nil, strings.Join(tried, "; ")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func randomHex(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// copyPath copies a file, or a folder's files, to dst.
func copyPath(t *testing.T, src, dst string) {
	t.Helper()
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}
