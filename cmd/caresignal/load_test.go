package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/postgres/pgtest"
	"github.com/caresignal/caresignal/internal/sourcecsv"
	"github.com/caresignal/caresignal/internal/storetest"
)

// TestLoadGivesTheSameModel: generate → CSV files → load → ELT → train
// gives the same person-period rows and the same model version as
// generate → ELT → train, on the embedded database and on PostgreSQL. A
// load with one bad row is refused naming it, and writes nothing: the
// tables and what was derived from them stay as they were.
func TestLoadGivesTheSameModel(t *testing.T) {
	csvDir := filepath.Join(t.TempDir(), "export")
	mustRun(t, "generate", "--csv", csvDir, "--patients", "1200", "--seed", "3")
	versionRE := regexp.MustCompile(`\(version ([0-9a-f]{12})\)`)
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			var direct, loaded []string
			if db == "postgres" {
				direct = []string{"--db", pgtest.Schema(t)}
				loaded = []string{"--db", pgtest.Schema(t)}
			}
			direct = append(direct, "--data-dir", t.TempDir())
			loaded = append(loaded, "--data-dir", t.TempDir())
			mustRun(t, append([]string{"generate", "--patients", "1200", "--seed", "3"}, direct...)...)
			out := mustRun(t, append([]string{"load", csvDir}, loaded...)...)
			if !strings.Contains(out, "checked 1,200 patients") {
				t.Errorf("load says:\n%s", out)
			}
			var versions []string
			for _, args := range [][]string{direct, loaded} {
				mustRun(t, append([]string{"etl", "--as-of", "2026-11-01"}, args...)...)
				m := versionRE.FindStringSubmatch(mustRun(t, append([]string{"train"}, args...)...))
				if m == nil {
					t.Fatal("train printed no version")
				}
				versions = append(versions, m[1])
			}
			if versions[0] != versions[1] {
				t.Errorf("model versions: generated %s, loaded %s", versions[0], versions[1])
			}
			personPeriod := func(args []string) *caresignal.Extract {
				d := dataFlags{dataDir: args[len(args)-1]}
				if args[0] == "--db" {
					d.db = args[1]
				}
				store, _, err := d.open(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				defer store.Close()
				pp, err := store.PersonPeriod(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				return pp
			}
			before := personPeriod(loaded)
			if len(before.Rows) == 0 {
				t.Fatal("no person-period rows after the load and the ELT")
			}
			storetest.SameRows(t, "person_period, loaded vs generated", before, personPeriod(direct))

			// One bad row in the last file: refused, and nothing changes.
			bad := filepath.Join(t.TempDir(), "bad")
			if err := os.MkdirAll(bad, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, name := range sourcecsv.Files() {
				b, err := os.ReadFile(filepath.Join(csvDir, name))
				if err != nil {
					t.Fatal(err)
				}
				if name == sourcecsv.DisenrolmentsFile {
					b = append(b, "P9999999,2026-01-01,disengaged\n"...)
				}
				if err := os.WriteFile(filepath.Join(bad, name), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := runCmd(t, "", append([]string{"load", bad}, loaded...)...)
			if err == nil || !regexp.MustCompile(`disenrolments\.csv:\d+: column "patient_id": patient "P9999999" is not in patients\.csv`).MatchString(err.Error()) {
				t.Errorf("a load with a patient unknown: %v", err)
			}
			storetest.SameRows(t, "person_period after a refused load", personPeriod(loaded), before)
		})
	}
}

// TestDemoChecksItsAddressFirst: demo on an address already taken fails at
// once, naming the flag that changes it, before any data work (no
// database is made).
func TestDemoChecksItsAddressFirst(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	_, _, err = runCmd(t, "", "demo", "--data-dir", dir, "--addr", ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "cannot listen on "+ln.Addr().String()) || !strings.Contains(err.Error(), "--addr") || !strings.Contains(err.Error(), "--no-serve") {
		t.Fatalf("demo on a busy address: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, dbFileName)); err == nil {
		t.Error("demo made its database before finding the address busy")
	}
}
