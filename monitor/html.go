package monitor

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/internal/plot"
)

// RenderHTML renders the report as one self-contained HTML page: inline
// styles and SVG plots, no script, nothing loaded from elsewhere.
func RenderHTML(rep *Report) string {
	v := buildView(rep)
	var b strings.Builder
	if err := reportTemplate.Execute(&b, v); err != nil {
		// The template is fixed and its data plain: only a bug gets here.
		return "<!doctype html><title>caresignal report</title><p>the report could not be rendered: " + template.HTMLEscapeString(err.Error())
	}
	return b.String()
}

type headline struct {
	Name, Value, Interval, Help string
}

type expectedView struct {
	Label, Group                 string
	AtRisk, Resolved, Pending    int
	Expected, Realised, Interval string
	PValue                       string
	Flag                         bool
}

type driftView struct {
	Name, Type, Status, PSI, Test, Reasons string
	Bad                                    bool
	Plot                                   template.HTML
}

type reportView struct {
	R            *Report
	Verdict      Verdict
	SubjectsRun  string
	Generated    string
	FollowUp     string
	Headlines    []headline
	Calibration  template.HTML
	SurvivalPlot template.HTML
	AUCPlot      template.HTML
	BrierPlot    template.HTML
	ExpectedPlot template.HTML
	Expected     []expectedView
	Groups       []expectedView
	DriftPlot    template.HTML
	Drift        []driftView
	Horizons     template.HTML
	CalTable     []eval.CalibrationMonth
}

func f4(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }

func fp(x *float64) string {
	if x == nil || math.IsNaN(*x) {
		return "—"
	}
	return f4(*x)
}

func fg(x *float64) string {
	if x == nil || math.IsNaN(*x) {
		return "—"
	}
	return strconv.FormatFloat(*x, 'g', 4, 64)
}

func ci(m *eval.SurvivalMetrics, key string) string {
	if iv, ok := m.CI[key]; ok {
		return fmt.Sprintf("%s – %s", f4(iv[0]), f4(iv[1]))
	}
	return ""
}

func sortedMonths(m map[string]float64) []int {
	var ks []int
	for k := range m {
		if n, err := strconv.Atoi(k); err == nil {
			ks = append(ks, n)
		}
	}
	slices.Sort(ks)
	return ks
}

