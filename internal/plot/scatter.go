package plot

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// ScatterChart is a chart of points, such as a calibration plot of
// observed against predicted drop-off rates per risk bin.
type ScatterChart struct {
	// Title names the chart for assistive technology and tooltips; the
	// page draws the visible heading.
	Title string
	// Desc describes the chart; when empty a summary of the data is
	// written.
	Desc string
	// Width and Height are the size in SVG user units (default 640×320;
	// with Equal and no Width, only as wide as the square plot and its
	// legend need).
	Width, Height int
	// X and Y are the axes. With Equal, the range of X (fixed or fitted)
	// is used for both.
	X, Y Axis
	// Series are drawn in order, the first at the bottom.
	Series []ScatterSeries
	// Diagonal draws the line y = x.
	Diagonal bool
	// Equal gives both axes the same range, from zero (or below, for
	// negative data) to a nice maximum, and makes the plot area square;
	// the legend then stands to the right of it.
	Equal bool
	// Refs are horizontal reference lines.
	Refs []Ref
}

// ScatterSeries is one set of points of a ScatterChart.
type ScatterSeries struct {
	// Name is shown in the legend and tooltips.
	Name string
	// Points are the observations; those with a NaN or infinite X or Y are
	// skipped.
	Points []ScatterPoint
	// Connect joins the points with a line in the given order.
	Connect bool
	// Color overrides the default colour (any CSS colour).
	Color string
	// Class adds CSS classes to the series.
	Class string
}

// ScatterPoint is one point of a scatter chart.
type ScatterPoint struct {
	// X and Y place the point.
	X, Y float64
	// Lower and Upper draw a vertical error bar when both are finite and
	// Upper > Lower.
	Lower, Upper float64
	// N is the number of observations behind the point: when positive,
	// the marker's area grows with it.
	N float64
	// Label is shown in the point's tooltip.
	Label string
}

func (p ScatterPoint) hasBar() bool { return ok(p.Lower) && ok(p.Upper) && p.Upper > p.Lower }

// Calibration draws a calibration plot: Scatter with the diagonal y = x,
// equal axes, and captions "predicted" and "observed" unless set.
func Calibration(c ScatterChart) template.HTML {
	c.Diagonal, c.Equal = true, true
	if c.X.Label == "" {
		c.X.Label = "predicted"
	}
	if c.Y.Label == "" {
		c.Y.Label = "observed"
	}
	if c.Title == "" {
		c.Title = "Calibration: observed against predicted"
	}
	return Scatter(c)
}

