package web

import (
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/wire"
)

// worklistPageSize is the rows of one worklist page.
const worklistPageSize = 50

// worklistFilter is the worklist's query string, as the form sends it.
type worklistFilter struct {
	Sort, Program, Channel, Band, Search string
	New                                  bool
	Page                                 int // 1-based
}

// parseWorklistFilter reads the query string; a value it cannot take is
// named in the error.
func parseWorklistFilter(v url.Values) (worklistFilter, caresignal.WorklistQuery, error) {
	f := worklistFilter{Sort: v.Get("sort"), Program: v.Get("program"), Channel: v.Get("channel"), Band: v.Get("band"),
		Search: strings.TrimSpace(v.Get("q")), New: v.Get("new") != "", Page: 1}
	q := caresignal.WorklistQuery{Sort: caresignal.WorklistSort(f.Sort), Program: f.Program, Channel: f.Channel,
		Band: caresignal.Band(f.Band), New: f.New, PatientID: f.Search, Limit: worklistPageSize}
	switch q.Sort {
	case "", caresignal.SortRisk, caresignal.SortLost:
	default:
		return f, q, caresignal.Invalidf("sort", "The order %q is not one the worklist has: choose risk or expected months lost.", f.Sort)
	}
	if q.Band != "" && q.Band.Level() == 0 {
		return f, q, caresignal.Invalidf("band", "There is no risk band %q: choose high, medium or low.", f.Band)
	}
	for name, val := range map[string]string{"program": f.Program, "channel": f.Channel, "q": f.Search} {
		if p := wire.TextProblem(val); p != "" {
			return f, q, caresignal.Invalidf(name, "The %s filter %s.", name, p)
		}
	}
	if p := v.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1_000_000 {
			return f, q, caresignal.Invalidf("page", "The page must be a whole number from 1.")
		}
		f.Page = n
	}
	q.Offset = (f.Page - 1) * worklistPageSize
	return f, q, nil
}

