package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/postgres"
	"github.com/caresignal/caresignal/internal/postgres/pgtest"
	"github.com/caresignal/caresignal/internal/sourcecsv"
	"github.com/caresignal/caresignal/internal/sqlite"
)

// openTestStore opens the database a --db value names.
func openTestStore(t *testing.T, db string) caresignal.Store {
	t.Helper()
	var s caresignal.Store
	var err error
	if postgres.IsDSN(db) {
		s, err = postgres.Open(context.Background(), db)
	} else {
		s, err = sqlite.Open(context.Background(), db)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkSourceJSON runs check-source --json and decodes its report; err is
// the command's error (the ELT would refuse the data).
func checkSourceJSON(t *testing.T, args ...string) (sourceReport, error) {
	t.Helper()
	out, errOut, err := runCmd(t, "", append([]string{"check-source", "--json"}, args...)...)
	var r sourceReport
	if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
		t.Fatalf("check-source --json: %v (command error %v)\nstdout:\n%s\nstderr:\n%s", jerr, err, out, errOut)
	}
	return r, err
}

// rowCount counts a table's rows.
func rowCount(t *testing.T, s caresignal.Store, table string) int {
	t.Helper()
	db, ok := s.(interface{ DB() *sql.DB })
	if !ok {
		t.Fatalf("store %T has no DB()", s)
	}
	var n int
	if err := db.DB().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// expectedIgnored computes, from the source rows themselves and the rules
// of docs/data.md, what check-source must say the ELT leaves out as of asOf.
func expectedIgnored(src *caresignal.Source, asOf time.Time) map[string]int {
	want := map[string]int{}
	enrolled := map[string]time.Time{}
	for _, p := range src.Patients {
		enrolled[p.ID] = p.EnrolledOn
		if !p.EnrolledOn.Before(asOf) {
			want["patients/enrolled on or after"]++
		}
	}
	left := map[string]time.Time{}
	for _, d := range src.Disenrolments {
		if d.DisenrolledOn.Before(asOf) {
			left[d.PatientID] = d.DisenrolledOn
		} else if enrolled[d.PatientID].Before(asOf) {
			want["disenrolments/on or after"]++
		}
	}
	for _, e := range src.Events {
		en, known := enrolled[e.PatientID]
		dl, hasLeft := left[e.PatientID]
		switch {
		case !known:
			want["engagement_events/names a patient_id"]++
		case !en.Before(asOf):
			want["engagement_events/its patient enrolled"]++
		case !e.OccurredOn.Before(asOf):
			want["engagement_events/on or after"]++
		case hasLeft && e.OccurredOn.After(dl):
			want["engagement_events/after its patient"]++
		}
	}
	return want
}

// gotIgnored keys a report's ignored rows as expectedIgnored does.
func gotIgnored(r sourceReport) map[string]int {
	got := map[string]int{}
	for _, ig := range r.Ignored {
		reason := ig.Reason
		for _, prefix := range []string{"enrolled on or after", "on or after", "names a patient_id", "its patient enrolled", "after its patient"} {
			if strings.HasPrefix(reason, prefix) {
				reason = prefix
				break
			}
		}
		got[ig.Table+"/"+reason] += ig.Rows
	}
	return got
}

// TestCheckSourceCountsWhatTheELTBuilds: on both databases, check-source
// writes nothing; the person-period rows it counts by status are the rows
// the ELT then builds, as of several dates; the rows it says the ELT
// leaves out, the date ranges and the levels are those computed here from
// the source rows; and it refuses, exiting non-zero with the reason, the
// as-of dates the ELT refuses.
func TestCheckSourceCountsWhatTheELTBuilds(t *testing.T) {
	csvDir := t.TempDir()
	mustRun(t, "generate", "--patients", "800", "--csv", csvDir)
	src, err := sourcecsv.Read(csvDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "cs.db")
			if kind == "postgres" {
				db = pgtest.Schema(t)
			}
			mustRun(t, "load", csvDir, "--db", db)
			store := openTestStore(t, db)
			ignoredSeen := 0
			for _, asOf := range []string{"2026-05-01", "2025-01-15", ""} {
				args := []string{"--db", db}
				if asOf != "" {
					args = append(args, "--as-of", asOf)
				}
				r, err := checkSourceJSON(t, args...)
				if err != nil {
					t.Fatalf("as of %q: %v", asOf, err)
				}
				if n := rowCount(t, store, "person_period") + rowCount(t, store, "elt_runs"); asOf == "2026-05-01" && n != 0 {
					t.Fatalf("check-source wrote %d person_period and elt_runs rows", n)
				}
				res, err := store.RunELT(context.Background(), parseDay(t, asOf))
				if err != nil {
					t.Fatal(err)
				}
				if r.AsOf != res.AsOf.Format(time.DateOnly) || r.DefaultAsOf != (asOf == "") {
					t.Errorf("as of %q: report as of %s (default %v), the ELT's %s", asOf, r.AsOf, r.DefaultAsOf, res.AsOf.Format(time.DateOnly))
				}
				if r.PersonPeriodRows != res.Rows {
					t.Errorf("as of %s: check-source counts %d person-period rows, the ELT built %d", r.AsOf, r.PersonPeriodRows, res.Rows)
				}
				for st, n := range res.ByStatus {
					if r.PersonPeriod[string(st)] != n {
						t.Errorf("as of %s: %s rows: check-source %d, ELT %d", r.AsOf, st, r.PersonPeriod[string(st)], n)
					}
				}
				want := expectedIgnored(src, res.AsOf)
				got := gotIgnored(r)
				ignoredSeen += len(want)
				for k, n := range want {
					if got[k] != n {
						t.Errorf("as of %s: ignored %s: check-source %d, computed %d", r.AsOf, k, got[k], n)
					}
				}
				for k, n := range got {
					if want[k] != n {
						t.Errorf("as of %s: ignored %s: check-source %d, computed %d", r.AsOf, k, n, want[k])
					}
				}
				if len(r.Refusals) != 0 {
					t.Errorf("as of %s: refusals %q", r.AsOf, r.Refusals)
				}
			}
			if ignoredSeen == 0 {
				t.Fatal("the test data leave nothing out as of any date, so the comparison of ignored rows cannot fail")
			}
			// Date ranges and levels, from the same rows.
			r, _ := checkSourceJSON(t, "--db", db)
			first, last := src.Events[0].OccurredOn, src.Events[0].OccurredOn
			for _, e := range src.Events {
				first, last = minTime(first, e.OccurredOn), maxTime(last, e.OccurredOn)
			}
			if ev := r.Tables[1]; ev.Table != "engagement_events" || ev.Rows != len(src.Events) || ev.First != first.Format(time.DateOnly) || ev.Last != last.Format(time.DateOnly) {
				t.Errorf("events table %+v; want %d rows, %s to %s", ev, len(src.Events), first.Format(time.DateOnly), last.Format(time.DateOnly))
			}
			programs := map[string]int{}
			for _, p := range src.Patients {
				programs[p.Program]++
			}
			for _, l := range r.Levels {
				if l.Column != "program" {
					continue
				}
				if len(l.Levels) != len(programs) {
					t.Errorf("program levels %+v, want %v", l.Levels, programs)
				}
				for _, x := range l.Levels {
					if x.Level == nil || programs[*x.Level] != x.Rows {
						t.Errorf("program level %+v, want %v", x, programs)
					}
				}
			}

			// The ELT's refusals, by check-source first.
			for asOf, want := range map[string]string{
				"2027-01-15": "is more than 30 days after the source data end",
				"2020-01-01": "is on or before every enrolment",
			} {
				r, err := checkSourceJSON(t, "--db", db, "--as-of", asOf)
				if err == nil || !strings.Contains(err.Error(), want) || len(r.Refusals) != 1 || !strings.Contains(r.Refusals[0], want) {
					t.Errorf("as of %s: error %v, refusals %q; want %q", asOf, err, r.Refusals, want)
				}
				if _, eltErr := store.RunELT(context.Background(), parseDay(t, asOf)); eltErr == nil || !strings.Contains(eltErr.Error(), want) {
					t.Errorf("as of %s: the ELT says %v; check-source said %q", asOf, eltErr, want)
				}
			}
		})
	}
}

