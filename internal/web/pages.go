package web

import (
	"embed"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/plot"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/wire"
)

//go:embed templates/*.html
var templateFS embed.FS

func parseTemplates() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{
		"pct":        func(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" },
		"num":        func(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) },
		"add":        func(a, b int) int { return a + b },
		"static":     staticPath,
		"deref":      func(p *float64) float64 { return *p },
		"outcome":    caresignal.ContactOutcomeWords,
		"pathescape": url.PathEscape,
		// plural writes a count with its noun: "1 month", "12 months".
		"plural": plural,
		// fig writes a figure: whole numbers in full (25,280), others to
		// four significant digits.
		"fig": func(x float64) string {
			if x == math.Trunc(x) && math.Abs(x) < 1e12 {
				return countInt(int(x))
			}
			return strconv.FormatFloat(x, 'g', 4, 64)
		},
		"count": countInt,
	}).ParseFS(templateFS, "templates/*.html"))
}

// plural writes a count with its noun, in the plural unless the count is
// one: "1 month", "0 months", "12 months". Nouns with an irregular plural
// are not needed yet.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// formField is one input of the what-if form.
type formField struct {
	Name, Label, Help string
	Numeric           bool
	Value             string
	Options           []string // categorical levels, reference first
	AllowEmpty        bool     // missing is imputed
	Error             string
	// Range is a numeric input's training range ("0 to 14"), empty when
	// the model does not know it; Outside warns that the value lies
	// beyond it.
	Range, Outside string
	lo, hi         float64
}

type contributionRow struct {
	Feature, Value string
	LogOdds        float64
	Width          int // bar width, whole % of the scale: the style sheet's class w0 … w100
	Positive       bool
}

type result struct {
	P              caresignal.Prediction
	Survival       template.HTML
	Hazard         template.HTML
	Median         string
	MonthsEnrolled int
	Horizon        int
	Contributions  []contributionRow
	// TopDrivers are the (at most three) largest contributions, read as
	// "days_since_last_session = 41 → +0.62".
	TopDrivers []caresignal.Contribution
	Scale      string // "log-odds" or "log-hazard"
	FirstMonth int
	DropBy     float64 // probability of dropping off within the horizon
}

type indexPage struct {
	chrome
	Fields         []formField
	MonthsEnrolled string
	DaysElapsed    string
	Horizon        string
	FormError      string
	Result         *result
	// Outside lists the inputs whose values lie outside the training
	// range, where the model extrapolates.
	Outside []string
	// Checks is the latest evaluation's failed checks, for the banner.
	Checks *checksNotice
}

func (s *server) handleIndex() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := s.newIndexPage(r)
		page.checkRanges()
		// Show the curves of the reference patient straight away.
		if inst, errs := page.instance(); len(errs) == 0 {
			if p, err := page.Model.Predict(&inst); err == nil {
				page.Result = newResult(p, inst, page.Model.Link.ScaleName())
			}
		}
		s.render(w, http.StatusOK, "index.html", page)
	})
}

// handleWhatIf scores the form, recorded in the prediction log as a
// what-if. It is a POST so that feature values stay out of URLs and
// therefore out of access logs and browser history.
func (s *server) handleWhatIf() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		page := s.newIndexPage(r)
		if err := r.ParseForm(); err != nil {
			page.FormError = "The form could not be read."
			s.render(w, http.StatusBadRequest, "index.html", page)
			return
		}
		for i := range page.Fields {
			page.Fields[i].Value = strings.TrimSpace(r.PostForm.Get(page.Fields[i].Name))
		}
		page.MonthsEnrolled = strings.TrimSpace(r.PostForm.Get("months_enrolled"))
		page.DaysElapsed = strings.TrimSpace(r.PostForm.Get("days_elapsed"))
		page.Horizon = strings.TrimSpace(r.PostForm.Get("horizon"))
		page.checkRanges()
		inst, errs := page.instance()
		p, code, msg := s.scoreWhatIf(r, page.Model, &inst, errs, page.Fields)
		if code == http.StatusOK {
			page.Result = newResult(p, inst, page.Model.Link.ScaleName())
		}
		page.FormError = msg
		s.render(w, code, "index.html", page)
	})
}

