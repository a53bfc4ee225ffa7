package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/monitor"
)

// evaluationCache holds the latest stored evaluation for /metrics and the
// pages' banner, read from the database at most every evaluationTTL.
type evaluationCache struct {
	store caresignal.Store
	log   *slog.Logger
	mu    sync.Mutex
	at    time.Time
	ev    *caresignal.Evaluation
}

const evaluationTTL = 15 * time.Second

func (c *evaluationCache) latest(ctx context.Context) *caresignal.Evaluation {
	if c == nil || c.store == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) < evaluationTTL {
		return c.ev
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	ev, err := c.store.LatestEvaluation(ctx, "")
	c.at = time.Now()
	switch {
	case err == nil:
		c.ev = &ev
	case caresignal.ErrorCode(err) == caresignal.ENOTFOUND:
		c.ev = nil
	default:
		// The previous evaluation stays, for at most one TTL.
		c.log.Error("reading the latest evaluation", "request_id", requestID(ctx), "err", err)
	}
	return c.ev
}

var (
	evalFigureDesc = prometheus.NewDesc("caresignal_evaluation_figure",
		"Headline figures of the latest stored evaluation report (caresignal evaluate report), by figure name, e.g. harrell_c, brier.6, parity.mismatched, drift.psi.age.",
		[]string{"model", "version", "figure"}, nil)
	evalFlagsDesc = prometheus.NewDesc("caresignal_evaluation_flags",
		"Checks of the latest evaluation report that failed (0 when all passed).", []string{"model", "version"}, nil)
	evalTimeDesc = prometheus.NewDesc("caresignal_evaluation_timestamp_seconds",
		"When the latest evaluation report was written (Unix time).", []string{"model", "version"}, nil)
)

// Describe sends nothing: the figures vary with the report, so the
// collector is unchecked.
func (c *evaluationCache) Describe(chan<- *prometheus.Desc) {}

// Collect exports the latest evaluation's figures.
func (c *evaluationCache) Collect(ch chan<- prometheus.Metric) {
	ev := c.latest(context.Background())
	if ev == nil {
		return
	}
	names := make([]string, 0, len(ev.Figures))
	for n := range ev.Figures {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ch <- prometheus.MustNewConstMetric(evalFigureDesc, prometheus.GaugeValue, ev.Figures[n], ev.Model, ev.Version, n)
	}
	ch <- prometheus.MustNewConstMetric(evalFlagsDesc, prometheus.GaugeValue, float64(len(ev.Flags)), ev.Model, ev.Version)
	ch <- prometheus.MustNewConstMetric(evalTimeDesc, prometheus.GaugeValue, float64(ev.CreatedAt.Unix()), ev.Model, ev.Version)
}

type monitoringPage struct {
	chrome
	Note       string
	Evaluation *caresignal.Evaluation
	// Verdict is the plain-language status, the report's own (see
	// monitor.Assess).
	Verdict  monitor.Verdict
	Key      []figure          // the headline figures, when the report has them
	Figures  []figure          // every figure
	Findings []monitor.Finding // the first failed checks, in words
	More     []monitor.Finding // the rest
}

type figure struct {
	Name  string
	Value float64
	Help  string
}

// keyFigures are shown first, with what they mean.
var keyFigures = []figure{
	{Name: "next_month.auc", Help: "AUC of the worklist's month: how well its order separates who left"},
	{Name: "harrell_c", Help: "Harrell's concordance over the follow-up"},
	{Name: "uno_c", Help: "Uno's concordance (censoring-weighted)"},
	{Name: "ibs", Help: "integrated Brier score (lower is better)"},
	{Name: "next_month.calibration.slope", Help: "calibration slope of the worklist's month (1 is ideal)"},
	{Name: "calibration.slope", Help: "calibration slope over the follow-up (1 is ideal; 0.8 to 1.25 tolerated)"},
	{Name: "parity.checked", Help: "logged predictions rescored offline"},
	{Name: "parity.mismatched", Help: "of which differ (0 is required)"},
}

const shownFlags = 12

// latestEvaluation reads the newest report for a page; note explains its
// absence.
func (s *server) latestEvaluation(r *http.Request) (ev *caresignal.Evaluation, note string) {
	if s.cfg.Store == nil {
		return nil, "This server has no database, so there is no evaluation to show."
	}
	got, err := s.cfg.Store.LatestEvaluation(r.Context(), "")
	switch caresignal.ErrorCode(err) {
	case "":
		return &got, ""
	case caresignal.ENOTFOUND:
		return nil, "No evaluation report yet: run caresignal evaluate report (the demo writes one)."
	default:
		s.log.Error("monitoring", "request_id", requestID(r.Context()), "err", err)
		return nil, "The evaluation could not be read; see the server log."
	}
}

