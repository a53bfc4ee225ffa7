package web

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/caresignal/caresignal"
)

// worklistIDs reads the patient ids of the worklist page in the tab, in
// order.
func (b *browserSession) worklistIDs() []string {
	b.t.Helper()
	return b.texts("table.worklist tbody tr td[data-label=patient] a")
}

func rowIDs(rows []caresignal.WorklistRow) []string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.PatientID
	}
	return ids
}

// TestBrowserWorklist: a member of a care team logs in, opens the
// worklist, filters it by program, pages on, searches for a patient,
// opens the patient's page, records a contact and sees it listed, moves
// the what-if panel's sessions and sees the curve change, and downloads
// the filtered list as CSV, which holds what the pages show, in the same
// order. Every page is checked at a phone's width too.
func TestBrowserWorklist(t *testing.T) {
	b := newBrowser(t)
	store := b.server.store
	ctx := context.Background()
	b.login(caresignal.RoleCare)
	if menu := b.texts("header nav a"); slices.Contains(menu, "Monitoring") || !slices.Contains(menu, "Worklist") {
		t.Errorf("the care role's menu is %q: it shows the worklist and not monitoring", menu)
	}

	b.open("/worklist")
	all, err := store.Worklist(ctx, caresignal.WorklistQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if ids := b.worklistIDs(); !slices.Equal(ids, rowIDs(all.Rows[:50])) {
		t.Fatalf("the first page shows %q…, the database's first 50 are %q…", ids[:min(3, len(ids))], rowIDs(all.Rows[:3]))
	}
	if c := b.text("#count"); !strings.Contains(c, "of "+countInt(all.Total)) {
		t.Errorf("the count reads %q, want the total %d", c, all.Total)
	}

	// Filter by the top patient's program, as a person does: pick it in
	// the menu and press Show.
	program := all.Rows[0].Program
	b.do("choosing a program", chromedp.SetValue(chromedp.CSS("#w-program"), program))
	b.submit("form.filters button[type=submit]")
	b.check("worklist-filtered")
	byProgram, err := store.Worklist(ctx, caresignal.WorklistQuery{Program: program})
	if err != nil {
		t.Fatal(err)
	}
	if ids := b.worklistIDs(); !slices.Equal(ids, rowIDs(byProgram.Rows[:min(50, len(byProgram.Rows))])) {
		t.Errorf("filtered by %s the page shows %q…", program, ids[:min(3, len(ids))])
	}
	for _, p := range b.texts("table.worklist tbody tr td[data-label=program] > span") {
		if !strings.HasPrefix(p, program) {
			t.Fatalf("filtered by %s the page lists a patient of %q", program, p)
		}
	}

	// The next page keeps the filter.
	if byProgram.Total > 50 {
		b.submit(`a[rel=next]`)
		b.check("worklist-page-2")
		if ids := b.worklistIDs(); len(ids) == 0 || ids[0] != byProgram.Rows[50].PatientID {
			t.Errorf("page 2 of %s starts with %q, want %s", program, ids[:min(1, len(ids))], byProgram.Rows[50].PatientID)
		}
		if r := b.text("table.worklist tbody tr td[data-label=rank]"); r != "51" {
			t.Errorf("page 2 starts at rank %q", r)
		}
	}

	// The CSV of the filter holds every row it selects, as the pages
	// list them.
	name, recs := b.downloadCSV(`#count a[download]`)
	if !strings.HasPrefix(name, "worklist-") || len(recs) != byProgram.Total+1 {
		t.Fatalf("the download %q has %d records, want %d rows and a header", name, len(recs), byProgram.Total)
	}
	for i, r := range byProgram.Rows {
		if recs[i+1][0] != strconv.Itoa(i+1) || recs[i+1][1] != r.PatientID || recs[i+1][2] != program {
			t.Fatalf("CSV row %d is %q, the list's is %s of %s", i+1, recs[i+1][:3], r.PatientID, program)
		}
	}

	// Search for a patient by part of the id, and open the page.
	target := byProgram.Rows[min(3, len(byProgram.Rows)-1)]
	b.open("/worklist")
	b.fill("#w-q", strings.ToLower(target.PatientID[len(target.PatientID)-4:]))
	b.submit("form.filters button[type=submit]")
	if ids := b.worklistIDs(); !slices.Contains(ids, target.PatientID) {
		t.Fatalf("searching for %s found %q", target.PatientID, ids)
	}
	b.submit(`table.worklist a[href="/patients/` + target.PatientID + `"]`)
	if at := b.location(); at != "/patients/"+target.PatientID {
		t.Fatalf("the patient's link went to %s", at)
	}
	b.check("patient")
	if h := b.text("h1"); h != "Patient "+target.PatientID {
		t.Errorf("the patient page's heading is %q", h)
	}

	// Record a contact.
	b.do("choosing an outcome", chromedp.Click(chromedp.CSS(`input[name=outcome][value=no_answer]`)))
	b.do("writing a note", chromedp.SendKeys(chromedp.CSS("#c-note"), "left a message, will call Friday"))
	b.submit("form.contact button[type=submit]")
	b.check("patient-contact-saved")
	if got := b.text("#contacts .good"); got != "Contact saved." {
		t.Errorf("after recording, the page says %q", got)
	}
	if rows := b.texts("table.contacts tbody tr"); len(rows) != 1 || !strings.Contains(rows[0], "no answer") || !strings.Contains(rows[0], "left a message, will call Friday") {
		t.Errorf("the contacts listed: %q", rows)
	}
	if cs, err := store.Contacts(ctx, target.PatientID); err != nil || len(cs) != 1 || !strings.Contains(cs[0].By, "care") {
		t.Errorf("contacts stored: %+v, %v", cs, err)
	}

	// What-if on the patient's page: three sessions and one yesterday.
	b.fill("#p-sessions_last_month", "3")
	b.fill("#p-days_since_last_session", "1")
	b.submit("#whatif button[type=submit]")
	b.check("patient-whatif")
	if txt := b.text("#whatif"); !strings.Contains(txt, "Changed: sessions last month, days since last session") {
		t.Errorf("the what-if panel does not name what changed: %.300q", txt)
	}
	curves := step(b, "reading the two curves", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('#whatif svg path'), p => p.getAttribute('d')).filter(d => d && d.length > 40)`))
	if len(curves) < 2 || curves[0] == curves[1] {
		t.Errorf("the what-if chart does not show two different curves: %d paths", len(curves))
	}

	// The worklist shows the contact.
	b.open("/worklist?q=" + target.PatientID)
	if lc := b.text("table.worklist tbody tr td[data-label='last contact']"); !strings.Contains(lc, "no answer") {
		t.Errorf("the worklist's last contact for %s reads %q", target.PatientID, lc)
	}
}
