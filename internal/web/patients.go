package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/plot"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
)

// driverRow is one feature's push on a patient's next-month risk, in words.
type driverRow struct {
	caresignal.Driver
	Width    int // bar width, whole % (the style sheet's w0 … w100)
	Positive bool
}

type patientPage struct {
	chrome
	ID     string
	Checks *checksNotice
	Stale  string
	Note   string // instead of the page (no such patient, no database)
	// Enrolled is false for a patient scored before but not enrolled at
	// the last ELT: the page then shows the history and contacts only.
	Enrolled bool
	AsOf     time.Time
	Result   *result // the patient now
	Risk30   float64 // the risk of dropping off in the next 30 days
	DaysLeft int     // days left of the month in progress
	Drivers  []driverRow
	// The what-if panel: the form, and the curves with its changes.
	Fields    []formField
	Horizon   string
	FormError string
	WhatIf    *result
	WhatIf30  float64 // its risk of dropping off in the next 30 days
	Compare   template.HTML
	Changed   []string // the inputs the what-if changed
	// The risk history across scoring runs, oldest first.
	History template.HTML
	Scores  []caresignal.PatientScore
	// Contacts, newest first, and the form to record one.
	Contacts     []caresignal.Contact
	CanContact   bool
	Outcomes     []string
	ContactError string
	ContactNote  string
	Saved        bool
}

// patientData is what a patient page is built from.
type patientData struct {
	now      caresignal.PatientNow
	enrolled bool
	inst     caresignal.Instance
	scores   []caresignal.PatientScore
	contacts []caresignal.Contact
}

// loadPatient reads a patient's row, scores and contacts. found is false
// when the store knows nothing of the id.
func (s *server) loadPatient(ctx context.Context, m *model.Model, id string) (d patientData, found bool, err error) {
	st := s.cfg.Store
	d.now, err = st.PatientNow(ctx, id)
	switch caresignal.ErrorCode(err) {
	case "":
		d.enrolled = true
	case caresignal.ENOTFOUND:
	default:
		return d, false, err
	}
	if d.scores, err = st.PatientScores(ctx, id); err != nil {
		return d, false, err
	}
	if d.contacts, err = st.Contacts(ctx, id); err != nil {
		return d, false, err
	}
	if d.enrolled {
		d.inst = caresignal.Instance{PatientID: id, MonthsEnrolled: d.now.Row.Month - 1, Horizon: caresignal.DefaultHorizon,
			DaysElapsed: serving.DaysElapsed(d.now.AsOf, d.now.EnrolledOn, d.now.Row.Month), Features: map[string]caresignal.Value{}}
		for _, in := range m.Inputs() {
			if j := slices.Index(d.now.Columns, in.Name); j >= 0 {
				d.inst.Features[in.Name] = d.now.Row.Values[j]
			}
		}
	}
	return d, d.enrolled || len(d.scores) > 0 || len(d.contacts) > 0, nil
}

// newPatientPage builds the page of the patient now; it is nil (and the
// page written) when there is nothing to show.
func (s *server) newPatientPage(w http.ResponseWriter, r *http.Request) (*patientPage, *patientData) {
	id := r.PathValue("id")
	page := &patientPage{chrome: s.chrome(r, "/worklist"), ID: id, Checks: s.checksNotice(r), Horizon: strconv.Itoa(caresignal.DefaultHorizon),
		CanContact: s.can(r, levelContact), Outcomes: caresignal.ContactOutcomes}
	if s.cfg.Store == nil {
		page.Note = "This server has no database, so it has no patients to show."
		s.render(w, http.StatusNotFound, "patient.html", page)
		return nil, nil
	}
	m := page.Model
	d, found, err := s.loadPatient(r.Context(), m, id)
	if err != nil {
		s.log.Error("patient page", "request_id", requestID(r.Context()), "err", err)
		page.Note = "The patient's records could not be read; see the server log."
		s.render(w, http.StatusServiceUnavailable, "patient.html", page)
		return nil, nil
	}
	if !found {
		page.Note = "No patient with this id is enrolled, was scored, or has contacts recorded."
		s.render(w, http.StatusNotFound, "patient.html", page)
		return nil, nil
	}
	page.Enrolled, page.Scores, page.Contacts = d.enrolled, d.scores, d.contacts
	if len(d.scores) > 0 {
		last := d.scores[len(d.scores)-1].Run
		page.Stale = staleness(last.AsOf, s.now(), s.cfg.Cadence)
		page.History = historyChart(d.scores)
	}
	if !d.enrolled {
		return page, &d
	}
	page.AsOf = d.now.AsOf
	p, err := m.Predict(&d.inst)
	if err != nil {
		// The data holds a value the model refuses (a level it has not
		// seen, say): the page says which input, not its value.
		page.FormError = "The model cannot score this patient's current data (" + caresignal.ErrorField(err) + "): see the scheduled run's report."
		return page, &d
	}
	page.Result = newResult(p, d.inst, m.Link.ScaleName())
	page.Risk30, page.DaysLeft = caresignal.Risk30(p.Hazard, d.inst.DaysElapsed), caresignal.MonthDays-d.inst.DaysElapsed
	page.Drivers = driverRows(m, page.Result)
	// The what-if panel starts at the patient's values.
	page.Fields = inputFields(m)
	for i := range page.Fields {
		f := &page.Fields[i]
		f.Value = ""
		if v, ok := d.inst.Features[f.Name]; ok && !v.Missing() {
			f.Value = v.String()
		}
	}
	return page, &d
}