func buildView(rep *Report) *reportView {
	v := &reportView{R: rep, Verdict: Assess(rep), SubjectsRun: SubjectsRun, Generated: rep.GeneratedAt.Format("2006-01-02 15:04 MST")}
	if !rep.FollowUpAsOf.IsZero() {
		v.FollowUp = rep.FollowUpAsOf.Format(time.DateOnly)
	}
	if o := rep.Outcomes; o != nil {
		m := &o.Metrics
		v.Headlines = append(v.Headlines,
			headline{"Harrell's C", fp(m.HarrellC), ci(m, "harrell_c"), "share of comparable pairs the risk orders correctly (0.5 is chance)"},
			headline{"Uno's C", fp(m.UnoC), ci(m, "uno_c"), fmt.Sprintf("IPCW concordance up to month %s, robust to the censoring pattern", fg(m.UnoTau))},
			headline{"Integrated Brier score", fp(m.IBS), ci(m, "ibs"), fmt.Sprintf("mean IPCW Brier score over months 1–%d (lower is better)", m.IBSMax)},
			headline{"Calibration slope", fp(m.CalibrationSlope), ci(m, "calibration_slope"), "1 when hazards are neither too extreme nor too timid"},
			headline{"Calibration intercept", fp(m.CalibrationIntercept), ci(m, "calibration_intercept"), "0 when hazards are right on average (log-odds)"},
		)
		for _, t := range []int{3, 6, 12} {
			k := strconv.Itoa(t)
			if a, ok := m.TDAUC[k]; ok {
				v.Headlines = append(v.Headlines, headline{"AUC at month " + k, f4(a), ci(m, "td_auc."+k), "cumulative/dynamic: who drops off by month " + k + " against who is still engaged"})
			}
			if b, ok := m.Brier[k]; ok {
				v.Headlines = append(v.Headlines, headline{"Brier at month " + k, f4(b), ci(m, "brier."+k), "IPCW mean squared error of S(" + k + ")"})
			}
		}
		v.CalTable = m.Calibration
		v.Calibration = calibrationPlot(m)
		v.SurvivalPlot = survivalPlot(o)
		v.AUCPlot = monthLine("Time-dependent AUC by month", "AUC", m.TDAUC, m, "td_auc.", []plot.Ref{{Y: 0.5, Label: "chance"}}, plot.Axis{Label: "AUC", Min: 0.4, Max: 1})
		v.BrierPlot = monthLine("IPCW Brier score by month", "Brier score", m.Brier, m, "brier.", nil, plot.Axis{Label: "Brier score", Zero: true})
	}
	var months []ExpectedMonth
	for _, e := range rep.Expected {
		ev := expectedView{Label: e.Label(), Group: e.Group, AtRisk: e.AtRisk, Resolved: e.Resolved, Pending: e.Pending,
			Expected: strconv.FormatFloat(e.Expected, 'f', 1, 64), Realised: "pending", Flag: e.Flag}
		if e.Realised != nil {
			ev.Realised = strconv.Itoa(*e.Realised)
			ev.Interval = fmt.Sprintf("%d – %d (of %.1f expected among %d resolved)", *e.Lower, *e.Upper, e.ExpectedResolved, e.Resolved)
			ev.PValue = strconv.FormatFloat(*e.PValue, 'g', 3, 64)
		}
		if e.Group == "all" {
			v.Expected = append(v.Expected, ev)
			months = append(months, e)
		} else {
			v.Groups = append(v.Groups, ev)
		}
	}
	v.ExpectedPlot = expectedPlot(months)
	v.Horizons = horizonSection(rep.Horizons)
	if d := rep.Drift; d != nil {
		feats := slices.Clone(d.Features)
		if d.Prediction != nil {
			feats = append(feats, *d.Prediction)
		}
		var cats []string
		var psi []float64
		var flagged []bool
		for _, f := range feats {
			dv := driftView{Name: f.Name, Type: f.Type, Status: f.Status, PSI: fp(f.PSI), Reasons: strings.Join(f.Reasons, "; "),
				Bad: f.Status == "warn" || f.Status == "breach"}
			switch {
			case f.KS != nil:
				dv.Test = fmt.Sprintf("KS D %.3f, p %s (%d values)", f.KS.D, strconv.FormatFloat(f.KS.PValue, 'g', 3, 64), f.KS.N)
			case f.ChiSquare != nil:
				dv.Test = fmt.Sprintf("χ² %.1f, df %d, p %s", f.ChiSquare.Statistic, f.ChiSquare.DF, strconv.FormatFloat(f.ChiSquare.PValue, 'g', 3, 64))
			}
			if len(f.Bins) > 0 {
				dv.Plot = binsPlot(f)
			}
			v.Drift = append(v.Drift, dv)
			cats = append(cats, f.Name)
			p := math.NaN()
			if f.PSI != nil {
				p = *f.PSI
			}
			psi = append(psi, p)
			flagged = append(flagged, dv.Bad)
		}
		v.DriftPlot = plot.Bars(plot.BarChart{Title: "Population stability index by input", Categories: cats, XLabel: "input",
			Y: plot.Axis{Label: "PSI", Zero: true}, Series: []plot.BarSeries{{Name: "PSI", Values: psi}}, Flagged: flagged, FlagLabel: "drift",
			Refs: []plot.Ref{{Y: d.Thresholds.PSIWarn, Label: "warn"}, {Y: d.Thresholds.PSIBreach, Label: "breach"}}})
	}
	return v
}

func calibrationPlot(m *eval.SurvivalMetrics) template.HTML {
	var pts []plot.ScatterPoint
	for _, c := range m.Calibration {
		if c.Predicted == nil || c.Observed == nil {
			continue
		}
		p := plot.ScatterPoint{X: *c.Predicted, Y: *c.Observed, N: float64(c.AtRisk), Label: fmt.Sprintf("month %d: %d at risk, %d drop-offs", c.Month, c.AtRisk, c.Events)}
		if c.Lower != nil && c.Upper != nil {
			p.Lower, p.Upper = *c.Lower, *c.Upper
		}
		pts = append(pts, p)
	}
	return plot.Calibration(plot.ScatterChart{Title: "Calibration: mean predicted against observed monthly hazard",
		X: plot.Axis{Label: "mean predicted hazard", Percent: true}, Y: plot.Axis{Label: "observed (life table)", Percent: true},
		Series: []plot.ScatterSeries{{Name: "months", Points: pts, Connect: true}}})
}

