package plot

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
)

// LineChart is a chart of one or more series against a numeric x axis,
// such as hazards or survival by month, or a metric over time.
type LineChart struct {
	// Title names the chart for assistive technology and tooltips; the
	// page draws the visible heading.
	Title string
	// Desc describes the chart; when empty a summary of the data is
	// written.
	Desc string
	// Width and Height are the size in SVG user units (default 640×320).
	Width, Height int
	// X and Y are the axes.
	X, Y Axis
	// Series are drawn in order, the first at the bottom.
	Series []Series
	// Refs are horizontal reference lines; an automatic y range includes
	// them.
	Refs []Ref
	// XRefs are vertical reference lines, such as a chosen value; an
	// automatic x range includes them.
	XRefs []XRef
}

// Series is one line of a LineChart.
type Series struct {
	// Name is shown in the legend and tooltips; unnamed series have no
	// legend entry.
	Name string
	// Points are drawn in order of X. A point whose Y is NaN or infinite
	// breaks the line; one whose X is, is dropped.
	Points []Point
	// Lower and Upper, when set, are a band (a confidence interval) per
	// point, drawn as a translucent area. Points whose bounds are missing
	// or not finite break the band.
	Lower, Upper []float64
	// Step draws the series as a post-step function, each value held until
	// the next point, as a Kaplan–Meier survival curve is.
	Step bool
	// Dashed draws the line dashed.
	Dashed bool
	// Markers draws a marker with a tooltip at each point (for at most
	// MaxMarkers points).
	Markers bool
	// Labels, when set, name each point (by index, like Points) in its
	// tooltip in place of its x value, so an axis of month numbers can
	// have tooltips such as "month 3: 93%". An empty label keeps the x
	// value.
	Labels []string
	// Color overrides the default colour (any CSS colour).
	Color string
	// Class adds CSS classes to the series.
	Class string
}

// linePrep is a series with its non-drawable points removed, sorted by x.
type linePrep struct {
	s            Series
	x, y, lo, up []float64 // x finite; the others may be NaN
	label        []string  // tooltip names; "" for the x value
	hasBand      bool
	hasLine      bool // two neighbouring points can be joined
}

func prepLine(s Series) linePrep {
	p := linePrep{s: s, hasBand: len(s.Lower) > 0 && len(s.Upper) > 0}
	idx := make([]int, 0, len(s.Points))
	for i, q := range s.Points {
		if ok(q.X) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.Points[idx[a]].X < s.Points[idx[b]].X })
	for _, i := range idx {
		p.x = append(p.x, s.Points[i].X)
		y := s.Points[i].Y
		if !ok(y) {
			y = math.NaN()
		}
		p.y = append(p.y, y)
		p.lo = append(p.lo, at(s.Lower, i))
		p.up = append(p.up, at(s.Upper, i))
		p.label = append(p.label, "")
		if i < len(s.Labels) {
			p.label[len(p.label)-1] = s.Labels[i]
		}
	}
	for j := 1; j < len(p.y); j++ {
		p.hasLine = p.hasLine || ok(p.y[j-1]) && ok(p.y[j])
	}
	return p
}

// extent widens lo..hi to cover the drawable values of v.
// stretchRanges extends the data's ranges to the reference lines and, where the
// axis asks for it, to zero.
func stretchRanges(xlo, xhi, ylo, yhi float64, x, y Axis, refs []Ref) (float64, float64, float64, float64) {
	for _, r := range refs {
		ylo, yhi = extent(ylo, yhi, r.Y)
	}
	if x.Zero {
		xlo, xhi = math.Min(xlo, 0), math.Max(xhi, 0)
	}
	if y.Zero {
		ylo, yhi = math.Min(ylo, 0), math.Max(yhi, 0)
	}
	return xlo, xhi, ylo, yhi
}

