package web

import (
	"strings"
	"testing"

	"github.com/caresignal/caresignal/model"
)

// TestChartsKeepTheirMeaning holds the pages' charts to what they show:
// survival from now, hazards by month of enrolment, ratios on either side
// of 1 with penalised terms apart, and the chosen λ.
func TestChartsKeepTheirMeaning(t *testing.T) {
	check := func(name, svg string, want ...string) {
		t.Helper()
		if n := strings.Count(svg, "<svg"); n != 1 {
			t.Errorf("%s: %d <svg> elements", name, n)
		}
		for _, w := range want {
			if !strings.Contains(svg, w) {
				t.Errorf("%s: no %q in\n%s", name, w, svg)
			}
		}
	}
	check("survival", string(survivalChart(3, []float64{0.8, 0.6, 0.45})),
		"<title>now: 100%</title>", "<title>month 4: 80%</title>", "<title>month 6: 45%</title>", ">median</text>", ">month of enrolment (end)</text>")
	check("hazard", string(hazardChart(3, []float64{0.05, 0.04})),
		"<title>month 4 · 5%</title>", "<title>month 5 · 4%</title>", ">4</text>", ">month of enrolment</text>")

	f := func(v float64) *float64 { return &v }
	forest := string(forestPlot([]model.SummaryCoefficient{
		{Name: "prior_no_shows", Ratio: 1.19, CILow: f(1.13), CIHigh: f(1.25)},
		{Name: "sex=M", Ratio: 1},
		{Name: "channel=phone", Ratio: 0.76, CILow: f(0.62), CIHigh: f(0.94)},
	}, "odds ratio"))
	check("forest", forest, "odds ratio with 95% interval, log scale", `class="plot-row plot-above"`, `class="plot-row plot-below"`,
		"sex=M: 1, set to zero by the penalty", "plot-no-effect")
	if n := strings.Count(forest, `class="plot-interval"`); n != 2 {
		t.Errorf("forest: %d intervals, want 2 (none for the penalised term)", n)
	}

	cv := string(cvChart(&model.CVCurve{Folds: 5, Lambdas: []float64{100, 10, 1, 0.1, 0.01},
		Deviance: []float64{0.36, 0.34, 0.333, 0.334, 0.335}, SE: []float64{0.01, 0.008, 0.006, 0.006, 0.006}, Chosen: 1}))
	check("cv", cv, "chosen λ = 1 · λ 1: 0.333", "λ 0.01: 0.335 (0.329 – 0.341)", ">10⁻²</text>", ">10²</text>", `class="plot-ref"`, "penalty strength λ (log scale)")
}