func survivalPlot(o *OutcomeSection) template.HTML {
	var km, pred []plot.Point
	km = append(km, plot.Point{X: 0, Y: 1})
	pred = append(pred, plot.Point{X: 0, Y: 1})
	for _, s := range o.Metrics.SurvivalCalibration {
		pred = append(pred, plot.Point{X: float64(s.Month), Y: s.Predicted})
		if s.KaplanMeier != nil {
			km = append(km, plot.Point{X: float64(s.Month), Y: *s.KaplanMeier})
		}
	}
	xlabel := "months after the month of scoring"
	if o.Run == SubjectsRun {
		xlabel = "months from time zero"
	}
	return plot.Line(plot.LineChart{Title: "Predicted survival against Kaplan–Meier", X: plot.Axis{Label: xlabel, Integer: true, Zero: true},
		Y: plot.Axis{Label: "still engaged", Percent: true}, Series: []plot.Series{
			{Name: "Kaplan–Meier (observed)", Points: km, Step: true},
			{Name: "mean predicted", Points: pred, Dashed: true, Markers: true},
		}})
}

func monthLine(title, name string, vals map[string]float64, m *eval.SurvivalMetrics, ciKey string, refs []plot.Ref, y plot.Axis) template.HTML {
	ks := sortedMonths(vals)
	s := plot.Series{Name: name, Markers: true}
	hasCI := false
	for _, k := range ks {
		s.Points = append(s.Points, plot.Point{X: float64(k), Y: vals[strconv.Itoa(k)]})
		iv, ok := m.CI[ciKey+strconv.Itoa(k)]
		if !ok {
			iv = [2]float64{math.NaN(), math.NaN()}
		} else {
			hasCI = true
		}
		s.Lower, s.Upper = append(s.Lower, iv[0]), append(s.Upper, iv[1])
	}
	if !hasCI {
		s.Lower, s.Upper = nil, nil
	}
	return plot.Line(plot.LineChart{Title: title, X: plot.Axis{Label: "month", Integer: true}, Y: y, Series: []plot.Series{s}, Refs: refs})
}

func expectedPlot(months []ExpectedMonth) template.HTML {
	if len(months) == 0 {
		return ""
	}
	var cats []string
	var exp, real, lo, hi []float64
	var flags []bool
	for _, e := range months {
		cats = append(cats, e.Label())
		exp = append(exp, e.ExpectedResolved)
		if e.Realised == nil {
			exp[len(exp)-1] = e.Expected
			real = append(real, math.NaN())
			lo, hi = append(lo, math.NaN()), append(hi, math.NaN())
		} else {
			real = append(real, float64(*e.Realised))
			lo, hi = append(lo, float64(*e.Lower)), append(hi, float64(*e.Upper))
		}
		flags = append(flags, e.Flag)
	}
	return plot.Bars(plot.BarChart{Title: "Expected against realised drop-offs by month", Categories: cats, XLabel: "month",
		Y: plot.Axis{Label: "drop-offs", Zero: true}, Flagged: flags, FlagLabel: "outside the interval",
		Series: []plot.BarSeries{{Name: "expected (whisker: interval)", Values: exp, Lower: lo, Upper: hi}, {Name: "realised", Values: real}}})
}

