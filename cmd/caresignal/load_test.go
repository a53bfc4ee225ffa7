package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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

// filterExport copies the export in from to a new directory, keeping the
// rows keep accepts, given each row's patient's enrolment date and its own
// date (enrolled_on, occurred_on, disenrolled_on).
func filterExport(t *testing.T, from string, keep func(file, enrolled, date string) bool) string {
	t.Helper()
	to := t.TempDir()
	enrolled := map[string]string{}
	for _, name := range sourcecsv.Files() { // patients first
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(b), "\n")
		var out strings.Builder
		out.WriteString(lines[0])
		for _, l := range lines[1:] {
			f := strings.Split(l, ",")
			if len(f) < 2 {
				continue
			}
			if name == sourcecsv.PatientsFile {
				enrolled[f[0]] = f[1]
			}
			if keep(name, enrolled[f[0]], f[1]) {
				out.WriteString(l)
			}
		}
		if err := os.WriteFile(filepath.Join(to, name), []byte(out.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// TestLoadAppend: an export loaded up to a date, then appended to with the
// whole export, or with only what is new since, gives the tables (and so
// the person-period rows) a load of the whole export gives, and keeps the
// scores' history; a patient loaded before with other values is refused,
// naming it, and nothing is written. On both databases.
func TestLoadAppend(t *testing.T) {
	full := filepath.Join(t.TempDir(), "export")
	mustRun(t, "generate", "--csv", full, "--patients", "600", "--seed", "7")
	const cut = "2026-09-01"
	// Up to the cut: the patients enrolled before it, and their rows dated
	// before it. Since: the others (a new patient's onboarding events
	// come before the enrolment, so before the cut for some).
	before := func(_, enrolled, date string) bool { return enrolled < cut && date < cut }
	earlier := filterExport(t, full, before)
	since := filterExport(t, full, func(file, enrolled, date string) bool { return !before(file, enrolled, date) })
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			args := func() []string {
				a := []string{"--data-dir", t.TempDir()}
				if db == "postgres" {
					a = append(a, "--db", pgtest.Schema(t))
				}
				return a
			}
			personPeriod := func(a []string) *caresignal.Extract {
				d := dataFlags{dataDir: a[1]}
				if len(a) == 4 {
					d.db = a[3]
				}
				store, _, err := d.open(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				defer store.Close()
				if _, err := store.RunELT(context.Background(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)); err != nil {
					t.Fatal(err)
				}
				pp, err := store.PersonPeriod(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				return pp
			}
			whole := args()
			mustRun(t, append([]string{"load", full}, whole...)...)
			want := personPeriod(whole)

			for _, add := range []struct{ name, dir string }{{"the whole export", full}, {"what is new", since}} {
				a := args()
				mustRun(t, append([]string{"load", earlier}, a...)...)
				mustRun(t, append([]string{"etl", "--as-of", cut}, a...)...)
				mustRun(t, append([]string{"train"}, a...)...)
				mustRun(t, append([]string{"score"}, a...)...)
				out := mustRun(t, append([]string{"load", "--append", add.dir}, a...)...)
				if !strings.Contains(out, "appended") {
					t.Errorf("append %s says:\n%s", add.name, out)
				}
				storetest.SameRows(t, "person_period after appending "+add.name, personPeriod(a), want)
				if out := mustRun(t, append([]string{"run", "--as-of", "2026-11-01", "--bootstrap", "0"}, a...)...); !strings.Contains(out, "[2/3] scored") {
					t.Errorf("run after the append:\n%s", out)
				}

				// A patient loaded before, with another age: refused, nothing written.
				b, err := os.ReadFile(filepath.Join(full, sourcecsv.PatientsFile))
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(string(b), "\n")
				f := strings.Split(lines[1], ",")
				f[2] = "99"
				lines[1] = strings.Join(f, ",")
				changed := filterExport(t, full, func(string, string, string) bool { return true })
				if err := os.WriteFile(filepath.Join(changed, sourcecsv.PatientsFile), []byte(strings.Join(lines, "\n")), 0o600); err != nil {
					t.Fatal(err)
				}
				_, _, err = runCmd(t, "", append([]string{"load", "--append", changed}, a...)...)
				if err == nil || !strings.Contains(err.Error(), `patient "`+f[0]+`" was loaded before with age`) {
					t.Errorf("an append changing a patient: %v", err)
				}
				storetest.SameRows(t, "person_period after a refused append", personPeriod(a), want)
			}
		})
	}
}