// handleMonitoring shows the latest evaluation's headline figures and
// failed checks, with the full report below.
func (s *server) handleMonitoring() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := &monitoringPage{chrome: s.chrome(r, "/monitoring")}
		page.Evaluation, page.Note = s.latestEvaluation(r)
		if ev := page.Evaluation; ev != nil {
			for _, k := range keyFigures {
				if v, ok := ev.Figures[k.Name]; ok {
					k.Value = v
					page.Key = append(page.Key, k)
				}
			}
			page.Verdict = s.verdictOf(ev)
			f := page.Verdict.Findings
			page.Findings, page.More = f[:min(len(f), shownFlags)], f[min(len(f), shownFlags):]
			for n, v := range ev.Figures {
				page.Figures = append(page.Figures, figure{Name: n, Value: v})
			}
			slices.SortFunc(page.Figures, func(a, b figure) int {
				if a.Name < b.Name {
					return -1
				}
				if a.Name > b.Name {
					return 1
				}
				return 0
			})
		}
		s.render(w, http.StatusOK, "monitoring.html", page)
	})
}

// handleMonitoringReport serves the latest report's own HTML page, which
// runs no script and loads nothing. It is drawn again from the stored
// report by this build, so that its verdict is the monitoring page's even
// for a report an older build wrote (whose page may say "Every check
// passed" where this build's checks fail); a report this build cannot
// read is served as it was stored.
func (s *server) handleMonitoringReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, note := s.latestEvaluation(r)
		if ev == nil {
			http.Error(w, note, http.StatusNotFound)
			return
		}
		page := ev.HTML
		if rep, ok := storedReport(ev); ok {
			page = monitor.RenderHTML(rep)
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'")
		w.Write([]byte(page))
	})
}

// handleMonitoringAPI answers the latest evaluation as JSON.
func (s *server) handleMonitoringAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, note := s.latestEvaluation(r)
		if ev == nil {
			writeJSON(s.log, w, http.StatusNotFound, map[string]string{"error": note})
			return
		}
		writeJSON(s.log, w, http.StatusOK, ev)
	})
}

// storedReport reads a stored evaluation's report back; ok is false when
// it cannot be read as one this build writes (another build wrote it).
func storedReport(ev *caresignal.Evaluation) (*monitor.Report, bool) {
	var rep monitor.Report
	if err := json.Unmarshal(ev.Report, &rep); err != nil || rep.Model == "" || rep.Flags == nil {
		return nil, false
	}
	return &rep, true
}

// verdictOf is a stored evaluation's verdict: that of its report, read
// back, or, when the report cannot be read as one (written by another
// build), its failed checks' ids in words. A stored evaluation does not
// change, so the verdict of the latest one read is kept.
func (s *server) verdictOf(ev *caresignal.Evaluation) monitor.Verdict {
	c := &s.checks
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.ID != 0 && ev.ID == c.verdictID {
		return c.verdict
	}
	v := monitor.AssessFlags(ev.Flags)
	if rep, ok := storedReport(ev); ok {
		v = monitor.Assess(rep)
	}
	if ev.ID != 0 {
		c.verdictID, c.verdict = ev.ID, v
	}
	return v
}

// checksNotice is the banner the pages that show scores carry while the
// latest evaluation has failed checks.
type checksNotice struct {
	State    monitor.State
	Label    string // the state in words
	Headline string
	Failed   int
	// CanOpen: the page's user may open the monitoring page (the banner
	// links to it only then).
	CanOpen bool
}

// checksCache keeps the verdict of the latest evaluation read, and the
// latest evaluation's notice, worked out again only when a new evaluation
// was stored.
type checksCache struct {
	mu        sync.Mutex
	verdictID int64
	verdict   monitor.Verdict
	noticeID  int64
	notice    *checksNotice
}

// checksNotice returns the notice of the latest evaluation's failed checks
// for a page's banner (the "checksbanner" template), or nil when nothing
// failed, there is no evaluation, or there is no database.
func (s *server) checksNotice(r *http.Request) *checksNotice {
	n := s.latestNotice(r)
	if n == nil {
		return nil
	}
	c := *n
	c.CanOpen = s.can(r, levelViewer)
	return &c
}

// latestNotice is the latest evaluation's notice (read through the cache
// /metrics reads), shared by every request.
func (s *server) latestNotice(r *http.Request) *checksNotice {
	ev := s.evals.latest(r.Context())
	if ev == nil {
		return nil
	}
	v := s.verdictOf(ev)
	c := &s.checks
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.ID != c.noticeID || ev.ID == 0 {
		c.noticeID, c.notice = ev.ID, nil
		if len(v.Findings) > 0 {
			c.notice = &checksNotice{State: v.State, Label: v.Label(), Headline: v.Headline, Failed: len(v.Findings)}
		}
	}
	return c.notice
}