func binsPlot(f eval.FeatureDrift) template.HTML {
	var cats []string
	var ref, live []float64
	for _, b := range f.Bins {
		cats = append(cats, b.Label)
		ref, live = append(ref, b.ReferenceShare), append(live, b.LiveShare)
	}
	return plot.Bars(plot.BarChart{Title: f.Name + ": training reference against live shares", Height: 240, Categories: cats,
		Y: plot.Axis{Label: "share", Percent: true, Zero: true}, Series: []plot.BarSeries{{Name: "training", Values: ref}, {Name: "live", Values: live}}})
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"f4": f4, "fp": fp, "sub": func(a, b int) int { return a - b },
	"date": func(t time.Time) string { return t.Format(time.DateOnly) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>caresignal evaluation · {{.R.Model}} {{.R.Version}}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
main{max-width:1040px;margin:0 auto;padding:1.2rem}
section{background:#fff;border:1px solid #e1e4ea;border-radius:8px;padding:1rem 1.2rem;margin:0 0 1rem}
h1{font-size:1.4rem;margin:.2rem 0 .4rem}h2{font-size:1.1rem;margin:.2rem 0 .6rem}
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{padding:.25rem .5rem;border-bottom:1px solid #eceef2;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#5d6675}
.flag{background:#fdecec}.ok{color:#17663a}.bad{color:#b3261e;font-weight:600}
.status{padding:.6rem .8rem;border-radius:6px;margin:.6rem 0;border:1px solid;border-left-width:6px}.status p{margin:.3rem 0}.status ul{margin:.2rem 0 .4rem;padding-left:1.2rem}
.badge{display:inline-block;padding:0 .4rem;border-radius:4px;color:#fff;margin-right:.3rem}
.st-passed{background:#eaf6ee;border-color:#17663a}.st-passed .badge{background:#17663a}
.st-unmeasured{background:#f1f2f4;border-color:#5d6675}.st-unmeasured .badge{background:#5d6675}
.st-warning{background:#fff4d6;border-color:#8a5a00}.st-warning .badge{background:#8a5a00}
.st-failed{background:#fdecec;border-color:#b3261e}.st-failed .badge{background:#b3261e}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(440px,100%),1fr));gap:1rem}
svg{max-width:100%;height:auto}code{font-size:.9em}details{margin:.4rem 0}
</style></head><body><main>
<section>
<h1>Evaluation of {{.R.Model}} version {{.R.Version}}</h1>
<p class="muted">Written {{.Generated}}{{with .FollowUp}}; outcomes from the person-period table as of {{.}}{{end}}.</p>
{{with .Verdict}}<div class="status st-{{.State}}" role="status"><p><b class="badge">{{.Label}}</b> {{.Headline}}</p>
{{with .Findings}}<p><b>Failed checks</b></p><ul>{{range $i, $f := .}}{{if lt $i 12}}<li>{{$f.Text}} <span class="muted">({{$f.Check}})</span></li>{{end}}{{end}}</ul>{{if gt (len .) 12}}<p>and {{sub (len .) 12}} more (listed in the JSON).</p>{{end}}{{end}}
{{with .Unmeasured}}<p><b>Not measured</b></p><ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}</div>{{end}}
{{with .R.Notes}}<ul class="muted">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
</section>

{{with .R.NextMonth}}<section>
<h2>The worklist's month</h2>
<p class="muted">Each scoring run ranks patients by their hazard for the month in progress. Over {{.N}} patient-runs whose month is now over ({{.Events}} drop-offs):</p>
<table><tbody>
<tr><td>AUC (drop-off in the month against not)</td><td class="n">{{with index .TDAUC "1"}}{{f4 .}}{{else}}—{{end}}</td><td class="muted">how well the worklist's order separates who left</td></tr>
<tr><td>Calibration slope</td><td class="n">{{fp .CalibrationSlope}}</td><td class="muted">1 when the hazards spread as much as the outcomes do</td></tr>
<tr><td>Calibration intercept</td><td class="n">{{fp .CalibrationIntercept}}</td><td class="muted">negative by design: the month was partly over when scored, so fewer drop-offs were left in it than its hazard counts</td></tr>
</tbody></table>
</section>{{end}}

{{with .R.Outcomes}}<section>
<h2>Accuracy against outcomes</h2>
<p class="muted">{{if ne .Run $.SubjectsRun}}Patients scored as of {{date .AsOf}} (run <code>{{.Run}}</code>), counted from the end of the month then in progress and followed up to their drop-off, transfer or the end of follow-up; {{.Followed}} of {{.Patients}} have at least one complete month. Hazards beyond the first month hold time-varying inputs at their values at scoring, which blunts them (a calibration slope below 1).{{else}}{{.Patients}} subjects scored at time zero.{{end}}
{{.Metrics.N}} patients, {{.Metrics.Events}} drop-offs. Censoring is handled by inverse probability of censoring weights (reverse Kaplan–Meier).</p>
<table><thead><tr><th>metric</th><th class="n">value</th><th class="n">{{with $.R.Outcomes.Metrics.Bootstrap}}bootstrap interval{{else}}interval{{end}}</th><th>meaning</th></tr></thead><tbody>
{{range $.Headlines}}<tr><td>{{.Name}}</td><td class="n">{{.Value}}</td><td class="n">{{.Interval}}</td><td class="muted">{{.Help}}</td></tr>{{end}}
</tbody></table>
{{with .Metrics.Notes}}<ul class="muted">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p class="muted">Bands and whiskers are bootstrap or Wilson intervals.</p>
<div class="grid"><div>{{$.Calibration}}</div><div>{{$.SurvivalPlot}}</div><div>{{$.AUCPlot}}</div><div>{{$.BrierPlot}}</div></div>
<details><summary>Calibration by month</summary>
<table><thead><tr><th class="n">month</th><th class="n">at risk</th><th class="n">drop-offs</th><th class="n">mean predicted</th><th class="n">observed</th><th class="n">interval</th></tr></thead><tbody>
{{range $.CalTable}}<tr><td class="n">{{.Month}}</td><td class="n">{{.AtRisk}}</td><td class="n">{{.Events}}</td><td class="n">{{fp .Predicted}}</td><td class="n">{{fp .Observed}}</td><td class="n">{{fp .Lower}} – {{fp .Upper}}</td></tr>{{end}}
</tbody></table></details>
</section>{{end}}
{{.Horizons}}
{{if .Expected}}<section>
<h2>Expected against realised drop-offs</h2>
<p class="muted">For the first full month after each scoring run, the patients enrolled when it began: the model expects the sum of their hazards; the realised count, once the month is over, should fall in the Poisson-binomial interval (whiskers). This is the earliest warning: it needs no outcome beyond the month itself.</p>
{{.ExpectedPlot}}
<table><thead><tr><th>month</th><th class="n">at risk</th><th class="n">expected</th><th class="n">realised</th><th class="n">interval</th><th class="n">p</th></tr></thead><tbody>
{{range .Expected}}<tr{{if .Flag}} class="flag"{{end}}><td>{{.Label}}</td><td class="n">{{.AtRisk}}</td><td class="n">{{.Expected}}</td><td class="n">{{.Realised}}{{if .Pending}} <span class="muted">({{.Pending}} pending)</span>{{end}}</td><td class="n">{{.Interval}}</td><td class="n">{{.PValue}}</td></tr>{{end}}
</tbody></table>
{{if .Groups}}<details><summary>By group ({{len .Groups}} rows)</summary>
<table><thead><tr><th>month · group</th><th class="n">at risk</th><th class="n">expected</th><th class="n">realised</th><th class="n">interval</th><th class="n">p</th></tr></thead><tbody>
{{range .Groups}}<tr{{if .Flag}} class="flag"{{end}}><td>{{.Label}}</td><td class="n">{{.AtRisk}}</td><td class="n">{{.Expected}}</td><td class="n">{{.Realised}}{{if .Pending}} <span class="muted">({{.Pending}} pending)</span>{{end}}</td><td class="n">{{.Interval}}</td><td class="n">{{.PValue}}</td></tr>{{end}}
</tbody></table></details>{{end}}
</section>{{end}}

{{with .R.Drift}}<section>
<h2>Drift of inputs and predictions</h2>
<p class="muted">{{.Rows}} live patients ({{$.R.DriftWindow}}) against {{.ReferenceRows}} training rows. Population stability index over the training deciles or levels (warn at {{f4 .Thresholds.PSIWarn}}, breach at {{f4 .Thresholds.PSIBreach}}); Kolmogorov–Smirnov for numbers and chi-square for categories (warn below p {{.Thresholds.PValue}}).</p>
{{$.DriftPlot}}
<table><thead><tr><th>input</th><th>status</th><th class="n">PSI</th><th>test</th><th>why</th></tr></thead><tbody>
{{range $.Drift}}<tr{{if .Bad}} class="flag"{{end}}><td>{{.Name}}</td><td class="{{if .Bad}}bad{{else}}ok{{end}}">{{.Status}}</td><td class="n">{{.PSI}}</td><td>{{.Test}}</td><td class="muted">{{.Reasons}}</td></tr>{{end}}
</tbody></table>
{{range $.Drift}}{{if .Bad}}{{.Plot}}{{end}}{{end}}
<details><summary>Every input's bins</summary><div class="grid">{{range $.Drift}}{{if not .Bad}}<div>{{.Plot}}</div>{{end}}{{end}}</div></details>
</section>{{end}}

{{with .R.Parity}}<section>
<h2>Online against offline (parity)</h2>
<p>{{.Summary}}</p>
{{if .Groups}}<table><thead><tr><th>model</th><th>version</th><th>route</th><th class="n">checked</th><th class="n">differ</th><th class="n">largest difference</th></tr></thead><tbody>
{{range .Groups}}<tr{{if .Mismatched}} class="flag"{{end}}><td>{{.Model}}</td><td>{{.Version}}</td><td>{{.Route}}</td><td class="n">{{.Checked}}</td><td class="n">{{.Mismatched}}</td><td class="n">{{printf "%.3g" .MaxAbsDiff}}</td></tr>{{end}}
</tbody></table>{{end}}
{{if .Mismatches}}<details open><summary>Differences ({{len .Mismatches}} listed{{if .Unlisted}}, {{.Unlisted}} more{{end}})</summary>
<table><thead><tr><th>record</th><th>version</th><th>cause</th><th class="n">month</th><th class="n">difference</th><th>detail</th></tr></thead><tbody>
{{range .Mismatches}}<tr><td><code>{{.ID}}</code></td><td>{{.Version}}</td><td>{{.Cause}}</td><td class="n">{{.Month}}</td><td class="n">{{printf "%.3g" .AbsDiff}}</td><td>{{.Detail}}</td></tr>{{end}}
</tbody></table></details>{{end}}
</section>{{end}}

{{if .R.Shadows}}<section><h2>Shadow versions</h2>
<p class="muted">A shadow scores the same requests as production; its answers are logged, never returned. Differences are shadow minus production next-month hazard.</p>
<table><thead><tr><th>shadow</th><th>against</th><th class="n">pairs</th><th class="n">mean hazard (prod → shadow)</th><th class="n">mean diff</th><th class="n">mean |diff|</th><th class="n">p95 |diff|</th><th class="n">max |diff|</th><th class="n">correlation</th><th class="n">top tenth kept</th></tr></thead><tbody>
{{range .R.Shadows}}<tr><td>{{.Shadow}}</td><td>{{.Production}}</td><td class="n">{{.Pairs}}</td><td class="n">{{f4 .MeanProduction}} → {{f4 .MeanShadow}}</td><td class="n">{{f4 .MeanDiff}}</td><td class="n">{{f4 .MeanAbsDiff}}</td><td class="n">{{f4 .P95AbsDiff}}</td><td class="n">{{f4 .MaxAbsDiff}}</td><td class="n">{{fp .Correlation}}</td><td class="n">{{fp .TopDecileAgreement}}</td></tr>{{end}}
</tbody></table></section>{{end}}

{{if .R.Outreach}}<section><h2>Outreach to the high band</h2>
<p class="muted">Each run's high band is its top tenth by the risk of dropping off in the next 30 days, the patients the worklist puts first. Contacted: a contact was recorded after the run was scored (the outcome is the latest one's). Dropped off: left disengaged since the run's as-of date, by the latest data. Outreach is an intervention: a patient reached may stay because of the call, so the drop-offs of contacted patients no longer measure the model alone.</p>
<table><thead><tr><th>run as of</th><th class="n">high band</th><th class="n">contacted</th><th>latest outcome</th><th class="n">dropped off, contacted</th><th class="n">dropped off, not contacted</th></tr></thead><tbody>
{{range .R.Outreach}}<tr><td>{{date .AsOf}}</td><td class="n">{{.Flagged}}</td><td class="n">{{.Contacted}}</td><td>{{.Outcomes}}</td><td class="n">{{.DroppedContacted}} of {{.Contacted}}</td><td class="n">{{.DroppedOthers}} of {{sub .Flagged .Contacted}}</td></tr>{{end}}
</tbody></table></section>{{end}}

{{if .R.Runs}}<section><h2>Scoring runs in the prediction log</h2>
<table><thead><tr><th>run</th><th>as of</th><th>version</th><th class="n">patients</th></tr></thead><tbody>
{{range .R.Runs}}<tr><td><code>{{.ID}}</code></td><td>{{date .AsOf}}</td><td>{{.Version}}</td><td class="n">{{.Patients}}</td></tr>{{end}}
</tbody></table></section>{{end}}

<section class="muted"><h2>Definitions</h2>
<p>Risk score: minus the expected engaged months over the horizon (Σ S(t)). Harrell's C: a pair is comparable when the shorter time is a drop-off (or the times tie and only one is a drop-off, the censored one counting as longer); tied risks count one half. Uno's C weights each comparable pair by 1/G(T<sub>i</sub>−)², G the reverse Kaplan–Meier estimate of staying uncensored, left limit. Time-dependent AUC at t: drop-offs by t (weighted by 1/G(T<sub>i</sub>−)) against patients still engaged after t, marker 1 − S(t). Brier score at t (Graf et al.): drop-offs by t weighted by 1/G(T<sub>i</sub>−), those still engaged by 1/G(t), censored before t contribute nothing; the integrated Brier score integrates it over months 1..max by the trapezoid rule, divided by the span. Calibration: among patients at risk at the start of each month, the mean predicted hazard against the life-table hazard (Wilson interval); slope and intercept from logistic recalibration of the person-month rows.</p>
</section>
</main></body></html>
`))
