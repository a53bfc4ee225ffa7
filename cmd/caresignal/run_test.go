package main

import (
	"strings"
	"testing"
)

// TestRunIsIdempotent: the scheduled command runs the ELT, scores with the
// production model and reports; run again for the same as-of date it
// stops after the ELT, saying so; --force redoes it; a bad cadence in the
// environment is refused naming it.
func TestRunIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	pipeline(t, dir, "") // generate, ELT, train and score as of 2026-11-01
	first := mustRun(t, "run", "--data-dir", dir, "--as-of", "2026-11-01", "--bootstrap", "0")
	for _, want := range []string{"[1/3] ELT as of 2026-11-01", "[2/3] scored", "[3/3]", "report.html"} {
		if !strings.Contains(first, want) {
			t.Errorf("the first run lacks %q:\n%s", want, first)
		}
	}
	again := mustRun(t, "run", "--data-dir", dir, "--as-of", "2026-11-01")
	if !strings.Contains(again, "nothing more to do") || strings.Contains(again, "[3/3]") {
		t.Errorf("a second run for the same date:\n%s", again)
	}
	forced := mustRun(t, "run", "--data-dir", dir, "--as-of", "2026-11-01", "--force", "--bootstrap", "0")
	if !strings.Contains(forced, "[2/3] scored") || !strings.Contains(forced, "[3/3]") {
		t.Errorf("a forced run:\n%s", forced)
	}
	// The default as-of date is the day after the source's last date: the
	// same here, so nothing to do.
	if out := mustRun(t, "run", "--data-dir", dir); !strings.Contains(out, "ELT as of 2026-11-01") || !strings.Contains(out, "nothing more to do") {
		t.Errorf("run with the default date:\n%s", out)
	}
	var out, errOut syncBuffer
	err := run(t.Context(), []string{"run", "--data-dir", dir}, func(k string) string {
		if k == "CARESIGNAL_CADENCE" {
			return "fortnightly"
		}
		return ""
	}, strings.NewReader(""), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "CARESIGNAL_CADENCE") || !strings.Contains(err.Error(), "fortnightly") {
		t.Errorf("a bad cadence: %v", err)
	}
}