// Scatter draws a scatter chart.
func Scatter(c ScatterChart) template.HTML {
	xlo, xhi := math.Inf(1), math.Inf(-1)
	ylo, yhi := math.Inf(1), math.Inf(-1)
	maxN := 0.0
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !ok(p.X) || !ok(p.Y) {
				continue
			}
			xlo, xhi = extent(xlo, xhi, p.X)
			ylo, yhi = extent(ylo, yhi, p.Y)
			if p.hasBar() {
				ylo, yhi = extent(ylo, yhi, p.Lower, p.Upper)
			}
			if ok(p.N) && p.N > maxN {
				maxN = p.N
			}
		}
	}
	ch := newChart("scatter", c.Width, c.Height, c.Title, c.Desc)
	if xlo > xhi {
		return ch.noData()
	}
	if ch.desc == "" {
		ch.desc = describeScatter(c, xlo, xhi, ylo, yhi)
	}
	xlo, xhi, ylo, yhi = stretchRanges(xlo, xhi, ylo, yhi, c.X, c.Y, c.Refs)

	var items []legendItem
	for i, s := range c.Series {
		if s.Name == "" {
			continue
		}
		cls, col := seriesStyle(i, s.Color, s.Class)
		kind := byte('m')
		if s.Connect {
			kind = 'l'
		}
		items = append(items, legendItem{name: s.Name, class: cls, color: col, kind: kind, mark: true})
	}
	if c.Diagonal {
		items = append(items, legendItem{name: "y = x", class: "plot-ref", color: refColor, kind: 'l', dashed: true})
	}

	var xtk, ytk []float64
	var xlab, ylab func(float64) string
	if c.Equal {
		ch.layout(nil, c.X.Label, c.Y.Label)
		lo, hi := math.Min(0, math.Min(xlo, ylo)), math.Max(xhi, yhi)
		a := c.X
		a.Zero = false
		side := ch.bott - ch.t
		xtk, xlo, xhi, _ = axisTicks(a, lo, hi, side, 45, false)
		ylo, yhi = xlo, xhi
		ytk = xtk
		ya := c.Y
		if !ya.Percent && ya.Format == nil {
			ya.Percent = a.Percent
		}
		ylab = tickFormat(ya, step(xtk), math.Max(math.Abs(xlo), math.Abs(xhi)))
		xlab = tickFormat(a, step(xtk), math.Max(math.Abs(xlo), math.Abs(xhi)))
		ch.fitLeft(ytk, ylab, c.Y.Label)
		side = math.Min(side, ch.r-ch.l)
		ch.r = ch.l + side
		if c.Width <= 0 {
			// no width asked for: end the chart after the legend
			right := ch.r + 16
			for _, it := range items {
				right = math.Max(right, ch.r+24+it.width())
			}
			ch.w = math.Min(ch.w, math.Ceil(right))
		}
	} else {
		ch.layout(items, c.X.Label, c.Y.Label)
		ytk, ylo, yhi, ylab = axisTicks(c.Y, ylo, yhi, ch.bott-ch.t, 45, false)
		ch.fitLeft(ytk, ylab, c.Y.Label)
		xtk, xlo, xhi, xlab = axisTicks(c.X, xlo, xhi, ch.r-ch.l, 70, true)
	}
	xs, ys := scale{xlo, xhi, ch.l, ch.r}, scale{ylo, yhi, ch.bott, ch.t}
	ch.yAxis(ys, ytk, ylab)
	ch.xTicks(xs, xtk, xlab)
	clip := ""
	if c.X.fixed() || c.Y.fixed() {
		clip = ch.clipAttr()
	}
	if c.Diagonal {
		lo, hi := math.Max(xlo, ylo), math.Min(xhi, yhi)
		if lo < hi {
			ch.printf(`<line class="plot-ref" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-dasharray="5 4"/>`,
				px(xs.at(lo)), px(ys.at(lo)), px(xs.at(hi)), px(ys.at(hi)), refColor)
		}
	}
	ch.refs(c.Refs, ys, ylo, yhi)
	xv, yv := valueFormat(c.X), valueFormat(c.Y)
	if c.Equal && !c.Y.Percent && c.Y.Format == nil && c.X.Percent {
		yv = valueFormat(Axis{Percent: true})
	}
	for i, s := range c.Series {
		ch.drawPoints(i, s, xs, ys, clip, maxN, xv, yv)
	}
	if c.Equal {
		ch.legendColumn(items, ch.r+24, ch.t+8)
	} else {
		ch.legend(items, ch.l, 14, ch.w-ch.l-8)
	}
	ch.captions(c.X.Label, c.Y.Label)
	return ch.finish()
}

// step is the spacing of evenly spaced ticks.
func step(tk []float64) float64 {
	if len(tk) < 2 {
		return 1
	}
	return tk[1] - tk[0]
}

// legendColumn draws the items one per row.
func (c *chart) legendColumn(items []legendItem, x, y float64) {
	for k, it := range items {
		c.legend([]legendItem{it}, x, y+float64(k)*(legendRowH+2), c.w-x)
	}
}