// driverRows lists every feature's push with its words, with the bars of
// the result's contributions (in the same order).
func driverRows(m *model.Model, res *result) []driverRow {
	out := make([]driverRow, len(res.Contributions))
	for i, c := range res.P.Explanation {
		out[i] = driverRow{Driver: m.Driver(c), Positive: res.Contributions[i].Positive, Width: res.Contributions[i].Width}
	}
	return out
}

// handlePatient shows one patient: curves, drivers, history, contacts.
func (s *server) handlePatient() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, _ := s.newPatientPage(w, r)
		if page == nil {
			return
		}
		page.Saved = r.URL.Query().Get("contact") == "saved"
		s.render(w, http.StatusOK, "patient.html", page)
	})
}

// handlePatientWhatIf scores the patient with the panel's changes,
// recorded in the prediction log as a what-if, and shows both curves.
func (s *server) handlePatientWhatIf() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		page, d := s.newPatientPage(w, r)
		if page == nil {
			return
		}
		if page.Result == nil {
			s.render(w, http.StatusConflict, "patient.html", page)
			return
		}
		if err := r.ParseForm(); err != nil {
			page.FormError = "The form could not be read."
			s.render(w, http.StatusBadRequest, "patient.html", page)
			return
		}
		// The patient's months and days come from the data, not the form.
		form := &indexPage{Fields: page.Fields, MonthsEnrolled: strconv.Itoa(d.inst.MonthsEnrolled), DaysElapsed: strconv.Itoa(d.inst.DaysElapsed),
			Horizon: strings.TrimSpace(r.PostForm.Get("horizon"))}
		for i := range form.Fields {
			f := &form.Fields[i]
			if v := strings.TrimSpace(r.PostForm.Get(f.Name)); v != f.Value {
				page.Changed = append(page.Changed, f.Label)
			}
			f.Value = strings.TrimSpace(r.PostForm.Get(f.Name))
		}
		page.Horizon = form.Horizon
		inst, errs := form.instance()
		p, code, msg := s.scoreWhatIf(r, page.Model, &inst, errs, page.Fields)
		page.FormError = msg
		if code == http.StatusOK {
			page.WhatIf = newResult(p, inst, page.Model.Link.ScaleName())
			page.WhatIf30 = caresignal.Risk30(p.Hazard, inst.DaysElapsed)
			// The patient as they are, over the same horizon (the page
			// was scored over the default one).
			if base := d.inst; inst.Horizon != base.Horizon {
				base.Horizon = inst.Horizon
				if bp, err := page.Model.Predict(&base); err == nil {
					page.Result = newResult(bp, base, page.Model.Link.ScaleName())
				}
			}
			page.Compare = compareChart(inst.MonthsEnrolled, page.Result.P.Survival, p.Survival)
		}
		s.render(w, code, "patient.html", page)
	})
}

