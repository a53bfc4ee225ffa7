package monitor

import (
	"html/template"
	"strings"
)

// horizonSection renders the comparison of models by horizon as one
// section of the report (empty without one).
func horizonSection(c *HorizonComparison) template.HTML {
	if c == nil || len(c.Models) == 0 {
		return ""
	}
	var b strings.Builder
	if err := horizonTemplate.Execute(&b, c); err != nil {
		return template.HTML("<section><p>the comparison by horizon could not be rendered: " + template.HTMLEscapeString(err.Error()) + "</p></section>")
	}
	return template.HTML(b.String())
}

var horizonTemplate = template.Must(template.New("horizons").Funcs(template.FuncMap{"f4": f4, "fp": fp, "date": func(t interface{ Format(string) string }) string { return t.Format("2006-01-02") }}).Parse(`<section>
<h2>Month by month ahead: the horizon models</h2>
<p class="muted">The patients of the run of {{date .AsOf}} (<code>{{.Run}}</code>), rescored by each model from their inputs as logged and followed up over the {{.Horizon}} months after it, which no model was trained on: {{.Patients}} patients{{if .Refused}} ({{.Refused}} left out: a model refused their inputs){{end}}. Month 1 is the rest of the month in progress at scoring. The calibration slope is that of the logistic recalibration of month k's outcome on its predicted log-odds, among the patients at risk at its start (1: neither too extreme nor too timid); the integrated Brier score runs over months 1 to k.</p>
<table><thead><tr><th>model</th><th class="n">month ahead</th><th class="n">at risk</th><th class="n">drop-offs</th><th class="n">mean predicted</th><th class="n">observed</th><th class="n">calibration slope</th><th class="n">intercept</th><th class="n">Brier</th><th class="n">integrated Brier</th></tr></thead><tbody>
{{range .Models}}{{$m := .}}{{range .ByHorizon}}<tr><td>{{$m.HorizonModel}} <span class="muted">{{$m.Version}}</span></td><td class="n">{{.Horizon}}</td><td class="n">{{.AtRisk}}</td><td class="n">{{.Events}}</td><td class="n">{{f4 .MeanPredicted}}</td><td class="n">{{f4 .Observed}}</td><td class="n">{{fp .CalibrationSlope}}</td><td class="n">{{fp .CalibrationIntercept}}</td><td class="n">{{f4 .Brier}}</td><td class="n">{{f4 .IBS}}</td></tr>{{end}}{{end}}
</tbody></table>
{{with .Verdict}}<p>Default by the rule (slope closer to 1 at every month from 3 on, integrated Brier score not worse): <b>{{.}}</b></p>{{end}}
</section>`))
