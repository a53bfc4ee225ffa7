package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/caresignal/caresignal/model"
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

// forestPlot draws each coefficient's ratio (odds or hazard ratio) with its
// 95% interval on a log scale, one row per coefficient, the line of no
// effect at 1.
func forestPlot(coefs []model.SummaryCoefficient, ratio string) template.HTML {
	const rowH, labelW, right, top, bottom = 22, 230, 90, 10, 38
	h := top + bottom + rowH*len(coefs)
	lo, hi := 1.0, 1.0
	for _, c := range coefs {
		lo, hi = math.Min(lo, c.Ratio), math.Max(hi, c.Ratio)
		if c.CILow != nil {
			lo, hi = math.Min(lo, *c.CILow), math.Max(hi, *c.CIHigh)
		}
	}
	llo, lhi := math.Log(lo)-0.05, math.Log(hi)+0.05
	w := chartW - labelW - right
	xOf := func(r float64) float64 { return float64(labelW) + float64(w)*(math.Log(r)-llo)/(lhi-llo) }
	var b strings.Builder
	title := ratio + " with 95% interval, log scale"
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s" class="chart"><title>%s</title>`,
		chartW, h, template.HTMLEscapeString(title), template.HTMLEscapeString(title))
	x1 := xOf(1)
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#888" stroke-dasharray="4 4"/>`, x1, x1, top, h-bottom)
	for _, t := range []float64{0.25, 0.5, 1, 2, 4} {
		if math.Log(t) < llo || math.Log(t) > lhi {
			continue
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#555">%g</text>`, xOf(t), h-bottom+15, t)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="middle" fill="#333">%s</text>`, labelW+w/2, h-6, template.HTMLEscapeString(title))
	for i, c := range coefs {
		y := float64(top + rowH*i + rowH/2)
		color := survivalColor
		if c.Ratio > 1 {
			color = hazardColor
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="12" text-anchor="end" fill="#333">%s</text>`, labelW-8, y+4, template.HTMLEscapeString(c.Name))
		interval := "set to zero by the penalty"
		if c.CILow != nil {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`, xOf(*c.CILow), xOf(*c.CIHigh), y, y, color)
			interval = fmt.Sprintf("95%% interval %.3f–%.3f", *c.CILow, *c.CIHigh)
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4.5" fill="%s"><title>%s: %s %.3f, %s</title></circle>`,
			xOf(c.Ratio), y, color, template.HTMLEscapeString(c.Name), template.HTMLEscapeString(ratio), c.Ratio, interval)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" fill="#555">%.3f</text>`, chartW-right+8, y+4, c.Ratio)
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// cvChart draws the cross-validated deviance against λ (log scale, weak
// penalties on the left) with ±1 standard error, the chosen λ marked.
func cvChart(cv *model.CVCurve) template.HTML {
	n := len(cv.Lambdas)
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, d := range cv.Deviance {
		lo, hi = math.Min(lo, d-cv.SE[i]), math.Max(hi, d+cv.SE[i])
	}
	pad := (hi - lo) * 0.05
	lo, hi = lo-pad, hi+pad
	lmin, lmax := math.Log10(cv.Lambdas[n-1]), math.Log10(cv.Lambdas[0])
	fx := func(l float64) float64 { return (math.Log10(l) - lmin) / (lmax - lmin) }
	fy := func(d float64) float64 { return (d - lo) / (hi - lo) }
	var b strings.Builder
	open(&b, "Held-out deviance per person-period row by penalty strength λ")
	for k := 0; k <= 4; k++ {
		v := lo + (hi-lo)*float64(k)/4
		_, y := xy(0, float64(k)/4)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e3e3e3"/>`, padL, padL+plotW, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#555">%.4f</text>`, padL-6, y+4, v)
	}
	xAxisLine(&b, "penalty strength λ (log scale)")
	for e := math.Ceil(lmin); e <= lmax; e++ {
		x, _ := xy(fx(math.Pow(10, e)), 0)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#555">1e%g</text>`, x, padT+plotH+15, e)
	}
	var pts []string
	for i, l := range cv.Lambdas {
		x, y0 := xy(fx(l), fy(cv.Deviance[i]-cv.SE[i]))
		_, y1 := xy(fx(l), fy(cv.Deviance[i]+cv.SE[i]))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#bbb"/>`, x, x, y0, y1)
		pts = append(pts, point(fx(l), fy(cv.Deviance[i])))
	}
	fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, survivalColor, strings.Join(pts, " "))
	for i, l := range cv.Lambdas {
		x, y := xy(fx(l), fy(cv.Deviance[i]))
		color, r := survivalColor, 3.0
		if l == cv.Chosen {
			color, r = hazardColor, 5
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%.0f" fill="%s"><title>λ %.4g: deviance %.5f ± %.5f</title></circle>`, x, y, r, color, l, cv.Deviance[i], cv.SE[i])
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}
