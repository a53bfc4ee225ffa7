package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser tests open the web app in Debian's Chromium, headless,
// driven through the DevTools protocol (chromedp), as a person would:
// they type a key into the login page, fill in forms and press their
// buttons, and look at every page at desktop width and at a phone's (no
// sideways scrolling) with the console watched for errors and
// Content-Security-Policy violations.
//
// A test starts with newBrowser and goes on in a few lines:
//
//	b := newBrowser(t)
//	b.login(caresignal.RoleViewer)
//	b.open("/model")                        // 200, console clean, fits a phone
//	b.text("h1")                            // what the page says
//	b.fill("#f-age", "70")                  // type into a field
//	b.submit("form button")                 // press a button, wait for the next page
//	b.check("after-submit")                 // open's checks, for a page reached otherwise
//	name, rows := b.downloadCSV("a.export") // click a download link, read the CSV
//
// Chromium is found as CARESIGNAL_CHROMIUM or chromium on the PATH;
// without it the tests skip, saying so, except under CI=true, where they
// fail. A failing test saves a screenshot, the page's HTML and the
// console into its artifacts directory and prints the path:
// $CARESIGNAL_SCREENSHOTS/<test> when that is set, else
// $TMPDIR/caresignal-browser-<test>. With CARESIGNAL_SCREENSHOTS set,
// every page a test checks is also saved there at desktop and phone
// width.
//
// One Chromium and one server serve all the tests of the binary (the
// server's data takes seconds to build); each test has a browser context
// of its own, so cookies do not leak from one test to the next.

const (
	desktopWidth, desktopHeight = 1280, 900
	phoneWidth, phoneHeight     = 390, 844
	// actionTimeout bounds each step of a test: a navigation, a click and
	// the page it loads, a screenshot.
	actionTimeout = 20 * time.Second
	// startTimeout bounds starting Chromium.
	startTimeout = 60 * time.Second
)

// chromiumFlags are the browser's command line besides the profile and
// the certificate: headless, no sandbox (the tests run as root in CI), no
// GPU, and nothing that reaches out to a network on its own.
var chromiumFlags = []string{"headless=new", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
	"no-default-browser-check", "disable-background-networking", "disable-component-update", "disable-sync",
	"disable-dev-shm-usage", "disable-extensions", "password-store=basic", "use-mock-keychain", "hide-scrollbars", "mute-audio"}

// browserEnv is what the browser tests share: the server, and a running
// Chromium whose contexts the tests open.
type browserEnv struct {
	cert    *browserCert // the server's, the one the browser accepts
	server  *browserServer
	browser context.Context // a chromedp context whose first run started Chromium
	cancel  context.CancelFunc
	stop    context.CancelFunc // the allocator's
	profile string             // the user-data-dir, removed after Chromium exits
}

var shared struct {
	once sync.Once
	env  *browserEnv
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if e := shared.env; e != nil {
		e.close()
	}
	os.Exit(code)
}

// findChromium returns the browser's executable: $CARESIGNAL_CHROMIUM, or
// Debian's chromium (or chromium-browser) on the PATH.
func findChromium() (string, error) {
	if p := os.Getenv("CARESIGNAL_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("CARESIGNAL_CHROMIUM=%s: %w", p, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on the PATH (Debian: apt-get install chromium; or set CARESIGNAL_CHROMIUM)")
}