// scoreWhatIf scores a what-if form's instance (errs: what reading the
// form found wrong, by field), recorded in the prediction log as a
// what-if. It answers 200, or the status and the form's message, the
// fields marked with what is wrong with them.
func (s *server) scoreWhatIf(r *http.Request, m *model.Model, inst *caresignal.Instance, errs map[string]string, fields []formField) (caresignal.Prediction, int, string) {
	if len(errs) == 0 {
		p, err := s.scorer.WhatIf(call(r), m, inst)
		if err == nil {
			return p, http.StatusOK, ""
		}
		if caresignal.ErrorCode(err) == caresignal.EUNAVAILABLE {
			// Not the form's fault: the prediction could not be recorded.
			return p, http.StatusServiceUnavailable, "The prediction could not be recorded, so it is not shown. Try again in a moment."
		}
		errs = map[string]string{strings.TrimPrefix(caresignal.ErrorField(err), "features."): strings.TrimPrefix(caresignal.ErrorMessage(err), "features.")}
	}
	for i := range fields {
		fields[i].Error = errs[fields[i].Name]
	}
	msg := "Some values need attention."
	for _, name := range []string{"months_enrolled", "days_elapsed", "horizon"} {
		if m, ok := errs[name]; ok {
			msg = m
		}
	}
	return caresignal.Prediction{}, http.StatusBadRequest, msg
}

// newIndexPage fills the form with a typical patient: the model's input
// defaults (model.Model.Inputs: numeric inputs at their training median,
// whole for counts; categories at their commonest level).
func (s *server) newIndexPage(r *http.Request) *indexPage {
	page := &indexPage{chrome: s.chrome(r, "/"), MonthsEnrolled: "0", DaysElapsed: "0", Horizon: strconv.Itoa(caresignal.DefaultHorizon),
		Checks: s.checksNotice(r)}
	page.Fields = inputFields(page.Model)
	return page
}

// inputFields lists the model's inputs as form fields, each at its
// default value, numeric ones with their training range.
func inputFields(m *model.Model) []formField {
	var fields []formField
	for _, in := range m.Inputs() {
		ff := formField{Name: in.Name, Label: strings.ReplaceAll(in.Name, "_", " "), Help: in.Description,
			Numeric: !in.Categorical, AllowEmpty: in.Optional, Value: in.Default}
		if in.Categorical {
			ff.Options = in.Levels
		} else if lo, hi, ok := m.TrainingRange(in.Name); ok {
			ff.lo, ff.hi = lo, hi
			ff.Range = plot.FormatNumber(lo) + " to " + plot.FormatNumber(hi)
		}
		fields = append(fields, ff)
	}
	return fields
}

// checkRanges marks the numeric inputs whose values lie outside the
// training range. The model still scores them (the spec's limits decide
// what it refuses), but there it extrapolates from no patient like this
// one, so the page says so beside the input and above the result.
func (p *indexPage) checkRanges() {
	p.Outside = nil
	for i := range p.Fields {
		f := &p.Fields[i]
		f.Outside = ""
		if f.Range == "" || f.Value == "" {
			continue
		}
		x, err := strconv.ParseFloat(f.Value, 64)
		if err != nil || !(x < f.lo || x > f.hi) {
			continue
		}
		f.Outside = "Outside the training range (" + f.Range + ")"
		p.Outside = append(p.Outside, f.Name+" = "+f.Value+" (training range "+f.Range+")")
	}
}

// instance converts the form to an Instance, or returns messages by field.
func (p *indexPage) instance() (caresignal.Instance, map[string]string) {
	errs := map[string]string{}
	inst := caresignal.Instance{Features: map[string]caresignal.Value{}}
	for _, f := range p.Fields {
		switch {
		case f.Value == "":
			inst.Features[f.Name] = caresignal.NullValue()
		case f.Numeric:
			x, err := strconv.ParseFloat(f.Value, 64)
			if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
				errs[f.Name] = f.Name + " must be a number"
				continue
			}
			inst.Features[f.Name] = caresignal.Num(x)
		default:
			// The API's rules for text: no control characters, valid
			// UTF-8, a bounded length (the value is not repeated).
			if problem := wire.TextProblem(f.Value); problem != "" {
				errs[f.Name] = f.Name + " " + problem
				continue
			}
			inst.Features[f.Name] = caresignal.Str(f.Value)
		}
	}
	var err error
	if inst.MonthsEnrolled, err = strconv.Atoi(p.MonthsEnrolled); err != nil {
		errs["months_enrolled"] = "Months enrolled must be a whole number."
	}
	if inst.Horizon, err = strconv.Atoi(p.Horizon); err != nil {
		errs["horizon"] = "Horizon must be a whole number of months."
	}
	if p.DaysElapsed != "" { // a form from before the field had none
		if inst.DaysElapsed, err = strconv.Atoi(p.DaysElapsed); err != nil {
			errs["days_elapsed"] = "Days into this month must be a whole number from 0 to 29."
		}
	}
	return inst, errs
}

