package monitor

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/caresignal/caresignal/model"
)

// horizonRow is one model's month of the comparison by horizon, as shown.
type horizonRow struct {
	Model, Version                            string
	Horizon, AtRisk, Events                   int
	Predicted, Observed, Slope, SlopeInterval string
	Intercept, Brier, IBS, IBSInterval        string
	Closer                                    string
	First                                     bool
}

type horizonView struct {
	*HorizonComparison
	Date string
	Rows []horizonRow
}

// horizonSection renders the comparison of models by horizon as one
// section of the report (empty without one).
func horizonSection(c *HorizonComparison) template.HTML {
	if c == nil || len(c.Models) == 0 {
		return ""
	}
	v := horizonView{HorizonComparison: c, Date: c.AsOf.Format(time.DateOnly)}
	for _, m := range c.Models {
		for k, b := range m.ByHorizon {
			r := horizonRow{Model: m.HorizonModel, Version: m.Version, Horizon: b.Horizon, AtRisk: b.AtRisk, Events: b.Events,
				Predicted: f4(b.MeanPredicted), Observed: f4(b.Observed), Slope: fp(b.CalibrationSlope), Intercept: fp(b.CalibrationIntercept),
				Brier: f4(b.Brier), IBS: f4(b.IBS), First: k == 0}
			if k < len(m.SlopeCI) && m.SlopeCI[k] != nil {
				r.SlopeInterval = fmt.Sprintf("[%.3f, %.3f]", m.SlopeCI[k][0], m.SlopeCI[k][1])
			}
			if k < len(m.IBSCI) {
				r.IBSInterval = fmt.Sprintf("[%.4f, %.4f]", m.IBSCI[k][0], m.IBSCI[k][1])
			}
			if m.HorizonModel == model.HorizonLandmark && k < len(c.Closer) {
				r.Closer = fmt.Sprintf("%.0f%%", 100*c.Closer[k])
			}
			v.Rows = append(v.Rows, r)
		}
	}
	var b strings.Builder
	if err := horizonTemplate.Execute(&b, v); err != nil {
		return template.HTML("<section><p>the comparison by horizon could not be rendered: " + template.HTMLEscapeString(err.Error()) + "</p></section>")
	}
	return template.HTML(b.String())
}

var horizonTemplate = template.Must(template.New("horizons").Parse(`<section>
<h2>Month by month ahead: the horizon models</h2>
<p class="muted">The patients of the run of {{.Date}} (<code>{{.Run}}</code>), rescored by each model from their inputs as logged and followed up over the months after it, which no model was trained on: {{.Patients}} patients{{if .Refused}} ({{.Refused}} left out: a model refused their inputs){{end}}. Month 1 is the rest of the month in progress at scoring. The calibration slope is that of the logistic recalibration of month k's outcome on its predicted log-odds, among the patients at risk at its start (1: neither too extreme nor too timid); the integrated Brier score runs over months 1 to k.{{if .Bootstrap}} Intervals: {{.Bootstrap}} patient-level bootstrap replicates, the same for every model; "closer" is the share of them in which the landmark model's slope is the closer to 1.{{end}}</p>
<table><thead><tr><th>model</th><th class="n">month ahead</th><th class="n">at risk</th><th class="n">drop-offs</th><th class="n">mean predicted</th><th class="n">observed</th><th class="n">calibration slope</th><th class="n">intercept</th><th class="n">Brier</th><th class="n">integrated Brier</th>{{if .Closer}}<th class="n">closer</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr><td>{{if .First}}{{.Model}} <span class="muted">{{.Version}}</span>{{end}}</td><td class="n">{{.Horizon}}</td><td class="n">{{.AtRisk}}</td><td class="n">{{.Events}}</td><td class="n">{{.Predicted}}</td><td class="n">{{.Observed}}</td><td class="n">{{.Slope}}{{with .SlopeInterval}}<br><small class="muted" style="white-space:nowrap">{{.}}</small>{{end}}</td><td class="n">{{.Intercept}}</td><td class="n">{{.Brier}}</td><td class="n">{{.IBS}}{{with .IBSInterval}}<br><small class="muted" style="white-space:nowrap">{{.}}</small>{{end}}</td>{{if $.Closer}}<td class="n">{{.Closer}}</td>{{end}}</tr>
{{end}}</tbody></table>
{{with .Verdict}}<p>Default by the rule (slope closer to 1 at every month from 3 on, integrated Brier score not worse): <b>{{.}}</b></p>{{end}}
</section>`))
