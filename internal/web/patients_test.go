package web

import (
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sqlite"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/synth"
)

// scoredCohort loads a synthetic cohort of n patients into store and
// scores it twice with m, a fortnight apart, as the scheduled run would.
// One enrolled patient's program is "=2+3", which a spreadsheet would
// run.
func scoredCohort(t testing.TB, store caresignal.Store, m *model.Model, n int) *synth.Cohort {
	t.Helper()
	ctx := context.Background()
	c, err := synth.Generate(synth.Sized(n, 9), nil)
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{}
	for _, d := range c.Source.Disenrolments {
		left[d.PatientID] = true
	}
	for i := range c.Source.Patients {
		if p := &c.Source.Patients[i]; !left[p.ID] && p.EnrolledOn.Before(c.Config.AsOf.AddDate(0, 0, -14)) {
			p.Program = "=2+3"
			break
		}
	}
	if err := store.ReplaceSource(ctx, &c.Source, nil); err != nil {
		t.Fatal(err)
	}
	for _, asOf := range []time.Time{c.Config.AsOf.AddDate(0, 0, -14), c.Config.AsOf} {
		if _, err := store.RunELT(ctx, asOf); err != nil {
			t.Fatal(err)
		}
		b, err := serving.ScoreBatch(ctx, store, m, serving.BatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Store(ctx, store); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func openSQLite(t testing.TB) caresignal.Store {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

var rowRE = regexp.MustCompile(`<td class="n" data-label="rank">(\d+)</td>\s*<td data-label="patient"><span><a href="/patients/([^"]+)">`)

// worklistIDs returns the ranks and patient ids of a worklist page.
func worklistIDs(body string) (ranks []int, ids []string) {
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		r, _ := strconv.Atoi(m[1])
		ranks, ids = append(ranks, r), append(ids, m[2])
	}
	return ranks, ids
}

// TestWorklistPages: the worklist lists every enrolled patient of the
// latest run in the store's order, 50 to a page, with drivers in words,
// bands and the change since the previous run; filters, search and
// paging select what the store selects; the CSV export holds every
// selected row in the same order, escaped against formulas, and is
// audited without the search text.
func TestWorklistPages(t *testing.T) {
	ctx := context.Background()
	m := testModel(t)
	store := openSQLite(t)
	scoredCohort(t, store, m, 2000)
	logs := &syncBuffer{}
	srv := httptest.NewServer(NewHandler(Config{Model: m, Store: store, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Mode: "dev"}))
	defer srv.Close()

	all, err := store.Worklist(ctx, caresignal.WorklistQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if all.Total < 200 || all.Previous == nil {
		t.Fatalf("fixture: %d enrolled, previous run %v", all.Total, all.Previous)
	}
	code, _, body := getBody(t, srv, "/worklist")
	ranks, ids := worklistIDs(body)
	if code != 200 || len(ids) != worklistPageSize || ranks[0] != 1 || ids[0] != all.Rows[0].PatientID || ids[49] != all.Rows[49].PatientID {
		t.Fatalf("first page: %d, %d rows, first %v", code, len(ids), ids[:min(3, len(ids))])
	}
	for _, want := range []string{"Patients 1–50 of " + countInt(all.Total), "page 1 of " + strconv.Itoa((all.Total+49)/50), all.Rows[0].Drivers[0].Words,
		`class="band high"`, "compared with the run as of", "pts</td>", `rel="next"`} {
		if !strings.Contains(body, want) {
			t.Errorf("first page lacks %q", want)
		}
	}
	if strings.Contains(body, `rel="prev"`) {
		t.Error("the first page links to a previous one")
	}

	program := all.Rows[0].Program
	for _, tc := range []struct {
		query string
		q     caresignal.WorklistQuery
	}{
		{"?page=2", caresignal.WorklistQuery{Offset: 50, Limit: 50}},
		{"?sort=lost&band=medium", caresignal.WorklistQuery{Sort: caresignal.SortLost, Band: caresignal.BandMedium, Limit: 50}},
		{"?program=" + url.QueryEscape(program) + "&new=1", caresignal.WorklistQuery{Program: program, New: true, Limit: 50}},
		{"?q=" + url.QueryEscape(strings.ToLower(all.Rows[7].PatientID)), caresignal.WorklistQuery{PatientID: all.Rows[7].PatientID, Limit: 50}},
	} {
		want, err := store.Worklist(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		code, _, body := getBody(t, srv, "/worklist"+tc.query)
		ranks, ids := worklistIDs(body)
		var wantIDs []string
		for _, r := range want.Rows {
			wantIDs = append(wantIDs, r.PatientID)
		}
		if code != 200 || !slices.Equal(ids, wantIDs) || (len(ranks) > 0 && ranks[0] != tc.q.Offset+1) {
			t.Errorf("%s: %d, ids %v…, want %v…", tc.query, code, ids[:min(3, len(ids))], wantIDs[:min(3, len(wantIDs))])
		}
	}
	for query, msg := range map[string]string{"?sort=oldest": "choose risk or expected months lost", "?band=severe": "There is no risk band", "?page=0": "The page must be"} {
		code, _, body := getBody(t, srv, "/worklist"+query)
		if code != 400 || !strings.Contains(body, msg) {
			t.Errorf("%s: %d, want 400 saying %q", query, code, msg)
		}
	}

	// The export: every row the filters select, in the page's order.
	resp, err := http.Get(srv.URL + "/worklist.csv?sort=lost&q=P")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("export: %d %v %v", resp.StatusCode, resp.Header, err)
	}
	lost, _ := store.Worklist(ctx, caresignal.WorklistQuery{Sort: caresignal.SortLost, PatientID: "P"})
	if len(recs) != lost.Total+1 || recs[0][1] != "patient_id" {
		t.Fatalf("export: %d records, want %d and a header", len(recs), lost.Total+1)
	}
	escaped := false
	for i, r := range lost.Rows {
		rec := recs[i+1]
		if rec[0] != strconv.Itoa(i+1) || rec[1] != r.PatientID || rec[5] != string(r.Band) {
			t.Fatalf("export row %d = %v, want %s", i+1, rec, r.PatientID)
		}
		if r.Program == "=2+3" {
			escaped = rec[2] == "'=2+3"
		}
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Fatalf("export row %d has a cell a spreadsheet would run: %q", i+1, cell)
			}
		}
	}
	if !escaped {
		t.Error(`the program "=2+3" was not exported as '=2+3`)
	}
	if l := logs.String(); !strings.Contains(l, `"action":"worklist.export"`) || !strings.Contains(l, `"target":"sort=lost search"`) || strings.Contains(l, `P0`) {
		t.Errorf("the export's audit line: %s", l)
	}
}

// TestPatientPage: a patient's page shows the curves and drivers the
// model gives for the stored features, the history of both runs and the
// contacts; the what-if panel moves the curve; a contact is recorded and
// listed, a wrong one refused by name; an unknown id is 404.
func TestPatientPage(t *testing.T) {
	m := testModel(t)
	store := openSQLite(t)
	scoredCohort(t, store, m, 2000)
	srv := httptest.NewServer(NewHandler(Config{Model: m, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Mode: "dev"}))
	defer srv.Close()
	ctx := context.Background()
	wl, err := store.Worklist(ctx, caresignal.WorklistQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	top := wl.Rows[0]
	code, _, body := getBody(t, srv, "/patients/"+top.PatientID)
	if code != 200 {
		t.Fatalf("patient page: %d %.300s", code, body)
	}
	for _, want := range []string{"Patient " + top.PatientID, pctOf(top.Risk30), top.Drivers[0].Words, "Risk at each scoring run", "No contact recorded yet", `<svg`, "What if"} {
		if !strings.Contains(body, want) {
			t.Errorf("patient page lacks %q", want)
		}
	}
	if n := strings.Count(body, "<tr><td>20"); n != 2 {
		t.Errorf("history: %d runs listed, want 2", n)
	}

	// What-if: more sessions lowers the risk this month.
	now, err := store.PatientNow(ctx, top.PatientID)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{}
	for _, in := range m.Inputs() {
		if j := slices.Index(now.Columns, in.Name); j >= 0 && !now.Row.Values[j].Missing() {
			form.Set(in.Name, now.Row.Values[j].String())
		}
	}
	form.Set("sessions_last_month", "12")
	form.Set("days_since_last_session", "1")
	form.Set("horizon", "12")
	resp, err := http.PostForm(srv.URL+"/patients/"+top.PatientID, form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.StatusCode != 200 || !strings.Contains(page, "Changed: sessions last month, days since last session") || !strings.Contains(page, "with the changes") {
		t.Fatalf("what-if: %d %.400s", resp.StatusCode, page)
	}
	first := regexp.MustCompile(`<b>([0-9.]+)%</b><span>chance of dropping off in the next 30 days, with the changes \(now ([0-9.]+)%\)`).FindStringSubmatch(page)
	if first == nil {
		t.Fatal("what-if: no comparison of this month's risk")
	}
	if changed, base := atof(first[1]), atof(first[2]); !(changed < base) {
		t.Errorf("what-if: 12 sessions and a session yesterday give %v%%, not below %v%%", changed, base)
	}

	// Contacts.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = client.PostForm(srv.URL+"/patients/"+top.PatientID+"/contacts", url.Values{"outcome": {"no_answer"}, "note": {"left a voicemail"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/patients/"+top.PatientID+"?contact=saved#contacts" {
		t.Fatalf("recording a contact: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, _, body = getBody(t, srv, "/patients/"+top.PatientID+"?contact=saved")
	if !strings.Contains(body, "Contact saved.") || !strings.Contains(body, "left a voicemail") || !strings.Contains(body, "<td>no answer</td>") {
		t.Error("the patient page does not list the contact just recorded")
	}
	_, _, body = getBody(t, srv, "/worklist")
	if !strings.Contains(body, "<span>no answer<span class=\"sub\">") {
		t.Error("the worklist does not show the last contact")
	}
	resp, err = client.PostForm(srv.URL+"/patients/"+top.PatientID+"/contacts", url.Values{"outcome": {"maybe"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "unknown outcome") {
		t.Errorf("a contact with outcome maybe: %d", resp.StatusCode)
	}
	if cs, _ := store.Contacts(ctx, top.PatientID); len(cs) != 1 {
		t.Errorf("%d contacts stored, want 1", len(cs))
	}

	for _, id := range []string{"nobody", "P%2F..%2Fetc"} {
		if code, _, _ := getBody(t, srv, "/patients/"+id); code != 404 {
			t.Errorf("/patients/%s: %d, want 404", id, code)
		}
	}
}

func pctOf(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }

func atof(s string) float64 {
	x, _ := strconv.ParseFloat(s, 64)
	return x
}

// TestContactRoles: in production the care role records contacts and the
// action is audited with the patient's id; a viewer reads the page but
// may not record one.
func TestContactRoles(t *testing.T) {
	f := newProdFixture(t, nil)
	scoredCohort(t, f.store, testModel(t), 300)
	wl, err := f.store.Worklist(context.Background(), caresignal.WorklistQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := wl.Rows[0].PatientID
	post := func(role string) *http.Response {
		req, _ := http.NewRequest("POST", f.srv.URL+"/patients/"+id+"/contacts", strings.NewReader("outcome=reached&note=ok"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+f.keys[role])
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for role, want := range map[string]int{"care": 303, "admin": 303, "viewer": 403, "predict": 403} {
		if got := post(role).StatusCode; got != want {
			t.Errorf("contact by %s: %d, want %d", role, got, want)
		}
	}
	resp, body := f.do(t, "GET", "/patients/"+id, f.keys["viewer"], "")
	if resp.StatusCode != 200 || strings.Contains(body, "Record the contact") || !strings.Contains(body, "the care and admin roles record them") {
		t.Errorf("a viewer's patient page: %d, offers the contact form or does not say who records", resp.StatusCode)
	}
	resp, body = f.do(t, "GET", "/patients/"+id, f.keys["care"], "")
	if resp.StatusCode != 200 || !strings.Contains(body, "Record the contact") || strings.Contains(body, `href="/monitoring"`) {
		t.Errorf("a care role's patient page: %d; it must offer the form and not link to monitoring", resp.StatusCode)
	}
	entries, err := f.store.AuditLog(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == "contact.record" && e.Target == id && e.Outcome == "ok" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d contact.record entries naming the patient, want 2: %+v", n, entries)
	}
	if strings.Contains(f.logs.String(), id) {
		t.Error("the patient's id reached the log")
	}
}

// TestDevModeHasNoLogin: development mode has no login page; it sends the
// browser on to where it was going.
func TestDevModeHasNoLogin(t *testing.T) {
	srv, _ := testServer(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{"/login?next=/worklist": "/worklist", "/login": "/", "/login?next=//evil.example/": "/"} {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("GET %s in development mode: %d to %q, want 303 to %s", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}
