package plot_test

import (
	"fmt"
	"html/template"
	"math"
	"os"
	"strings"

	"github.com/caresignal/caresignal/internal/plot"
)

// A Kaplan–Meier curve with its confidence band, on a fixed 0–100% axis,
// embedded in a page through html/template.
func ExampleLine() {
	km := plot.Series{
		Name:   "all participants",
		Step:   true,
		Points: plot.XY([]float64{0, 1, 2, 3, 4}, []float64{1, 0.93, 0.85, 0.8, 0.74}),
		Lower:  []float64{1, 0.9, 0.81, 0.75, 0.68},
		Upper:  []float64{1, 0.96, 0.89, 0.85, 0.8},
	}
	svg := plot.Line(plot.LineChart{
		Title:  "Share still engaged by month",
		X:      plot.Axis{Label: "months since enrolment", Integer: true},
		Y:      plot.Axis{Label: "still engaged", Min: 0, Max: 1, Percent: true},
		Series: []plot.Series{km},
		Refs:   []plot.Ref{{Y: 0.5, Label: "median"}},
	})
	page := template.Must(template.New("report").Parse("<figure>{{.}}</figure>\n"))
	var b strings.Builder
	if err := page.Execute(&b, svg); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	fmt.Println(strings.HasPrefix(b.String(), `<figure><svg xmlns="http://www.w3.org/2000/svg"`))
	fmt.Println(strings.Contains(b.String(), "<title>Share still engaged by month</title>"))
	// Output:
	// true
	// true
}

// A calibration plot of observed against predicted risk per decile, with
// binomial intervals and markers sized by the number of people.
func ExampleCalibration() {
	svg := plot.Calibration(plot.ScatterChart{
		X: plot.Axis{Label: "predicted risk", Percent: true},
		Series: []plot.ScatterSeries{{Name: "deciles", Connect: true, Points: []plot.ScatterPoint{
			{X: 0.05, Y: 0.04, Lower: 0.03, Upper: 0.05, N: 1200, Label: "decile 1"},
			{X: 0.15, Y: 0.17, Lower: 0.14, Upper: 0.2, N: 800, Label: "decile 2"},
		}}},
	})
	fmt.Println(strings.Count(string(svg), `class="plot-marker"`))
	// Output: 2
}

// Reference against live share per bin, with the drifted bin flagged and
// the bars above a threshold line.
func ExampleBars() {
	svg := plot.Bars(plot.BarChart{
		Title:      "Age distribution",
		Categories: []string{"< 25", "25–45", "45–65", "≥ 65"},
		Y:          plot.Axis{Label: "share", Percent: true},
		Series: []plot.BarSeries{
			{Name: "reference", Values: []float64{0.15, 0.4, 0.3, 0.15}},
			{Name: "live", Values: []float64{0.1, 0.35, 0.3, 0.25}},
		},
		Flagged:   []bool{false, false, false, true},
		FlagLabel: "drifted",
	})
	fmt.Println(strings.Count(string(svg), `class="plot-bar`), strings.Contains(string(svg), "plot-flag-marker"))
	// Output: 8 true
}

// The odds ratios of a penalised model with their 95% intervals, one of
// them set to zero by the penalty.
func ExampleForest() {
	svg := plot.Forest(plot.ForestChart{
		Title: "Odds ratios",
		X:     plot.Axis{Label: "odds ratio with 95% interval, log scale"},
		Rows: []plot.ForestRow{
			{Label: "prior_no_shows", Value: 1.19, Lower: 1.13, Upper: 1.25},
			{Label: "channel=phone", Value: 0.76, Lower: 0.62, Upper: 0.94},
			{Label: "sex=M", Value: 1, Note: "set to zero by the penalty"},
		},
	})
	fmt.Println(strings.Count(string(svg), `class="plot-interval"`), strings.Contains(string(svg), "set to zero by the penalty"))
	// Output: 2 true
}

// A cross-validation curve on a log scale: the chart is given log10 λ, and
// PowerOfTen writes the axis; the chosen λ is a marked point and a line.
func ExamplePowerOfTen() {
	lambdas := []float64{100, 10, 1, 0.1, 0.01}
	deviance := []float64{0.36, 0.34, 0.333, 0.334, 0.335}
	var pts []plot.Point
	for i, l := range lambdas {
		pts = append(pts, plot.Point{X: math.Log10(l), Y: deviance[i]})
	}
	svg := plot.Line(plot.LineChart{
		X:      plot.Axis{Label: "penalty strength λ (log scale)", Integer: true, Format: plot.PowerOfTen},
		Series: []plot.Series{{Name: "held-out deviance", Points: pts}, {Name: "chosen λ = 1", Points: pts[2:3]}},
		XRefs:  []plot.XRef{{X: 0}},
	})
	fmt.Println(strings.Contains(string(svg), ">10⁻²</text>"), strings.Contains(string(svg), ">10²</text>"))
	// Output: true true
}