func newResult(p caresignal.Prediction, inst caresignal.Instance, scale string) *result {
	r := &result{P: p, Scale: scale, MonthsEnrolled: inst.MonthsEnrolled, Horizon: inst.Horizon, FirstMonth: inst.MonthsEnrolled + 1,
		Survival: survivalChart(inst.MonthsEnrolled, p.Survival),
		Hazard:   hazardChart(inst.MonthsEnrolled, p.Hazard),
		Median:   "not within " + plural(inst.Horizon, "month"),
		DropBy:   1 - p.Survival[len(p.Survival)-1]}
	if p.MedianMonths != nil {
		r.Median = plural(*p.MedianMonths, "month")
	}
	// Bars share a scale of at least half a unit of log-odds, so that a
	// patient near the reference does not get full-width bars for
	// negligible effects.
	top := 0.5
	for _, c := range p.Explanation {
		top = math.Max(top, math.Abs(c.Contribution))
	}
	for _, c := range p.Explanation {
		if len(r.TopDrivers) < 3 && math.Abs(c.Contribution) >= 0.005 {
			r.TopDrivers = append(r.TopDrivers, c)
		}
		w := int(math.Round(min(100, 100*math.Abs(c.Contribution)/top)))
		r.Contributions = append(r.Contributions, contributionRow{Feature: c.Feature, Value: c.Value, LogOdds: c.Contribution, Width: w, Positive: c.Contribution > 0})
	}
	return r
}

// render executes a template into memory first, so a template error gives a
// clean 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, code int, name string, data any) {
	var b strings.Builder
	if err := s.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		s.log.Error("rendering page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write([]byte(b.String()))
}

type modelPage struct {
	chrome
	Summary  model.Summary
	Features []model.SummaryCoefficient // the feature terms
	Baseline []model.SummaryCoefficient // the baseline terms
	Forest   template.HTML
	Hazard   template.HTML // the reference patient's hazard by month
	Months   int
	CV       template.HTML // nil without cross-validation
	CVInfo   *model.CVCurve
	Card     *modelCard
}

// handleModelPage shows the served model's card (which version serves,
// trained when and on what, held-out and live metrics, known limits) and
// the model as a statistician reads it: the ratios with intervals as a
// forest plot and a table, the baseline hazard of a typical patient, and
// the cross-validation curve.
func (s *server) handleModelPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch := s.chrome(r, "/model")
		m := ch.Model
		sum := m.Summary()
		if !m.Explains() {
			page := &modelPage{chrome: ch, Summary: sum, Months: caresignal.DefaultHorizon, Card: s.newModelCard(r, m)}
			if h := m.ReferenceHazard(page.Months); h != nil {
				page.Hazard = hazardChart(0, h)
			}
			s.render(w, http.StatusOK, "model.html", page)
			return
		}
		bw := m.Features.Baseline.Width()
		page := &modelPage{chrome: ch, Summary: sum,
			Features: sum.Coefficients[bw:], Baseline: sum.Coefficients[:bw],
			Months: min(m.Features.Baseline.Last, caresignal.MaxHorizon), Card: s.newModelCard(r, m)}
		page.Forest = forestPlot(page.Features, sum.Ratio)
		page.Hazard = hazardChart(0, m.ReferenceHazard(page.Months))
		if cv := m.Training.Penalty.CV; cv != nil && len(cv.Lambdas) > 1 {
			page.CV, page.CVInfo = cvChart(cv), cv
		}
		s.render(w, http.StatusOK, "model.html", page)
	})
}

// The charts are drawn by package plot as inline SVG: no script, no
// external resources, and they print. Red is dropping off (and a ratio
// that raises its odds or hazard), blue staying engaged, as in the what-if
// page's contribution bars.
const (
	chartHeight                = 280
	survivalColor, hazardColor = "#1f6f8b", "#c8553d"
)

