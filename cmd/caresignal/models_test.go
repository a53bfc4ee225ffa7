package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caresignal/caresignal/internal/modeltest"
)

// TestModelsServing: the registry commands print the serving state each
// change leaves (production, canary, shadow, generation); models serving
// without its own flags only prints, and with some keeps the others;
// promoting the canary ends it, a rollback then serves no canary, and a
// canary naming the production version is refused, saying why.
func TestModelsServing(t *testing.T) {
	dir := t.TempDir()
	var versions []string
	for i, seed := range []uint64{5, 6} {
		m, artifact := modeltest.Engagement(t, modeltest.Cohort{Patients: 1500, Seed: seed})
		path := filepath.Join(dir, "model"+string(rune('1'+i))+".json")
		if err := os.WriteFile(path, artifact, 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"models", "publish", "--data-dir", dir, "--model", path}
		if i == 0 {
			args = append(args, "--activate")
		}
		mustRun(t, args...)
		versions = append(versions, m.Version)
	}
	v1, v2 := versions[0], versions[1]
	expect := func(out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}
	data := []string{"--data-dir", dir}
	expect(mustRun(t, append([]string{"models", "serving", "engagement"}, data...)...),
		"engagement: production "+v1+", canary none, shadow none (generation 1, ")
	expect(mustRun(t, append([]string{"models", "serving", "engagement", "--canary", v2, "--canary-percent", "10"}, data...)...),
		"engagement: production "+v1+", canary "+v2+" at 10%, shadow none (generation 2, ", " by cli)")
	// Printing changes nothing, though --data-dir is a flag.
	expect(mustRun(t, append([]string{"models", "serving", "engagement"}, data...)...),
		"engagement: production "+v1+", canary "+v2+" at 10%, shadow none (generation 2, ")
	// A flag not given keeps its setting.
	expect(mustRun(t, append([]string{"models", "serving", "engagement", "--canary-percent", "20"}, data...)...),
		"engagement: production "+v1+", canary "+v2+" at 20%, shadow none (generation 3, ")
	expect(mustRun(t, append([]string{"models", "activate", "engagement", v2}, data...)...),
		"engagement@"+v2+" is production; "+v1+" archived", "engagement: production "+v2+", canary none, shadow none (generation 4, ")
	expect(mustRun(t, append([]string{"models", "rollback", "engagement"}, data...)...),
		"production is "+v1+" again", "engagement: production "+v1+", canary none, shadow none (generation 5, ")
	_, _, err := runCmd(t, "", append([]string{"models", "serving", "engagement", "--canary", v1, "--canary-percent", "5"}, data...)...)
	if err == nil || !strings.Contains(err.Error(), v1+" is the production version") {
		t.Errorf("a canary naming the production version: %v", err)
	}
}
