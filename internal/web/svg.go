package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Charts are drawn on the server as inline SVG: no script, no external
// resources, and they print.
const (
	chartW, chartH             = 640, 250
	padL, padR, padT, padB     = 52, 16, 28, 40
	plotW, plotH               = chartW - padL - padR, chartH - padT - padB
	survivalColor, hazardColor = "#1f6f8b", "#c8553d"
)

// survivalChart draws S(t) from now (S = 1) to the end of the horizon, with
// the months counted from enrolment on the x axis.
func survivalChart(monthsEnrolled int, survival []float64) template.HTML {
	n := len(survival)
	var b strings.Builder
	open(&b, "Probability of still being engaged at the end of each month")
	yAxis(&b, 1, func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) })
	xAxisEdges(&b, monthsEnrolled, n, "month of enrolment (end)")
	pts := []string{point(0, 1)}
	for i, s := range survival {
		pts = append(pts, point(float64(i+1)/float64(n), s))
	}
	fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2.5" points="%s"/>`, survivalColor, strings.Join(pts, " "))
	for i, s := range survival {
		x, y := xy(float64(i+1)/float64(n), s)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>month %d: %.1f%%</title></circle>`, x, y, survivalColor, monthsEnrolled+i+1, 100*s)
	}
	// the one-half line makes the median readable
	_, y := xy(0, 0.5)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#888" stroke-dasharray="4 4"/>`, padL, padL+plotW, y, y)
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// hazardChart draws the hazard of each future month as bars.
func hazardChart(monthsEnrolled int, hazard []float64) template.HTML {
	n := len(hazard)
	top := niceCeil(maxOf(hazard) * 1.15)
	var b strings.Builder
	open(&b, "Probability of dropping off in each month, given engagement at its start")
	yAxis(&b, top, func(v float64) string { return fmt.Sprintf("%.3g%%", 100*v) })
	xAxisBands(&b, monthsEnrolled, n, "month of enrolment")
	band := float64(plotW) / float64(n)
	for i, h := range hazard {
		x0 := float64(padL) + band*float64(i) + band*0.15
		_, y := xy(0, h/top)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>month %d: %.2f%%</title></rect>`,
			x0, y, band*0.7, float64(padT+plotH)-y, hazardColor, monthsEnrolled+i+1, 100*h)
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

func open(b *strings.Builder, title string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s" class="chart"><title>%s</title>`,
		chartW, chartH, template.HTMLEscapeString(title), template.HTMLEscapeString(title))
}

// xy maps fractions of the plot area (0..1 across, 0..1 up) to pixels.
func xy(fx, fy float64) (float64, float64) {
	return float64(padL) + fx*float64(plotW), float64(padT) + (1-fy)*float64(plotH)
}

func point(fx, fy float64) string {
	x, y := xy(fx, fy)
	return fmt.Sprintf("%.1f,%.1f", x, y)
}

func yAxis(b *strings.Builder, top float64, label func(float64) string) {
	for k := 0; k <= 4; k++ {
		v := top * float64(k) / 4
		_, y := xy(0, float64(k)/4)
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e3e3e3"/>`, padL, padL+plotW, y, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#555">%s</text>`, padL-6, y+4, label(v))
	}
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#999"/>`, padL, padL, padT, padT+plotH)
}

// tickEvery thins month labels so they do not overlap.
func tickEvery(n int) int { return max(1, int(math.Ceil(float64(n)/16))) }

func xAxisEdges(b *strings.Builder, first, n int, caption string) {
	xAxisLine(b, caption)
	step := tickEvery(n)
	for i := 0; i <= n; i += step {
		x, _ := xy(float64(i)/float64(n), 0)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#555">%d</text>`, x, padT+plotH+15, first+i)
	}
}

func xAxisBands(b *strings.Builder, first, n int, caption string) {
	xAxisLine(b, caption)
	step := tickEvery(n)
	for i := 0; i < n; i += step {
		x, _ := xy((float64(i)+0.5)/float64(n), 0)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#555">%d</text>`, x, padT+plotH+15, first+i+1)
	}
}

func xAxisLine(b *strings.Builder, caption string) {
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#999"/>`, padL, padL+plotW, padT+plotH, padT+plotH)
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="12" text-anchor="middle" fill="#333">%s</text>`, padL+plotW/2, chartH-6, template.HTMLEscapeString(caption))
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// niceCeil rounds x up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}