// survivalChart draws S(t) from now (S = 1) to the end of the horizon, with
// the months counted from enrolment on the x axis; the line at one half
// makes the median readable.
func survivalChart(monthsEnrolled int, survival []float64) template.HTML {
	pts := []plot.Point{{X: float64(monthsEnrolled), Y: 1}}
	labels := []string{"now"}
	for i, s := range survival {
		month := monthsEnrolled + i + 1
		pts = append(pts, plot.Point{X: float64(month), Y: s})
		labels = append(labels, "month "+strconv.Itoa(month))
	}
	return plot.Line(plot.LineChart{
		Title:  "Probability of still being engaged at the end of each month",
		Height: chartHeight,
		X:      plot.Axis{Label: "month of enrolment (end)", Integer: true, Min: float64(monthsEnrolled), Max: float64(monthsEnrolled + len(survival))},
		Y:      plot.Axis{Label: "still engaged", Min: 0, Max: 1, Percent: true},
		Series: []plot.Series{{Points: pts, Labels: labels, Markers: true, Color: survivalColor}},
		Refs:   []plot.Ref{{Y: 0.5, Label: "median"}},
	})
}

// hazardChart draws the hazard of each future month as bars.
func hazardChart(monthsEnrolled int, hazard []float64) template.HTML {
	months, labels := make([]string, len(hazard)), make([]string, len(hazard))
	for i := range hazard {
		months[i] = strconv.Itoa(monthsEnrolled + i + 1)
		labels[i] = "month " + months[i]
	}
	return plot.Bars(plot.BarChart{
		Title:      "Probability of dropping off in each month, given engagement at its start",
		Height:     chartHeight,
		Categories: months,
		Labels:     labels,
		XLabel:     "month of enrolment",
		Y:          plot.Axis{Label: "hazard", Percent: true},
		Series:     []plot.BarSeries{{Values: hazard, Color: hazardColor}},
	})
}

// forestPlot draws each coefficient's ratio (odds or hazard ratio) with its
// 95% interval on a log scale, one row per coefficient, the line of no
// effect at 1.
func forestPlot(coefs []model.SummaryCoefficient, ratio string) template.HTML {
	rows := make([]plot.ForestRow, len(coefs))
	for i, c := range coefs {
		rows[i] = plot.ForestRow{Label: c.Name, Value: c.Ratio}
		if c.CILow != nil && c.CIHigh != nil {
			rows[i].Lower, rows[i].Upper = *c.CILow, *c.CIHigh
		} else {
			rows[i].Note = "set to zero by the penalty"
		}
	}
	title := ratio + " with 95% interval, log scale"
	return plot.Forest(plot.ForestChart{Title: title, X: plot.Axis{Label: title}, Rows: rows})
}

// cvChart draws the cross-validated deviance against λ (log scale, weak
// penalties on the left) with ±1 standard error, the chosen λ marked by a
// red point and a line across the chart.
func cvChart(cv *model.CVCurve) template.HTML {
	curve := plot.Series{Name: "held-out deviance ± 1 SE", Markers: true, Color: survivalColor}
	chosen := plot.Series{Name: "chosen λ = " + plot.FormatNumber(cv.Chosen), Markers: true, Color: hazardColor}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, l := range cv.Lambdas {
		p := plot.Point{X: math.Log10(l), Y: cv.Deviance[i]}
		name := "λ " + plot.FormatNumber(l)
		curve.Points, curve.Labels = append(curve.Points, p), append(curve.Labels, name)
		curve.Lower = append(curve.Lower, cv.Deviance[i]-cv.SE[i])
		curve.Upper = append(curve.Upper, cv.Deviance[i]+cv.SE[i])
		if l == cv.Chosen {
			chosen.Points, chosen.Labels = []plot.Point{p}, []string{name}
		}
		lo, hi = math.Min(lo, p.X), math.Max(hi, p.X)
	}
	x := plot.Axis{Label: "penalty strength λ (log scale)", Integer: true, Format: plot.PowerOfTen}
	if math.Floor(hi)-math.Ceil(lo) >= 1 {
		// two powers of ten or more within the grid: end the axis at its
		// ends rather than at whole powers of ten
		x.Min, x.Max = lo, hi
	}
	return plot.Line(plot.LineChart{
		Title:  "Held-out deviance per person-period row by penalty strength λ",
		Height: chartHeight,
		X:      x,
		Y:      plot.Axis{Label: "deviance"},
		Series: []plot.Series{curve, chosen},
		XRefs:  []plot.XRef{{X: math.Log10(cv.Chosen)}},
	})
}