// handleContact records a contact with the patient, audited, and goes
// back to the patient's page.
func (s *server) handleContact() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		c := callerOf(r.Context())
		id := r.PathValue("id")
		if s.cfg.Store == nil {
			s.deny(w, r, http.StatusNotFound, false, "This server has no database, so it cannot record contacts.")
			return
		}
		if err := r.ParseForm(); err != nil {
			s.deny(w, r, http.StatusBadRequest, false, "The form could not be read.")
			return
		}
		contact := caresignal.Contact{PatientID: id, At: s.now().UTC(), Outcome: r.PostForm.Get("outcome"),
			Note: strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("note"), "\r\n", "\n")), By: c.Name}
		_, err := s.cfg.Store.RecordContact(r.Context(), contact)
		if err != nil {
			outcome := "refused"
			if caresignal.ErrorCode(err) == "" || caresignal.ErrorCode(err) == caresignal.EUNAVAILABLE {
				outcome = "failed"
				s.log.Error("recording a contact", "request_id", requestID(r.Context()), "err", err)
			}
			s.auditPatient(r, c, "contact.record", id, outcome, caresignal.ErrorField(err))
			page, _ := s.newPatientPage(w, r)
			if page == nil {
				return
			}
			page.ContactNote = contact.Note
			switch outcome {
			case "failed":
				page.ContactError = "The contact could not be saved; nothing was recorded. Try again in a moment."
				s.render(w, http.StatusServiceUnavailable, "patient.html", page)
			default:
				page.ContactError = caresignal.ErrorMessage(err)
				s.render(w, status(caresignal.ErrorCode(err)), "patient.html", page)
			}
			return
		}
		s.auditPatient(r, c, "contact.record", id, "ok", contact.Outcome)
		http.Redirect(w, r, "/patients/"+url.PathEscape(id)+"?contact=saved#contacts", http.StatusSeeOther)
	})
}

// auditPatient records an action on a patient's record. The patient's id
// goes to the audit table only: without one (development mode) the
// action is logged without it.
func (s *server) auditPatient(r *http.Request, c *caller, action, patientID, outcome, detail string) {
	if s.cfg.Access == nil || s.cfg.Access.Store == nil {
		s.log.Info("patient record action", "actor", c.Name, "action", action, "outcome", outcome, "request_id", requestID(r.Context()))
		return
	}
	s.audit(r, c, action, patientID, outcome, detail)
}

// can reports whether the caller of r may use routes of level.
func (s *server) can(r *http.Request, level string) bool {
	if s.cfg.Access == nil {
		return true
	}
	c := callerOf(r.Context())
	return c != nil && levelAllows(level, c.Role)
}

// historyChart draws a patient's risk this month at each scoring run.
func historyChart(scores []caresignal.PatientScore) template.HTML {
	cats, labels := make([]string, len(scores)), make([]string, len(scores))
	vals := make([]float64, len(scores))
	for i, sc := range scores {
		cats[i] = sc.Run.AsOf.Format("Jan 2")
		labels[i] = "as of " + sc.Run.AsOf.Format(time.DateOnly)
		vals[i] = sc.Risk30
	}
	return plot.Bars(plot.BarChart{
		Title:      "Risk of dropping off within 30 days, at each scoring run",
		Height:     200,
		Categories: cats,
		Labels:     labels,
		XLabel:     "scores as of",
		Y:          plot.Axis{Label: "risk, next 30 days", Percent: true},
		Series:     []plot.BarSeries{{Values: vals, Color: hazardColor}},
	})
}

// compareChart draws the survival curve now and with the what-if's
// changes.
func compareChart(monthsEnrolled int, now, changed []float64) template.HTML {
	series := func(name string, surv []float64, color string, dashed bool) plot.Series {
		sr := plot.Series{Name: name, Markers: true, Color: color, Dashed: dashed, Points: []plot.Point{{X: float64(monthsEnrolled), Y: 1}}, Labels: []string{"now"}}
		for i, v := range surv {
			month := monthsEnrolled + i + 1
			sr.Points = append(sr.Points, plot.Point{X: float64(month), Y: v})
			sr.Labels = append(sr.Labels, "month "+strconv.Itoa(month))
		}
		return sr
	}
	return plot.Line(plot.LineChart{
		Title:  "Probability of still being engaged: as the patient is, and with the changes",
		Height: chartHeight,
		X:      plot.Axis{Label: "month of enrolment (end)", Integer: true, Min: float64(monthsEnrolled), Max: float64(monthsEnrolled + len(changed))},
		Y:      plot.Axis{Label: "still engaged", Min: 0, Max: 1, Percent: true},
		Series: []plot.Series{series("as the patient is", now, survivalColor, true), series("with the changes", changed, hazardColor, false)},
		Refs:   []plot.Ref{{Y: 0.5, Label: "median"}},
	})
}