func extent(lo, hi float64, v ...float64) (float64, float64) {
	for _, x := range v {
		if ok(x) {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
	}
	return lo, hi
}

// Line draws a line chart.
func Line(c LineChart) template.HTML {
	series := make([]linePrep, len(c.Series))
	xlo, xhi := math.Inf(1), math.Inf(-1)
	ylo, yhi := math.Inf(1), math.Inf(-1)
	for i, s := range c.Series {
		p := prepLine(s)
		series[i] = p
		for j, x := range p.x {
			if ok(p.y[j]) || p.hasBand && ok(p.lo[j]) && ok(p.up[j]) {
				xlo, xhi = extent(xlo, xhi, x)
				ylo, yhi = extent(ylo, yhi, p.y[j])
				if p.hasBand && ok(p.lo[j]) && ok(p.up[j]) {
					ylo, yhi = extent(ylo, yhi, p.lo[j], p.up[j])
				}
			}
		}
	}
	ch := newChart("line", c.Width, c.Height, c.Title, c.Desc)
	if xlo > xhi {
		return ch.noData()
	}
	xlo, xhi, ylo, yhi = stretchRanges(xlo, xhi, ylo, yhi, c.X, c.Y, c.Refs)
	for _, r := range c.XRefs {
		xlo, xhi = extent(xlo, xhi, r.X)
	}

	var items []legendItem
	for i, p := range series {
		if p.s.Name == "" {
			continue
		}
		cls, col := seriesStyle(i, p.s.Color, p.s.Class)
		kind := byte('l')
		if !p.hasLine {
			kind = 'm' // drawn as markers only, such as one chosen point
		}
		items = append(items, legendItem{name: p.s.Name, class: cls, color: col, kind: kind, dashed: p.s.Dashed, band: p.hasBand, mark: p.s.Markers})
	}
	ch.layout(items, c.X.Label, c.Y.Label)
	if ch.desc == "" {
		ch.desc = describeLine(c, series, xlo, xhi)
	}
	ytk, ylo, yhi, ylab := axisTicks(c.Y, ylo, yhi, ch.bott-ch.t, 45, false)
	ch.fitLeft(ytk, ylab, c.Y.Label)
	xtk, xlo, xhi, xlab := axisTicks(c.X, xlo, xhi, ch.r-ch.l, 70, true)
	xs, ys := scale{xlo, xhi, ch.l, ch.r}, scale{ylo, yhi, ch.bott, ch.t}
	ch.yAxis(ys, ytk, ylab)
	ch.xTicks(xs, xtk, xlab)
	ch.refs(c.Refs, ys, ylo, yhi)
	ch.xRefs(c.XRefs, xs, xlo, xhi)
	clip := ""
	if c.X.fixed() || c.Y.fixed() {
		clip = ch.clipAttr()
	}
	xv, yv := valueFormat(c.X), valueFormat(c.Y)
	for i, p := range series {
		ch.drawSeries(i, p, xs, ys, clip, xv, yv)
	}
	ch.legend(items, ch.l, 14, ch.w-ch.l-8)
	ch.captions(c.X.Label, c.Y.Label)
	return ch.finish()
}

// layout sets the plot area's top and bottom from the legend and captions;
// the left edge is set by fitLeft once the y ticks are known.
func (c *chart) layout(items []legendItem, xlabel, ylabel string) {
	c.l, c.r = 56, c.w-16
	rows := legendRows(items, c.w-c.l-8)
	c.t = 14 + float64(rows)*legendRowH
	if rows > 0 {
		c.t += 4
	}
	c.bott = c.h - 24
	if xlabel != "" {
		c.bott -= 16
	}
}

// fitLeft sets the plot area's left edge to fit the y tick labels.
func (c *chart) fitLeft(tk []float64, label func(float64) string, ylabel string) {
	widest := 0.0
	for _, v := range tk {
		widest = math.Max(widest, textWidth(label(v), 11))
	}
	c.yTickW = widest
	c.l = math.Max(32, widest+12)
	if ylabel != "" {
		c.l += 20
	}
	c.l = math.Min(c.l, c.w/3)
}

// xTicks draws x tick marks and labels and the x axis line.
func (c *chart) xTicks(xs scale, tk []float64, label func(float64) string) {
	c.printf(`<g class="plot-axis" stroke="%s">`, axisColor)
	for _, v := range tk {
		x := xs.at(v)
		c.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, px(x), px(x), px(c.bott), px(c.bott+4))
	}
	c.printf(`</g>`)
	c.xAxis(xs, tk, label, false)
}

// drawSeries draws one line series: band, line, then markers.
func (c *chart) drawSeries(i int, p linePrep, xs, ys scale, clip string, xv, yv func(float64) string) {
	cls, col := seriesStyle(i, p.s.Color, p.s.Class)
	c.printf(`<g class="%s" color="%s"%s>`, cls, col, clip)
	if p.s.Name != "" {
		c.printf(`<title>%s</title>`, esc(p.s.Name))
	}
	width := c.r - c.l
	X := make([]float64, len(p.x))
	for j, x := range p.x {
		X[j] = xs.at(x)
	}
	if p.hasBand {
		for _, run := range runs(len(X), func(j int) bool { return ok(p.lo[j]) && ok(p.up[j]) }) {
			keep := decimate(run, X, width, p.lo, p.up)
			ux, uy := pick(keep, X, p.up, ys)
			lx, ly := pick(keep, X, p.lo, ys)
			if p.s.Step {
				ux, uy = stepped(ux, uy)
				lx, ly = stepped(lx, ly)
			}
			var d strings.Builder
			for k := range ux {
				d.WriteString(cmd(k, ux[k], uy[k]))
			}
			for k := len(lx) - 1; k >= 0; k-- {
				d.WriteString(" L" + px(lx[k]) + " " + px(ly[k]))
			}
			c.printf(`<path class="plot-band" d="%s Z" fill="currentColor" fill-opacity="0.18" stroke="none"/>`, d.String())
		}
	}
	dash := ""
	if p.s.Dashed {
		dash = ` stroke-dasharray="6 4"`
	}
	yOK := func(j int) bool { return ok(p.y[j]) }
	var single []int
	for _, run := range runs(len(X), yOK) {
		if len(run) == 1 {
			single = append(single, run[0])
			continue
		}
		keep := decimate(run, X, width, p.y)
		lx, ly := pick(keep, X, p.y, ys)
		if p.s.Step {
			lx, ly = stepped(lx, ly)
		}
		var d strings.Builder
		for k := range lx {
			d.WriteString(cmd(k, lx[k], ly[k]))
		}
		c.printf(`<path class="plot-line" d="%s" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linejoin="round"%s/>`, d.String(), dash)
	}
	var marks []int
	if p.s.Markers {
		n := 0
		for j := range X {
			if yOK(j) {
				n++
			}
		}
		if n <= MaxMarkers {
			for j := range X {
				if yOK(j) {
					marks = append(marks, j)
				}
			}
		}
	}
	if len(marks) == 0 && len(single) <= MaxMarkers {
		marks = single
	}
	for _, j := range marks {
		name := p.label[j]
		if name == "" {
			name = xv(p.x[j])
		}
		tip := name + ": " + yv(p.y[j])
		if p.hasBand && ok(p.lo[j]) && ok(p.up[j]) {
			tip += " (" + yv(p.lo[j]) + " – " + yv(p.up[j]) + ")"
		}
		if p.s.Name != "" {
			tip = p.s.Name + " · " + tip
		}
		c.printf(`<circle class="plot-marker" cx="%s" cy="%s" r="3.2" fill="currentColor" stroke="#fff" stroke-width="1"><title>%s</title></circle>`,
			px(X[j]), px(ys.at(p.y[j])), esc(tip))
	}
	c.printf(`</g>`)
}