func parseDay(t *testing.T, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// viewsSQL returns the SQL of docs/data.md's worked example, between its
// markers, so that the page and this test cannot drift apart.
func viewsSQL(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/data.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- views-example:begin -->\n```sql\n(.*?)```\n<!-- views-example:end -->").FindSubmatch(b)
	if m == nil {
		t.Fatal("docs/data.md has no ```sql block between <!-- views-example:begin --> and <!-- views-example:end -->")
	}
	return string(m[1])
}

// crmTables is an organisation's own schema, as docs/data.md's worked
// example describes it, with a few members, as of 2026-04-01:
//
//	101 joined 2026-01-01, still enrolled: months 1–3 survived, 4 current;
//	    visits on days 4 and 40, an sms on day 19, a call (neither kind) on
//	    day 41, and a visit on 2026-04-02 (on or after the as-of date)
//	102 joined 2026-01-15, an email on day 1, stopped attending (DNA) on
//	    day 45: month 1 survived, month 2 event
//	103 joined 2026-02-01, no contact, transferred on day 47 of a 59-day
//	    span: month 1 survived, month 2 incomplete
//	104 joined 2026-04-05, after the as-of date, with a visit the day after
//	    and a care plan and gender no model knows
//	105 joined 2025-12-01, a visit 11 days before joining, transferred on
//	    day 40: month 1 survived, month 2 censored; a visit after leaving
//	999 not a member, with an sms
const crmTables = `
CREATE TABLE crm.members (member_no integer PRIMARY KEY, joined timestamp NOT NULL, birth_year integer,
    gender text, care_plan text, contact_pref text, risk_score integer, missed_appts smallint, source text);
CREATE TABLE crm.contacts (member_no integer, contact_date date, contact_type text);
CREATE TABLE crm.exits (member_no integer, exit_date date, exit_code text);
INSERT INTO crm.members VALUES
    (101, '2026-01-01 10:30', 1960, 'f', 'diabetes', 'app',   55,   2, 'referral'),
    (102, '2026-01-15 09:00', 1975, 'm', 'copd',     'phone', NULL, 0, 'self'),
    (103, '2026-02-01 14:00', 1988, 'f', 'diabetes', 'sms',   30,   1, 'referral'),
    (104, '2026-04-05 08:00', 1990, 'x', 'cardiac',  'app',   40,   0, 'employer'),
    (105, '2025-12-01 11:00', 1950, 'm', 'weight',   'app',   80,   3, 'employer');
INSERT INTO crm.contacts VALUES
    (101, '2026-01-05', 'visit'), (101, '2026-01-20', 'sms'), (101, '2026-02-10', 'visit'),
    (101, '2026-02-11', 'call'), (101, '2026-04-02', 'visit'),
    (102, '2026-01-16', 'email'),
    (104, '2026-04-06', 'visit'),
    (105, '2025-11-20', 'visit'), (105, '2026-01-20', 'visit'),
    (999, '2026-03-01', 'sms');
INSERT INTO crm.exits VALUES
    (102, '2026-03-01', 'DNA'), (103, '2026-03-20', 'TRF'), (105, '2026-01-10', 'TRF');
`

// TestViewsOverOwnTables follows docs/data.md's "Your own tables in
// PostgreSQL" on a real server: the organisation's tables in a schema of
// their own, caresignal's schema migrated, then the page's SQL applied as
// it stands (only the organisation's schema renamed, one per test run);
// check-source reports what the views give, the ELT builds the expected
// person-period rows from them, and generate refuses to write into them.
func TestViewsOverOwnTables(t *testing.T) {
	dsn := pgtest.Schema(t)
	ctx := context.Background()
	store := openTestStore(t, dsn) // migrates caresignal's schema
	db := store.(interface{ DB() *sql.DB }).DB()
	crm := ""
	if err := db.QueryRowContext(ctx, "SELECT current_schema() || '_crm'").Scan(&crm); err != nil {
		t.Fatal(err)
	}
	schema := func(s string) string { return regexp.MustCompile(`\bcrm\.`).ReplaceAllString(s, crm+".") }
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+crm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.ExecContext(ctx, "DROP SCHEMA "+crm+" CASCADE") })
	if _, err := db.ExecContext(ctx, schema(crmTables)); err != nil {
		t.Fatal(err)
	}
	views := viewsSQL(t)
	if !strings.Contains(views, "FROM crm.members") {
		t.Fatalf("the page's SQL no longer reads crm.members:\n%s", views)
	}
	if _, err := db.ExecContext(ctx, schema(views)); err != nil {
		t.Fatalf("the SQL of docs/data.md: %v", err)
	}

	// A model to compare the levels with: trained on synthetic data.
	dir := t.TempDir()
	mustRun(t, "generate", "--patients", "1500", "--data-dir", dir)
	mustRun(t, "etl", "--data-dir", dir, "--as-of", "2026-05-01")
	mustRun(t, "train", "--data-dir", dir, "--lambda", "0.001")
	modelFile := filepath.Join(dir, modelFileName)

	r, err := checkSourceJSON(t, "--db", dsn, "--as-of", "2026-04-01", "--model", modelFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Views, ",") != "disenrolments,engagement_events,patients" {
		t.Errorf("views %q", r.Views)
	}
	tables := map[string]tableReport{}
	for _, x := range r.Tables {
		tables[x.Table] = x
	}
	for name, want := range map[string]tableReport{
		"patients":          {Table: "patients", Rows: 5, First: "2025-12-01", Last: "2026-04-05"},
		"engagement_events": {Table: "engagement_events", Rows: 10, First: "2025-11-20", Last: "2026-04-06"},
		"disenrolments":     {Table: "disenrolments", Rows: 3, First: "2026-01-10", Last: "2026-03-20"},
	} {
		if tables[name] != want {
			t.Errorf("%s: %+v, want %+v", name, tables[name], want)
		}
	}
	if r.PatientsNoEvents != 1 {
		t.Errorf("patients without events: %d, want 1 (103)", r.PatientsNoEvents)
	}
	wantIgnored := map[string]int{
		"patients/enrolled on or after":                                             1, // 104
		"engagement_events/names a patient_id":                                      1, // 999
		"engagement_events/its patient enrolled":                                    1, // 104's visit
		"engagement_events/on or after":                                             1, // 101's visit on 2026-04-02
		"engagement_events/after its patient":                                       1, // 105's visit after leaving
		"engagement_events/kind is neither session nor message: counted as neither": 1, // the call
	}
	got := gotIgnored(r)
	for k, n := range wantIgnored {
		if got[k] != n {
			t.Errorf("ignored %s: %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if len(got) != len(wantIgnored) {
		t.Errorf("ignored %v, want %v", got, wantIgnored)
	}
	levels := map[string]levelReport{}
	for _, l := range r.Levels {
		for _, x := range l.Levels {
			if x.Level != nil {
				levels[l.Column+"="+*x.Level] = x
			}
		}
	}
	for key, want := range map[string]struct {
		rows    int
		unknown bool
		note    string
	}{
		"sex=F":                 {2, false, ""},
		"sex=X":                 {1, true, "batch scoring leaves these patients out"},
		"program=cardiac":       {1, true, `scores these patients as the reference level "diabetes"`},
		"program=diabetes":      {2, false, ""},
		"kind=session":          {6, false, ""},
		"kind=message":          {3, false, ""},
		"kind=call":             {1, false, "neither session nor message"},
		"reason=disengaged":     {1, false, "drop-off"},
		"reason=transferred":    {2, false, "censored"},
		"enrolled_via=employer": {2, false, ""},
	} {
		x, ok := levels[key]
		if !ok || x.Rows != want.rows || x.Unknown != want.unknown || !strings.Contains(x.Note, want.note) {
			t.Errorf("level %s: %+v, want %d rows, unknown %v, note with %q", key, x, want.rows, want.unknown, want.note)
		}
	}
	wantStatus := map[string]int{"survived": 6, "event": 1, "censored": 1, "current": 1, "incomplete": 1}
	for st, n := range wantStatus {
		if r.PersonPeriod[st] != n {
			t.Errorf("check-source counts %d %s rows, want %d", r.PersonPeriod[st], st, n)
		}
	}

	out := mustRun(t, "etl", "--db", dsn, "--as-of", "2026-04-01")
	if !strings.Contains(out, "person_period has 10 rows (6 survived, 1 event, 1 censored, 1 current, 1 incomplete)") {
		t.Errorf("etl: %s", out)
	}
	rows, err := db.QueryContext(ctx, `SELECT patient_id, month, status, sessions_last_month,
		COALESCE(days_since_last_session::text, '-'), messages_last_month FROM person_period ORDER BY patient_id, month`)
	if err != nil {
		t.Fatal(err)
	}
	var pp []string
	for rows.Next() {
		var id, st, days string
		var month, sessions, messages int
		if err := rows.Scan(&id, &month, &st, &sessions, &days, &messages); err != nil {
			t.Fatal(err)
		}
		pp = append(pp, strings.Join([]string{id, itoa(month), st, itoa(sessions), days, itoa(messages)}, " "))
	}
	rows.Close()
	want := []string{
		"101 1 survived 0 - 0", "101 2 survived 1 26 1", "101 3 survived 1 20 0", "101 4 current 0 50 0",
		"102 1 survived 0 - 0", "102 2 event 0 - 1",
		"103 1 survived 0 - 0", "103 2 incomplete 0 - 0",
		"105 1 survived 1 11 0", "105 2 censored 0 41 0",
	}
	if strings.Join(pp, "\n") != strings.Join(want, "\n") {
		t.Errorf("person_period:\n%s\nwant:\n%s", strings.Join(pp, "\n"), strings.Join(want, "\n"))
	}
	// The static features come through the view with their types.
	x, err := store.PredictionExtract(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Rows) != 1 || x.Rows[0].PatientID != "101" || x.Rows[0].Month != 4 {
		t.Fatalf("prediction extract %+v", x.Rows)
	}
	for name, want := range map[string]caresignal.Value{"age": caresignal.Num(66), "sex": caresignal.Str("F"), "baseline_score": caresignal.Num(0.55),
		"prior_no_shows": caresignal.Num(2), "days_since_last_session": caresignal.Num(50)} {
		if i := x.Column(name); i < 0 || x.Rows[0].Values[i] != want {
			t.Errorf("prediction extract %s = %+v, want %+v", name, x.Rows[0].Values, want)
		}
	}

	// generate and load write only into tables: they refuse, saying why.
	_, _, err = runCmd(t, "", "generate", "--patients", "10", "--db", dsn)
	if err == nil || !strings.Contains(err.Error(), "are views onto other tables") {
		t.Errorf("generate over views: %v", err)
	}
	export := filepath.Join(t.TempDir(), "export")
	mustRun(t, "generate", "--csv", export, "--patients", "10")
	for _, args := range [][]string{{"load", export}, {"load", "--append", export}} {
		if _, _, err := runCmd(t, "", append(args, "--db", dsn)...); err == nil || !strings.Contains(err.Error(), "are views onto other tables") {
			t.Errorf("%s over views: %v", strings.Join(args[:len(args)-1], " "), err)
		}
	}

	// Views have no keys: a second exit for 102 would make the ELT fail on
	// person_period's primary key, and an exit before joining is refused.
	if _, err := db.ExecContext(ctx, schema(`INSERT INTO crm.exits VALUES (102, '2026-03-05', 'TRF'), (101, '2025-12-01', 'TRF')`)); err != nil {
		t.Fatal(err)
	}
	r, err = checkSourceJSON(t, "--db", dsn, "--as-of", "2026-04-01")
	if err == nil || len(r.Refusals) != 2 || !strings.Contains(err.Error(), "1 disenrolments are dated before their patient's enrolment") ||
		!strings.Contains(err.Error(), "1 disenrolments rows repeat a patient_id") {
		t.Errorf("check-source over a repeated and an early exit: %v (refusals %q)", err, r.Refusals)
	}
	if _, err := store.RunELT(ctx, parseDay(t, "2026-04-01")); err == nil {
		t.Error("the ELT ran over an exit before joining")
	}
	if _, err := db.ExecContext(ctx, schema(`DELETE FROM crm.exits WHERE member_no = 101`)); err != nil {
		t.Fatal(err)
	}
	if _, err := store.RunELT(ctx, parseDay(t, "2026-04-01")); err == nil || !strings.Contains(err.Error(), "person_period") {
		t.Errorf("the ELT over a repeated exit: %v; check-source said it would fail on person_period's primary key", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestCheckSourceEdges: on both databases, the members of crmTables loaded
// as source tables (without the unknown member, which the tables' foreign
// keys refuse), plus a visit on 105's disenrolment day, which the ELT uses
// (only events after that day are left out).
func TestCheckSourceEdges(t *testing.T) {
	day := func(s string) time.Time { return parseDay(t, s) }
	src := &caresignal.Source{
		Patients: []caresignal.Patient{
			{ID: "101", EnrolledOn: day("2026-01-01"), Age: 66, Sex: "F", Program: "diabetes", Channel: "app", PriorNoShows: 2, EnrolledVia: "referral"},
			{ID: "102", EnrolledOn: day("2026-01-15"), Age: 51, Sex: "M", Program: "copd", Channel: "phone", EnrolledVia: "self"},
			{ID: "103", EnrolledOn: day("2026-02-01"), Age: 38, Sex: "F", Program: "diabetes", Channel: "sms", PriorNoShows: 1, EnrolledVia: "referral"},
			{ID: "104", EnrolledOn: day("2026-04-05"), Age: 36, Sex: "X", Program: "cardiac", Channel: "app", EnrolledVia: "employer"},
			{ID: "105", EnrolledOn: day("2025-12-01"), Age: 75, Sex: "M", Program: "weight", Channel: "app", PriorNoShows: 3, EnrolledVia: "employer"},
		},
		Events: []caresignal.Event{
			{PatientID: "101", OccurredOn: day("2026-01-05"), Kind: "session"}, {PatientID: "101", OccurredOn: day("2026-01-20"), Kind: "message"},
			{PatientID: "101", OccurredOn: day("2026-02-10"), Kind: "session"}, {PatientID: "101", OccurredOn: day("2026-04-02"), Kind: "session"},
			{PatientID: "102", OccurredOn: day("2026-01-16"), Kind: "message"},
			{PatientID: "104", OccurredOn: day("2026-04-06"), Kind: "session"},
			{PatientID: "105", OccurredOn: day("2025-11-20"), Kind: "session"}, {PatientID: "105", OccurredOn: day("2026-01-10"), Kind: "session"},
			{PatientID: "105", OccurredOn: day("2026-01-20"), Kind: "session"},
		},
		Disenrolments: []caresignal.Disenrolment{
			{PatientID: "102", DisenrolledOn: day("2026-03-01"), Reason: "disengaged"},
			{PatientID: "103", DisenrolledOn: day("2026-03-20"), Reason: "transferred"},
			{PatientID: "105", DisenrolledOn: day("2026-01-10"), Reason: "transferred"},
		},
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "cs.db")
			if kind == "postgres" {
				db = pgtest.Schema(t)
			}
			store := openTestStore(t, db)
			if err := store.ReplaceSource(context.Background(), src, nil); err != nil {
				t.Fatal(err)
			}
			r, err := checkSourceJSON(t, "--db", db, "--as-of", "2026-04-01")
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int{
				"patients/enrolled on or after":          1, // 104
				"engagement_events/its patient enrolled": 1, // 104's visit
				"engagement_events/on or after":          1, // 101's visit on 2026-04-02
				"engagement_events/after its patient":    1, // 105's visit after leaving, not the one on the day
			}
			if got := gotIgnored(r); len(got) != len(want) {
				t.Errorf("ignored %v, want %v", got, want)
			} else {
				for k, n := range want {
					if got[k] != n {
						t.Errorf("ignored %s: %d, want %d", k, got[k], n)
					}
				}
			}
			if r.PatientsNoEvents != 1 || r.PersonPeriodRows != 10 || r.PersonPeriod["censored"] != 1 || r.PersonPeriod["incomplete"] != 1 {
				t.Errorf("report %+v", r)
			}
			// No model in the registry: the levels are listed, not judged.
			if r.Model != "" || !strings.Contains(r.ModelNote, "no production engagement model") {
				t.Errorf("model %q, note %q", r.Model, r.ModelNote)
			}
			// The text report says the same.
			out, _, err := runCmd(t, "", "check-source", "--db", db, "--as-of", "2026-04-01")
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"as of 2026-04-01\n", "5 rows, enrolled 2025-12-01 to 2026-04-05; 1 without any engagement event",
				`patients.program: "cardiac" 1, "copd" 1, "diabetes" 2, "weight" 1`,
				"person_period would have 10 rows (6 survived, 1 event, 1 censored, 1 current, 1 incomplete)",
				"1 row: after its patient's disenrolment", "the ELT would run: nothing was written"} {
				if !strings.Contains(out, s) {
					t.Errorf("check-source output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}