// drawPoints draws one scatter series.
func (c *chart) drawPoints(i int, s ScatterSeries, xs, ys scale, clip string, maxN float64, xv, yv func(float64) string) {
	cls, col := seriesStyle(i, s.Color, s.Class)
	c.printf(`<g class="%s" color="%s"%s>`, cls, col, clip)
	if s.Name != "" {
		c.printf(`<title>%s</title>`, esc(s.Name))
	}
	var pts []ScatterPoint
	for _, p := range s.Points {
		if ok(p.X) && ok(p.Y) {
			pts = append(pts, p)
		}
	}
	if len(pts) > 4*MaxMarkers {
		// Many points: keep one per pixel, which looks the same.
		seen := map[[2]int]bool{}
		kept := pts[:0:0]
		for _, p := range pts {
			k := [2]int{int(math.Round(xs.at(p.X))), int(math.Round(ys.at(p.Y)))}
			if !seen[k] {
				seen[k] = true
				kept = append(kept, p)
			}
		}
		pts = kept
	}
	if s.Connect && len(pts) > 1 {
		var d strings.Builder
		for k, p := range pts {
			d.WriteString(cmd(k, xs.at(p.X), ys.at(p.Y)))
		}
		c.printf(`<path class="plot-line" d="%s" fill="none" stroke="currentColor" stroke-width="1.5" stroke-opacity="0.7"/>`, d.String())
	}
	for _, p := range pts {
		if !p.hasBar() {
			continue
		}
		x, y0, y1 := xs.at(p.X), ys.at(p.Lower), ys.at(p.Upper)
		c.printf(`<path class="plot-whisker" d="M%s %sV%sM%s %sh6M%s %sh6" stroke="currentColor" stroke-width="1.4" fill="none"/>`,
			px(x), px(y0), px(y1), px(x-3), px(y0), px(x-3), px(y1))
	}
	tips := len(pts) <= MaxMarkers
	opacity := ""
	if !tips {
		opacity = ` fill-opacity="0.5"`
	}
	for _, p := range pts {
		r := 3.5
		if maxN > 0 && ok(p.N) && p.N > 0 {
			r = 2.5 + 6.5*math.Sqrt(p.N/maxN)
		}
		c.printf(`<circle class="plot-marker" cx="%s" cy="%s" r="%s" fill="currentColor" stroke="#fff" stroke-width="1"%s>`,
			px(xs.at(p.X)), px(ys.at(p.Y)), px10(r), opacity)
		if tips {
			c.printf(`<title>%s</title>`, esc(pointTip(s.Name, p, xv, yv)))
		}
		c.printf(`</circle>`)
	}
	c.printf(`</g>`)
}

// px10 writes a small length with one decimal.
func px10(v float64) string { return px(math.Round(v*10) / 10) }

func pointTip(name string, p ScatterPoint, xv, yv func(float64) string) string {
	var b strings.Builder
	if name != "" {
		b.WriteString(name + " · ")
	}
	if p.Label != "" {
		b.WriteString(p.Label + ": ")
	}
	b.WriteString(xv(p.X) + ", " + yv(p.Y))
	if p.hasBar() {
		b.WriteString(" (" + yv(p.Lower) + " – " + yv(p.Upper) + ")")
	}
	if ok(p.N) && p.N > 0 {
		b.WriteString(", n = " + FormatNumber(p.N))
	}
	return b.String()
}

func describeScatter(c ScatterChart, xlo, xhi, ylo, yhi float64) string {
	xv, yv := valueFormat(c.X), valueFormat(c.Y)
	var parts []string
	for i, s := range c.Series {
		n := 0
		for _, p := range s.Points {
			if ok(p.X) && ok(p.Y) {
				n++
			}
		}
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("series %d", i+1)
		}
		parts = append(parts, fmt.Sprintf("%s: %d points", name, n))
	}
	xl, yl := c.X.Label, c.Y.Label
	if xl == "" {
		xl = "x"
	}
	if yl == "" {
		yl = "y"
	}
	kind := "Scatter chart"
	if c.Diagonal {
		kind += ", with the line y = x,"
	}
	return fmt.Sprintf("%s of %s (%s) against %s (%s). %s.", kind, yl, describeRange(ylo, yhi, yv), xl, describeRange(xlo, xhi, xv), joinList(parts))
}
