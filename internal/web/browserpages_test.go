package web

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/caresignal/caresignal"
)

// TestBrowserLogin: a person who opens a page without a session lands on
// the login page, is told a wrong key is not valid, and with a right one
// reaches the page they asked for.
func TestBrowserLogin(t *testing.T) {
	b := newBrowser(t)
	if code := b.navigate("/monitoring"); code != 200 {
		t.Fatalf("/monitoring without a session ended on a page answering %d", code)
	}
	if at := b.location(); at != "/login?next=%2Fmonitoring" {
		t.Fatalf("/monitoring without a session ended at %s, not the login page", at)
	}
	b.check("login")
	key, err := b.server.key(caresignal.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	// The right key's id with a wrong secret: refused.
	b.fill("#key", key[:len(key)-8]+"00000000")
	if code := b.submit("form.login button[type=submit]"); code != 401 {
		t.Fatalf("a wrong key: the page answered %d, want 401", code)
	}
	if msg := b.text(".formerr"); msg != "That key is not valid." {
		t.Errorf("a wrong key: the page says %q", msg)
	}
	// The browser reports the page's 401 as a failed load.
	if got := b.expectConsole(`status of 401`); len(got) != 1 {
		t.Errorf("a refused login: console %q, want the one failed load of the page", got)
	}
	b.check("login-refused")
	b.fill("#key", key)
	if code := b.submit("form.login button[type=submit]"); code != 200 {
		t.Fatalf("the right key: the page answered %d", code)
	}
	if at := b.location(); at != "/monitoring" {
		t.Fatalf("the right key: the login ended at %s, not the page asked for", at)
	}
	if who := b.text("form.logout .muted"); !strings.Contains(who, "(viewer)") {
		t.Errorf("after the login the header says %q", who)
	}
	b.consoleClean("the login")
}

// whatIfResult is what the what-if page shows of a prediction: the
// survival curve as drawn, and the four figures above it.
type whatIfResult struct {
	curve   string   // the d of the survival line
	figures []string // month-1 risk, expected months, median, risk within the horizon
}

func (b *browserSession) whatIfResult() whatIfResult {
	b.t.Helper()
	r := whatIfResult{curve: b.attr("section.card svg path.plot-line", "d"), figures: b.texts(".stat b")}
	if len(r.figures) != 4 {
		b.t.Fatalf("the what-if page shows %d figures, want 4: %q", len(r.figures), r.figures)
	}
	return r
}

// TestBrowserWhatIf: changing a patient's engagement on the what-if form
// and pressing Predict redraws the curve and the figures, which are the
// model's own prediction for the values the form shows.
func TestBrowserWhatIf(t *testing.T) {
	b := newBrowser(t)
	b.login(caresignal.RoleViewer)
	b.check("whatif")
	before := b.whatIfResult()

	b.fill("#f-days_since_last_session", "60")
	b.fill("#f-sessions_last_month", "0")
	if code := b.submit("form.card button[type=submit]"); code != 200 {
		t.Fatalf("Predict: the page answered %d", code)
	}
	if at := b.location(); at != "/" {
		t.Fatalf("Predict ended at %s", at)
	}
	b.check("whatif-result")
	after := b.whatIfResult()
	if after.curve == before.curve {
		t.Errorf("the survival curve did not move: %s", after.curve)
	}
	if v := b.value("#f-days_since_last_session"); v != "60" {
		t.Errorf("the form shows days since last session %q after Predict, want what was typed", v)
	}

	// The figures are the model's prediction for what the form holds.
	m := b.server.model
	inst := caresignal.Instance{Features: map[string]caresignal.Value{}}
	for _, in := range m.Inputs() {
		v := b.value("#f-" + in.Name)
		switch {
		case v == "":
			inst.Features[in.Name] = caresignal.NullValue()
		case in.Categorical:
			inst.Features[in.Name] = caresignal.Str(v)
		default:
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("the form's %s is %q", in.Name, v)
			}
			inst.Features[in.Name] = caresignal.Num(x)
		}
	}
	for sel, n := range map[string]*int{"#f-me": &inst.MonthsEnrolled, "#f-de": &inst.DaysElapsed, "#f-h": &inst.Horizon} {
		v := b.value(sel)
		var err error
		if *n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("the form's %s is %q", sel, v)
		}
	}
	p, err := m.Predict(&inst)
	if err != nil {
		t.Fatal(err)
	}
	pct := func(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }
	want := []string{pct(p.Hazard[0]), strconv.FormatFloat(p.ExpectedMonths, 'f', 2, 64), "", pct(1 - p.Survival[len(p.Survival)-1])}
	for i, w := range want {
		if w != "" && after.figures[i] != w {
			t.Errorf("figure %d is %s, the model's %s (figures %q)", i, after.figures[i], w, after.figures)
		}
	}
	// Less engaged, more at risk: the month's risk rises and the months
	// expected fall.
	risk := func(r whatIfResult) float64 {
		x, _ := strconv.ParseFloat(strings.TrimSuffix(r.figures[0], "%"), 64)
		return x
	}
	months := func(r whatIfResult) float64 {
		x, _ := strconv.ParseFloat(r.figures[1], 64)
		return x
	}
	if !(risk(after) > risk(before) && months(after) < months(before)) {
		t.Errorf("60 days since the last session and no sessions: figures %q, before %q", after.figures, before.figures)
	}
}