func cmd(k int, x, y float64) string {
	if k == 0 {
		return "M" + px(x) + " " + px(y)
	}
	return " L" + px(x) + " " + px(y)
}

// runs splits 0..n-1 into maximal runs of consecutive indices where good
// holds.
func runs(n int, good func(int) bool) [][]int {
	var out [][]int
	var cur []int
	for j := range n {
		if good(j) {
			cur = append(cur, j)
			continue
		}
		if len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// decimate keeps, of a run of indices whose pixel x are X, at most about
// four per pixel column: the first, the last, and those with the smallest
// and largest value of each of vals. Short runs are kept whole.
func decimate(run []int, X []float64, width float64, vals ...[]float64) []int {
	if float64(len(run)) <= 4*math.Max(width, 1) {
		return run
	}
	var out []int
	start := 0
	for start < len(run) {
		col := math.Floor(X[run[start]])
		end := start
		for end+1 < len(run) && math.Floor(X[run[end+1]]) == col {
			end++
		}
		pickSet := map[int]bool{run[start]: true, run[end]: true}
		for _, v := range vals {
			lo, hi := run[start], run[start]
			for k := start; k <= end; k++ {
				j := run[k]
				if v[j] < v[lo] {
					lo = j
				}
				if v[j] > v[hi] {
					hi = j
				}
			}
			pickSet[lo], pickSet[hi] = true, true
		}
		for k := start; k <= end; k++ {
			if pickSet[run[k]] {
				out = append(out, run[k])
			}
		}
		start = end + 1
	}
	return out
}

// pick maps the kept indices to pixel coordinates.
func pick(keep []int, X, v []float64, ys scale) (xs, yp []float64) {
	xs, yp = make([]float64, len(keep)), make([]float64, len(keep))
	for k, j := range keep {
		xs[k], yp[k] = X[j], ys.at(v[j])
	}
	return xs, yp
}

// stepped turns vertices into a post-step function: each y is held until
// the next x.
func stepped(x, y []float64) ([]float64, []float64) {
	if len(x) < 2 {
		return x, y
	}
	sx, sy := make([]float64, 0, 2*len(x)), make([]float64, 0, 2*len(x))
	for k := range x {
		if k > 0 {
			sx, sy = append(sx, x[k]), append(sy, y[k-1])
		}
		sx, sy = append(sx, x[k]), append(sy, y[k])
	}
	return sx, sy
}

func describeLine(c LineChart, series []linePrep, xlo, xhi float64) string {
	xv, yv := valueFormat(c.X), valueFormat(c.Y)
	var parts []string
	for i, p := range series {
		lo, hi, n := math.Inf(1), math.Inf(-1), 0
		for _, y := range p.y {
			if ok(y) {
				lo, hi, n = math.Min(lo, y), math.Max(hi, y), n+1
			}
		}
		name := p.s.Name
		if name == "" {
			name = fmt.Sprintf("series %d", i+1)
		}
		if n == 0 {
			parts = append(parts, name+": no values")
			continue
		}
		points := "points"
		if n == 1 {
			points = "point"
		}
		parts = append(parts, fmt.Sprintf("%s: %d %s, from %s", name, n, points, describeRange(lo, hi, yv)))
	}
	for _, r := range c.XRefs {
		if r.Label != "" && ok(r.X) {
			parts = append(parts, fmt.Sprintf("%s at %s", r.Label, xv(r.X)))
		}
	}
	xl, yl := c.X.Label, c.Y.Label
	if xl == "" {
		xl = "x"
	}
	if yl == "" {
		yl = "y"
	}
	return fmt.Sprintf("Line chart of %s against %s (%s). %s.", yl, xl, describeRange(xlo, xhi, xv), joinList(parts))
}