// query is the filter as a query string, on page (0: none, for the export).
func (f worklistFilter) query(page int) string {
	v := url.Values{}
	for k, x := range map[string]string{"sort": f.Sort, "program": f.Program, "channel": f.Channel, "band": f.Band, "q": f.Search} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if f.New {
		v.Set("new", "1")
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// describe names the filters for the audit log, without the search text
// (which may be a patient id).
func (f worklistFilter) describe() string {
	var parts []string
	for _, kv := range [][2]string{{"sort", f.Sort}, {"program", f.Program}, {"channel", f.Channel}, {"band", f.Band}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	if f.New {
		parts = append(parts, "new")
	}
	if f.Search != "" {
		parts = append(parts, "search")
	}
	if len(parts) == 0 {
		return "every enrolled patient"
	}
	return strings.Join(parts, " ")
}

// worklistRow is one row of the page.
type worklistRow struct {
	caresignal.WorklistRow
	Rank   int
	Lost   float64 // expected months lost within the horizon
	Change string  // since the previous run, in percentage points
	Trend  string  // up, down or ""
}

type worklistPage struct {
	chrome
	Note   string // instead of the list
	Error  string // a filter that could not be taken
	Stale  string // the scores are older than the schedule allows
	Checks *checksNotice
	List   caresignal.Worklist
	Filter worklistFilter
	Rows   []worklistRow
	From   int // rank of the first row shown
	To     int
	Pages  int
	Prev   string // link to the previous page, "" on the first
	Next   string
	Export string
	Bands  []caresignal.Band
}

// staleness says why scores as of asOf are stale at now under cadence
// (0: daily), or "" when they are not: their as-of date (the first day not
// in their data) is more than the cadence and a day old.
func staleness(asOf, now time.Time, cadence time.Duration) string {
	if cadence <= 0 {
		cadence = 24 * time.Hour
	}
	age := now.Sub(asOf)
	if age <= cadence+24*time.Hour {
		return ""
	}
	every := "every " + cadence.String()
	switch cadence {
	case 24 * time.Hour:
		every = "daily"
	case 7 * 24 * time.Hour:
		every = "weekly"
	}
	return fmt.Sprintf("These scores are as of %s, %s ago, and the scheduled run (caresignal run) is meant to score %s: drop-offs and new patients since then are not in them. Check the scheduled run.",
		asOf.Format(time.DateOnly), plural(int(age.Hours()/24), "day"), every)
}

func (s *server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// handleWorklist lists every enrolled patient of the latest batch scoring
// run, ranked, filtered and paged in the database.
func (s *server) handleWorklist() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := &worklistPage{chrome: s.chrome(r, "/worklist"), Bands: caresignal.Bands, Checks: s.checksNotice(r)}
		if s.cfg.Store == nil {
			page.Note = "This server has no database, so there are no batch scores to list."
			s.render(w, http.StatusOK, "worklist.html", page)
			return
		}
		f, q, err := parseWorklistFilter(r.URL.Query())
		page.Filter = f
		if err != nil {
			page.Error = caresignal.ErrorMessage(err)
			q = caresignal.WorklistQuery{Limit: worklistPageSize}
		}
		list, err := s.cfg.Store.Worklist(r.Context(), q)
		switch caresignal.ErrorCode(err) {
		case "":
		case caresignal.ENOTFOUND:
			page.Note = "No batch scores yet: run caresignal score (or caresignal run)."
			s.render(w, http.StatusOK, "worklist.html", page)
			return
		default:
			s.log.Error("worklist", "request_id", requestID(r.Context()), "err", err)
			page.Note = "The scores could not be read; see the server log."
			s.render(w, http.StatusServiceUnavailable, "worklist.html", page)
			return
		}
		page.List = list
		page.Stale = staleness(list.Run.AsOf, s.now(), s.cfg.Cadence)
		for i, row := range list.Rows {
			page.Rows = append(page.Rows, newWorklistRow(row, q.Offset+i+1, list))
		}
		page.Pages = max(1, (list.Total+worklistPageSize-1)/worklistPageSize)
		if len(page.Rows) > 0 {
			page.From, page.To = q.Offset+1, q.Offset+len(page.Rows)
		}
		if f.Page > 1 {
			page.Prev = "/worklist" + f.query(min(f.Page-1, page.Pages))
		}
		if f.Page < page.Pages {
			page.Next = "/worklist" + f.query(f.Page+1)
		}
		page.Export = "/worklist.csv" + f.query(0)
		code := http.StatusOK
		if page.Error != "" {
			code = http.StatusBadRequest
		}
		s.render(w, code, "worklist.html", page)
	})
}

func newWorklistRow(row caresignal.WorklistRow, rank int, list caresignal.Worklist) worklistRow {
	out := worklistRow{WorklistRow: row, Rank: rank, Lost: float64(list.Run.Horizon) - row.ExpectedMonths}
	switch {
	case list.Previous == nil:
		out.Change = "—"
	case row.PreviousRisk == nil:
		out.Change = "new"
	default:
		d := 100 * (row.Risk30 - *row.PreviousRisk)
		out.Change = signedPoints(d)
		if math.Abs(d) >= 0.05 {
			out.Trend = "up"
			if d < 0 {
				out.Trend = "down"
			}
		}
	}
	return out
}

// signedPoints formats a change in percentage points: "+2.1 pts",
// "−0.4 pts" (a true minus), "0.0 pts".
func signedPoints(d float64) string {
	v := strconv.FormatFloat(math.Abs(d), 'f', 1, 64)
	switch {
	case v == "0.0":
	case d > 0:
		v = "+" + v
	default:
		v = "−" + v
	}
	return v + " pts"
}

// handleWorklistCSV exports every row the worklist's filters select. Text
// cells that a spreadsheet would run as a formula are escaped, and each
// export is audited (who, which filters, how many rows).
func (s *server) handleWorklistCSV() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callerOf(r.Context())
		if s.cfg.Store == nil {
			s.deny(w, r, http.StatusNotFound, false, "This server has no database, so there are no batch scores to export.")
			return
		}
		f, q, err := parseWorklistFilter(r.URL.Query())
		if err != nil {
			s.deny(w, r, http.StatusBadRequest, false, caresignal.ErrorMessage(err))
			return
		}
		q.Offset, q.Limit = 0, 0
		list, err := s.cfg.Store.Worklist(r.Context(), q)
		if err != nil {
			if caresignal.ErrorCode(err) == caresignal.ENOTFOUND {
				s.deny(w, r, http.StatusNotFound, false, "No batch scores yet: run caresignal score (or caresignal run).")
				return
			}
			s.log.Error("worklist export", "request_id", requestID(r.Context()), "err", err)
			s.audit(r, c, "worklist.export", f.describe(), "failed", "the scores could not be read")
			s.deny(w, r, http.StatusServiceUnavailable, false, "The scores could not be read; see the server log.")
			return
		}
		var b strings.Builder
		cw := csv.NewWriter(&b)
		header := []string{"rank", "patient_id", "program", "channel", "months_enrolled", "risk_band", "risk_next_30_days", "risk_next_30_days_previous_run", "risk_rest_of_month",
			"engaged_after_horizon", "expected_months", "expected_months_lost", "median_months", "horizon", "driver_1", "driver_2", "new_to_list",
			"last_contact_at", "last_contact_outcome", "scores_as_of", "model_version"}
		cw.Write(header)
		num := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
		for i, row := range list.Rows {
			rec := []string{strconv.Itoa(i + 1), row.PatientID, row.Program, row.Channel, strconv.Itoa(row.MonthsEnrolled), string(row.Band),
				num(row.Risk30), "", num(row.HazardNext), num(row.SurvivalEnd), num(row.ExpectedMonths), num(float64(list.Run.Horizon) - row.ExpectedMonths), "",
				strconv.Itoa(list.Run.Horizon), "", "", strconv.FormatBool(row.New), "", "", list.Run.AsOf.Format(time.DateOnly), list.Run.Model.Version}
			if row.PreviousRisk != nil {
				rec[7] = num(*row.PreviousRisk)
			}
			if row.MedianMonths != nil {
				rec[12] = strconv.Itoa(*row.MedianMonths)
			}
			for j, d := range row.Drivers {
				if j < 2 {
					rec[14+j] = d.Words
				}
			}
			if lc := row.LastContact; lc != nil {
				rec[17], rec[18] = lc.At.UTC().Format(time.RFC3339), lc.Outcome
			}
			for j := range rec {
				rec[j] = csvCell(rec[j])
			}
			cw.Write(rec)
		}
		cw.Flush()
		s.audit(r, c, "worklist.export", f.describe(), "ok", strconv.Itoa(len(list.Rows))+" rows")
		h := w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="worklist-`+list.Run.AsOf.Format(time.DateOnly)+`.csv"`)
		w.Write([]byte(b.String()))
	})
}

// csvCell escapes a cell a spreadsheet would read as a formula (one
// beginning with =, +, -, @, a tab or a carriage return) with a leading
// apostrophe, as OWASP advises. The export's own numbers are never
// negative, so no number is changed.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