// TestBrowserPages: a viewer opens the other pages of the menu and sees
// the stored data: the worklist's patients in the database's order, the
// served model, the latest evaluation report with its full report framed
// in the page.
func TestBrowserPages(t *testing.T) {
	b := newBrowser(t)
	b.login(caresignal.RoleViewer)

	b.open("/worklist")
	wl, err := b.server.store.Worklist(context.Background(), caresignal.WorklistQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	ids := b.worklistIDs()
	if want := rowIDs(wl.Rows); len(want) != 50 || !slices.Equal(ids, want) {
		t.Errorf("the worklist shows %d patients %q…, the database's top 50 are %q…", len(ids), ids[:min(3, len(ids))], want[:min(3, len(want))])
	}
	if txt := b.text("main .card"); !strings.Contains(txt, "as of "+wl.Run.AsOf.Format("2006-01-02")) {
		t.Errorf("the worklist does not give its scores' as-of date %s", wl.Run.AsOf.Format("2006-01-02"))
	}

	b.open("/model")
	if h := b.text("h1"); !strings.Contains(h, "Model engagement") || !strings.Contains(h, b.server.model.Version) {
		t.Errorf("the model page's heading %q", h)
	}
	if terms := b.texts("main table tbody tr td:first-child"); !slices.Contains(terms, "days_since_last_session") {
		t.Errorf("the model page's terms %q lack days_since_last_session", terms)
	}

	b.open("/monitoring")
	ev, err := b.server.store.LatestEvaluation(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if txt := b.text("main .card"); !strings.Contains(txt, "version "+ev.Version) {
		t.Errorf("the monitoring page does not name the report's version %s", ev.Version)
	}
	// The full report, framed: its own heading, in a frame of the page.
	frame := step(b, "reading the framed report", chromedp.Evaluate[string](
		`(() => { const f = document.querySelector('iframe.report'); return f && f.src; })()`))
	if frame != b.url("/monitoring/report") {
		t.Errorf("the monitoring page frames %q", frame)
	}
}

// TestBrowserTrustsOnlyTheServersKey: the browser accepts the test
// server's self-signed certificate, and no other: a server with another
// self-signed certificate is refused.
func TestBrowserTrustsOnlyTheServersKey(t *testing.T) {
	b := newBrowser(t)
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<p>other</p>")) }))
	other.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	other.StartTLS()
	defer other.Close()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.NavigateResponse(other.URL))
	if err == nil || !strings.Contains(err.Error(), "ERR_CERT_AUTHORITY_INVALID") {
		t.Errorf("a server with another self-signed certificate: %v, want ERR_CERT_AUTHORITY_INVALID", err)
	}
	b.expectConsole(`.`) // whatever the refused page logged
	b.open("/login")
}

// TestBrowserSeesPolicyViolations: the console check catches what the
// pages must never do: an inline style the Content-Security-Policy
// refuses, and an error a script logs.
func TestBrowserSeesPolicyViolations(t *testing.T) {
	b := newBrowser(t)
	b.open("/login")
	step(b, "breaking the policy", chromedp.Evaluate[chromedp.Void](
		`document.querySelector('main').insertAdjacentHTML('beforeend', '<p style="color:red">inline</p>'); console.error('logged by a script')`))
	if got := b.expectConsole(`Content Security Policy`); len(got) == 0 {
		t.Error("an inline style attribute: no policy violation seen")
	}
	if got := b.expectConsole(`logged by a script`); len(got) != 1 {
		t.Errorf("console.error: seen %q", got)
	}
}

// TestBrowserDownloadCSV holds downloadCSV to a file served for download
// by a stand-in (the app has no download yet): it returns the file's
// name and rows as sent.
func TestBrowserDownloadCSV(t *testing.T) {
	b := newBrowser(t)
	const body = "patient,note\r\nP1,\"reached, call back\"\r\nP2,'=1+1\r\n"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<!doctype html><title>export</title><link rel="icon" href="data:,"><a id="csv" href="/rows.csv">Export</a>`))
	})
	mux.HandleFunc("GET /rows.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="worklist-2026-11-01.csv"`)
		w.Write([]byte(body))
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{b.env.cert.cert}}
	srv.StartTLS()
	defer srv.Close()
	b.do("opening the stand-in", chromedp.Navigate(srv.URL))
	name, rows := b.downloadCSV("#csv")
	want := [][]string{{"patient", "note"}, {"P1", "reached, call back"}, {"P2", "'=1+1"}}
	if name != "worklist-2026-11-01.csv" || !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("downloaded %s: %q, want %q", name, rows, want)
	}
}