// sharedEnv starts the server and Chromium on first use. Without Chromium
// the test skips, or fails under CI=true.
func sharedEnv(t *testing.T) *browserEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("drives a real browser (-short)")
	}
	exe, err := findChromium()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the browser tests need Chromium in CI (.ci/run installs it): %v", err)
		}
		t.Skipf("skipping the browser tests: %v", err)
	}
	shared.once.Do(func() { shared.env, shared.err = startEnv(exe) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.env
}

func startEnv(exe string) (*browserEnv, error) {
	cert, err := newBrowserCert()
	if err != nil {
		return nil, err
	}
	e := &browserEnv{cert: cert}
	// The server's data and Chromium take seconds each: both at once.
	var wg sync.WaitGroup
	var serverErr error
	wg.Go(func() { e.server, serverErr = startBrowserServer(cert) })
	err = e.startChromium(exe, cert)
	wg.Wait()
	if err = errors.Join(serverErr, err); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// startChromium starts the browser with a profile of its own.
func (e *browserEnv) startChromium(exe string, cert *browserCert) error {
	var err error
	if e.profile, err = os.MkdirTemp("", "caresignal-browser-profile"); err != nil {
		return err
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(exe), chromedp.UserDataDir(e.profile),
		chromedp.WindowSize(desktopWidth, desktopHeight),
		// The server's certificate is self-signed. Rather than ignore
		// every certificate error, the browser accepts this one key
		// alone: a server with any other self-signed certificate still
		// fails (TestBrowserTrustsOnlyTheServersKey).
		chromedp.Flag("ignore-certificate-errors-spki-list", cert.spki)}
	for _, f := range chromiumFlags {
		name, value, ok := strings.Cut(f, "=")
		if ok {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	alloc, stop := chromedp.NewExecAllocator(context.Background(), opts...)
	e.browser, e.cancel = chromedp.NewContext(alloc)
	e.stop = stop
	if err := firstRun(e.browser, e.cancel, startTimeout); err != nil {
		return fmt.Errorf("starting Chromium (%s): %w", exe, err)
	}
	return nil
}

// firstRun makes the first run on a chromedp context, which starts
// Chromium or opens the context's tab. That run binds the browser or the
// tab to the context it is given, for good, so it must not be a context
// with a deadline: instead, past timeout, cancel is called.
func firstRun(ctx context.Context, cancel context.CancelFunc, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		cancel()
		return fmt.Errorf("no answer within %v", timeout)
	}
}

func (e *browserEnv) close() {
	if e.browser != nil {
		chromedp.Cancel(e.browser) // closes the browser and waits for it
		e.cancel()
		e.stop()
	}
	if e.profile != "" {
		os.RemoveAll(e.profile)
	}
	if e.server != nil {
		e.server.close()
	}
}

// browserSession is one test's tab, in a browser context of its own.
type browserSession struct {
	t      *testing.T
	ctx    context.Context
	env    *browserEnv
	server *browserServer
	base   string // https://127.0.0.1:port

	mu       sync.Mutex
	console  []string // every message, for the artifacts
	problems []string // errors, exceptions, warnings and policy violations not yet reported
	shots    int      // failure screenshots taken
}

// newBrowser opens a tab in a fresh browser context of the shared
// Chromium, sized as a desktop.
func newBrowser(t *testing.T) *browserSession {
	t.Helper()
	env := sharedEnv(t)
	b := &browserSession{t: t, env: env, server: env.server, base: env.server.srv.URL}
	ctx, cancel := chromedp.NewContext(env.browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(b.listen))
	t.Cleanup(cancel)
	b.ctx = ctx
	if err := firstRun(ctx, cancel, actionTimeout); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	b.do("sizing the tab as a desktop", chromedp.EmulateViewport(desktopWidth, desktopHeight))
	// Registered after the tab's cancel, so it runs first: the tab is
	// still there to photograph.
	t.Cleanup(func() {
		if !t.Failed() {
			b.consoleClean("the end of the test")
		}
		if t.Failed() {
			b.saveFailure()
		}
	})
	return b
}

// listen records the console: calls of the console API, uncaught
// exceptions and the browser's own log, where Content-Security-Policy
// violations and failed loads appear. It runs in the tab's event loop, in
// the order the events came, so a step that returns has seen the events
// its page sent before it returned.
func (b *browserSession) listen(ev any) {
	var msg string
	problem := false
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range ev.Args {
			if len(a.Value) > 0 {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
		problem = ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = "exception: " + d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		problem = true
	case *log.EventEntryAdded:
		e := ev.Entry
		msg = fmt.Sprintf("%s %s: %s (%s)", e.Level, e.Source, e.Text, e.URL)
		problem = e.Level == log.EntryLevelError || e.Level == log.EntryLevelWarning
	default:
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.console = append(b.console, msg)
	if problem {
		b.problems = append(b.problems, msg)
	}
}

// consoleClean fails the test if the console has shown an error, an
// exception, a warning or a policy violation since the last check.
func (b *browserSession) consoleClean(where string) {
	b.t.Helper()
	b.mu.Lock()
	p := b.problems
	b.problems = nil
	b.mu.Unlock()
	if len(p) > 0 {
		b.t.Errorf("the console at %s:\n\t%s", where, strings.Join(p, "\n\t"))
	}
}

// expectConsole removes from the problems not yet reported those that
// match pattern, and returns them: for a test that causes one on purpose.
func (b *browserSession) expectConsole(pattern string) []string {
	re := regexp.MustCompile(pattern)
	b.mu.Lock()
	defer b.mu.Unlock()
	var matched, rest []string
	for _, p := range b.problems {
		if re.MatchString(p) {
			matched = append(matched, p)
		} else {
			rest = append(rest, p)
		}
	}
	b.problems = rest
	return matched
}

// step runs a to completion within actionTimeout.
func step[T any](b *browserSession, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// do runs actions that return nothing, in order, within actionTimeout.
func (b *browserSession) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	step(b, what, chromedp.Steps(actions...))
}

// url is the server's address of path.
func (b *browserSession) url(path string) string { return b.base + path }

// location is the address the tab shows, without the server's part.
func (b *browserSession) location() string {
	b.t.Helper()
	return strings.TrimPrefix(step(b, "reading the location", chromedp.Location()), b.base)
}

// navigate loads path and returns the HTTP status of the page the tab
// ends on (after redirects).
func (b *browserSession) navigate(path string) int64 {
	b.t.Helper()
	resp := step(b, "opening "+path, chromedp.NavigateResponse(b.url(path)))
	return resp.Status
}

// open loads path, which must answer 200 without sending the tab
// elsewhere (the login page, for a session that lacks the role), and
// checks the page (see check), named by its path.
func (b *browserSession) open(path string) {
	b.t.Helper()
	if code := b.navigate(path); code != 200 {
		b.t.Fatalf("%s answered %d", path, code)
	}
	if at := b.location(); at != path {
		b.t.Fatalf("opening %s ended at %s", path, at)
	}
	b.check(pageName(path))
}

// pageName names a page's screenshots by its path: "/" is "whatif".
func pageName(path string) string {
	name := strings.Trim(regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(path, "-"), "-")
	if name == "" {
		return "whatif"
	}
	return name
}

// submit clicks the button sel, which must load a page, and returns the
// page's HTTP status.
func (b *browserSession) submit(sel string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("clicking %s: %v", sel, err)
	}
	if resp == nil {
		b.t.Fatalf("clicking %s loaded no page", sel)
	}
	return resp.Status
}

// fill replaces the value of the input sel by typing value into it.
func (b *browserSession) fill(sel, value string) {
	b.t.Helper()
	b.do("filling in "+sel, chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value))
}

// text returns the visible text of the first element sel matches.
func (b *browserSession) text(sel string) string {
	b.t.Helper()
	return step(b, "reading "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// texts returns the visible text of every element sel matches (none: an
// empty slice, without waiting).
func (b *browserSession) texts(sel string) []string {
	b.t.Helper()
	return step(b, "reading every "+sel, chromedp.Evaluate[[]string](
		fmt.Sprintf(`Array.from(document.querySelectorAll(%q), e => e.innerText.trim())`, sel)))
}

// attr returns the attribute name of the first element sel matches.
func (b *browserSession) attr(sel, name string) string {
	b.t.Helper()
	r := step(b, "reading "+name+" of "+sel, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if !r.Exists {
		b.t.Fatalf("%s has no attribute %s", sel, name)
	}
	return r.Value
}

// value returns the current value of the form field sel.
func (b *browserSession) value(sel string) string {
	b.t.Helper()
	return step(b, "reading the value of "+sel, chromedp.Value(chromedp.CSS(sel)))
}

// login logs in through the login page as a person does: open it, type
// a key of role (made for the test) and press the button; it must end on
// the what-if page with the role shown in the header.
func (b *browserSession) login(role string) {
	b.t.Helper()
	key, err := b.server.key(role)
	if err != nil {
		b.t.Fatalf("making a %s key: %v", role, err)
	}
	if code := b.navigate("/login"); code != 200 {
		b.t.Fatalf("the login page answered %d", code)
	}
	b.fill("#key", key)
	if code := b.submit("form.login button[type=submit]"); code != 200 {
		b.t.Fatalf("logging in as %s: the page after the login answered %d", role, code)
	}
	if at := b.location(); at != "/" {
		b.t.Fatalf("logging in as %s ended at %s, not the what-if page", role, at)
	}
	if who := b.text("form.logout .muted"); !strings.Contains(who, "("+role+")") {
		b.t.Fatalf("after logging in as %s the header says %q", role, who)
	}
	b.consoleClean("the login")
}

// check runs the checks every page must pass in the state it is in: no
// console problem, and no sideways scrolling at a phone's width; with
// CARESIGNAL_SCREENSHOTS set, it saves the page at desktop and phone width
// as name-desktop.png and name-phone.png.
func (b *browserSession) check(name string) {
	b.t.Helper()
	b.consoleClean(name)
	b.shot(name + "-desktop")
	b.phoneWidthOK(name)
}

// phoneWidthOK lays the page out at a phone's width (device metrics
// emulation, as a phone with a 390 px wide screen) and fails the test if
// the page is wider than the screen, naming the elements that stick out;
// then it goes back to the desktop width.
func (b *browserSession) phoneWidthOK(name string) {
	b.t.Helper()
	b.do("emulating a phone", chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateMobile))
	defer b.do("back to a desktop", chromedp.EmulateViewport(desktopWidth, desktopHeight))
	// The layout viewport, not the window: a phone zooms out to show a
	// page wider than its screen, which widens the window.
	step(b, "waiting for the phone layout", chromedp.Poll[bool](fmt.Sprintf("document.documentElement.clientWidth === %d", phoneWidth),
		chromedp.WithPollingTimeout(5*time.Second)))
	type overflow struct {
		ScrollWidth int      `json:"scrollWidth"`
		ClientWidth int      `json:"clientWidth"`
		Wide        []string `json:"wide"`
	}
	// Two frames, so that what the screenshot shows (out-of-process
	// frames included) is painted at the new width too.
	step(b, "waiting for the phone layout to paint", chromedp.Evaluate[chromedp.Void](
		`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())))`, chromedp.EvalAwaitPromise))
	o := step(b, "measuring the page at a phone's width", chromedp.Evaluate[overflow](`(() => {
		const d = document.documentElement, w = d.clientWidth, wide = [];
		for (const e of document.body.querySelectorAll('*')) {
			const r = e.getBoundingClientRect();
			if (r.width > 0 && r.right > w + 0.5 && wide.length < 10) {
				const cls = typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\s+/).join('.') : '';
				wide.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + cls + ' to ' + Math.round(r.right) + 'px');
			}
		}
		return {scrollWidth: d.scrollWidth, clientWidth: w, wide};
	})()`))
	b.shot(name + "-phone")
	if o.ScrollWidth > o.ClientWidth {
		b.t.Errorf("%s at a phone's width (%d px) scrolls sideways: the page is %d px wide; sticking out: %s",
			name, phoneWidth, o.ScrollWidth, strings.Join(o.Wide, ", "))
	}
}

// artifactsDir is where the test's screenshots go: see the top of this
// file.
func (b *browserSession) artifactsDir() string {
	name := strings.ReplaceAll(b.t.Name(), "/", "_")
	if dir := os.Getenv("CARESIGNAL_SCREENSHOTS"); dir != "" {
		return filepath.Join(dir, name)
	}
	return filepath.Join(os.TempDir(), "caresignal-browser-"+name)
}

// shot saves the whole page as name.png in the artifacts directory when
// CARESIGNAL_SCREENSHOTS is set.
func (b *browserSession) shot(name string) {
	b.t.Helper()
	if os.Getenv("CARESIGNAL_SCREENSHOTS") == "" {
		return
	}
	png := step(b, "taking a screenshot", chromedp.FullScreenshot(100))
	if err := b.save(name+".png", png); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browserSession) save(name string, data []byte) error {
	dir := b.artifactsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), data, 0o644)
}

// saveFailure saves what the tab shows when the test failed: a full-page
// screenshot, the page's HTML and the console, and says where.
func (b *browserSession) saveFailure() {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	b.shots++
	prefix := fmt.Sprintf("failure-%d", b.shots)
	var saved []string
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		b.t.Logf("no screenshot of the failure: %v", err)
	} else if err := b.save(prefix+".png", png); err != nil {
		b.t.Logf("no screenshot of the failure: %v", err)
	} else {
		saved = append(saved, prefix+".png")
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil && b.save(prefix+".html", []byte(html)) == nil {
		saved = append(saved, prefix+".html")
	}
	b.mu.Lock()
	console := strings.Join(b.console, "\n") + "\n"
	b.mu.Unlock()
	if b.save(prefix+"-console.txt", []byte(console)) == nil {
		saved = append(saved, prefix+"-console.txt")
	}
	if len(saved) > 0 {
		b.t.Logf("the page at the failure: %s in %s", strings.Join(saved, ", "), b.artifactsDir())
	}
}

// downloadCSV clicks the link or button sel, which must download a file,
// waits for the download to finish, and returns the file's suggested
// name and its rows, read as CSV. The file goes to a directory of the
// test's (the browser context's download behaviour).
func (b *browserSession) downloadCSV(sel string) (string, [][]string) {
	b.t.Helper()
	dir := b.t.TempDir()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	c := chromedp.FromContext(b.ctx)
	_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: c.BrowserContextID,
		DownloadPath: dir, EventsEnabled: new(true)})
	if err != nil {
		b.t.Fatalf("allowing downloads: %v", err)
	}
	begun := chromedp.BrowserEvents(ctx, browser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("clicking %s: %v", sel, err)
	}
	var guid, name string
	for ev, err := range begun {
		if err != nil {
			b.t.Fatalf("clicking %s started no download: %v", sel, err)
		}
		guid, name = ev.GUID, ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			b.t.Fatalf("the download of %s did not finish: %v", name, err)
		}
		if ev.GUID != guid {
			continue
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			b.t.Fatalf("the download of %s was cancelled", name)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
	}
	// allowAndName saves the file under its download's id.
	data, err := os.ReadFile(filepath.Join(dir, guid))
	if err != nil {
		b.t.Fatalf("reading the downloaded %s: %v", name, err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		b.t.Fatalf("the downloaded %s is not CSV: %v", name, err)
	}
	return name, rows
}
