package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The shipped systemd units.
const unitDir = "../../deploy/systemd"

var units = []string{"caresignal.service", "caresignal-run.service", "caresignal-run.timer"}

// installedBinary is where the units expect the binary.
const installedBinary = "/usr/local/bin/caresignal"

// TestSystemdUnitsVerify runs systemd-analyze verify on the shipped units,
// copied with their ExecStart binary pointed at an executable that exists
// (this test's own binary: verify checks that the command is executable,
// and never runs it). Any message (an unknown directive, a bad value) fails
// the test. Skipped where systemd-analyze is missing, or cannot verify a
// trivial unit.
func TestSystemdUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian package systemd): the units are not verified")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	verify := func(dir string, names ...string) (string, error) {
		cmd := exec.Command(analyze, append([]string{"verify"}, names...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}

	// Can verify work here at all?
	probe := t.TempDir()
	if err := os.WriteFile(filepath.Join(probe, "probe.service"), []byte("[Unit]\nDescription=probe\n[Service]\nExecStart="+exe+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(probe, "probe.service"); err != nil || out != "" {
		t.Skipf("systemd-analyze verify does not run cleanly here even on a trivial unit (%v): %s", err, out)
	}

	dir := t.TempDir()
	for _, name := range units {
		b, err := os.ReadFile(filepath.Join(unitDir, name))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.HasSuffix(name, ".service") {
			if !strings.Contains(s, "ExecStart="+installedBinary+" ") {
				t.Fatalf("%s: ExecStart does not run %s", name, installedBinary)
			}
			s = strings.ReplaceAll(s, "ExecStart="+installedBinary+" ", "ExecStart="+exe+" ")
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := verify(dir, units...)
	if err != nil || out != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s", strings.Join(units, " "), err, out)
	}
}

// TestSystemdUnitsAgree: the server and the scheduled run share the user,
// the settings file and the data folder, under the same sandbox; the
// server's stop timeout covers its drain; the settings file example names
// only variables the binary reads.
func TestSystemdUnitsAgree(t *testing.T) {
	serve := unitLines(t, "caresignal.service")
	run := unitLines(t, "caresignal-run.service")
	shared := []string{"User=", "Group=", "EnvironmentFile=", "StateDirectory=", "UMask=",
		"NoNewPrivileges=", "Protect", "Private", "Restrict", "LockPersonality=", "MemoryDenyWriteExecute=",
		"CapabilityBoundingSet=", "AmbientCapabilities=", "SystemCall"}
	pick := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			for _, p := range shared {
				if strings.HasPrefix(l, p) {
					out = append(out, l)
					break
				}
			}
		}
		return out
	}
	if a, b := pick(serve), pick(run); !slices.Equal(a, b) {
		t.Errorf("caresignal.service and caresignal-run.service differ in their user, settings, folder or sandbox:\n%s\n---\n%s",
			strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	for _, want := range []string{"User=caresignal", "StateDirectory=caresignal", "ProtectSystem=strict", "ProtectHome=yes",
		"NoNewPrivileges=yes", "PrivateTmp=yes", "PrivateDevices=yes", "CapabilityBoundingSet=", "MemoryDenyWriteExecute=yes",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service"} {
		if !slices.Contains(serve, want) {
			t.Errorf("caresignal.service lacks %s", want)
		}
	}
	// SIGTERM: up to 15 s for requests in flight, then up to 30 s to flush
	// the prediction log (serve.go).
	if !slices.Contains(serve, "TimeoutStopSec=60s") {
		t.Errorf("caresignal.service: TimeoutStopSec must stay 60s, above the server's 15 s drain and 30 s log flush")
	}
	if !slices.Contains(run, "ExecStart="+installedBinary+" run") {
		t.Errorf("caresignal-run.service does not run %s run", installedBinary)
	}

	// Every variable the settings example names, set or commented out, is
	// one the units' commands read: it appears in serve's or run's flags'
	// help as "(env NAME)", or is the pseudonymisation key, which has no
	// flag.
	var help string
	for _, cmd := range []string{"serve", "run"} {
		out, errOut, _ := runCmd(t, "", cmd, "-h")
		help += out + errOut
	}
	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, _, ok := strings.Cut(strings.TrimLeft(line, "#"), "=")
		if !ok || !strings.HasPrefix(name, "CARESIGNAL_") || strings.ContainsAny(name, " \t") {
			continue
		}
		if name != "CARESIGNAL_PSEUDONYM_KEY" && !strings.Contains(help, "(env "+name+")") && !strings.Contains(help, "(env "+name+";") {
			t.Errorf("%s names %s, which neither caresignal serve nor run reads", envFile, name)
		}
	}
}

// unitLines are a unit file's directives, without comments and blanks.
func unitLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(unitDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && l[0] != '#' && l[0] != ';' {
			out = append(out, l)
		}
	}
	return out
}
