package plot

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
)

// BarChart is a chart of grouped bars, one group per category: reference
// against live share per bin for drift, or expected against realised
// drop-offs per month. It is meant for up to a few hundred categories.
type BarChart struct {
	// Title names the chart for assistive technology and tooltips; the
	// page draws the visible heading.
	Title string
	// Desc describes the chart; when empty a summary of the data is
	// written.
	Desc string
	// Width and Height are the size in SVG user units (default 640×320).
	Width, Height int
	// Categories label the groups, left to right. When empty, the groups
	// are numbered from 1, as many as the longest series has values.
	Categories []string
	// Labels, when set, name the categories (by index) in tooltips and
	// the description in place of Categories, so the axis can keep short
	// labels ("3") while a tooltip says "month 3". An empty label keeps
	// the category's.
	Labels []string
	// XLabel is the caption under the category labels.
	XLabel string
	// Y is the value axis; its range always includes zero.
	Y Axis
	// Series are the bars of each group, left to right.
	Series []BarSeries
	// Flagged marks categories to highlight (by index, like Categories):
	// their group is shaded, marked at the top and its label emphasised.
	Flagged []bool
	// FlagLabel is the legend entry for flagged categories (default
	// "flagged").
	FlagLabel string
	// Refs are horizontal reference lines, such as an alert threshold.
	Refs []Ref
}

// BarSeries is one bar per category.
type BarSeries struct {
	// Name is shown in the legend and tooltips.
	Name string
	// Values holds one value per category; a NaN, infinite or missing
	// value draws no bar.
	Values []float64
	// Lower and Upper, when set, draw an interval whisker on each bar
	// whose bounds are finite.
	Lower, Upper []float64
	// Color overrides the default colour (any CSS colour).
	Color string
	// Class adds CSS classes to the series.
	Class string
}

// at returns v[i] when it is drawable, else NaN.
func at(v []float64, i int) float64 {
	if i < len(v) && ok(v[i]) {
		return v[i]
	}
	return math.NaN()
}

// Bars draws a grouped bar chart.
func Bars(c BarChart) template.HTML {
	n := len(c.Categories)
	if n == 0 {
		for _, s := range c.Series {
			n = max(n, len(s.Values))
		}
	}
	label := func(i int) string {
		if i < len(c.Categories) {
			return c.Categories[i]
		}
		return strconv.Itoa(i + 1)
	}
	name := func(i int) string {
		if i < len(c.Labels) && c.Labels[i] != "" {
			return c.Labels[i]
		}
		return label(i)
	}
	flagged := func(i int) bool { return i < len(c.Flagged) && c.Flagged[i] }
	ylo, yhi := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for i := range n {
			ylo, yhi = extent(ylo, yhi, at(s.Values, i))
			if lo, up := at(s.Lower, i), at(s.Upper, i); ok(lo) && ok(up) {
				ylo, yhi = extent(ylo, yhi, lo, up)
			}
		}
	}
	ch := newChart("bars", c.Width, c.Height, c.Title, c.Desc)
	if ylo > yhi {
		return ch.noData()
	}
	if ch.desc == "" {
		ch.desc = describeBars(c, n, name, flagged)
	}
	for _, r := range c.Refs {
		ylo, yhi = extent(ylo, yhi, r.Y)
	}
	ylo, yhi = math.Min(ylo, 0), math.Max(yhi, 0)

	var items []legendItem
	for j, s := range c.Series {
		if s.Name == "" {
			continue
		}
		cls, col := seriesStyle(j, s.Color, s.Class)
		items = append(items, legendItem{name: s.Name, class: cls, color: col, kind: 'b'})
	}
	anyFlag := false
	for i := range n {
		anyFlag = anyFlag || flagged(i)
	}
	if anyFlag {
		fl := c.FlagLabel
		if fl == "" {
			fl = "flagged"
		}
		items = append(items, legendItem{name: fl, class: "plot-flag-legend", color: flagColor, kind: 'f'})
	}

	ch.layout(items, c.XLabel, c.Y.Label)
	ytk, _, _, ylab := axisTicks(c.Y, ylo, yhi, ch.bott-ch.t, 45, false)
	ch.fitLeft(ytk, ylab, c.Y.Label)

	// Category labels: all side by side if they fit; short ones thinned;
	// long ones rotated (and thinned when the bars are narrow).
	labels := make([]string, n)
	widest := 0.0
	for i := range labels {
		labels[i] = shorten(label(i))
		widest = math.Max(widest, textWidth(labels[i], 11))
	}
	band := (ch.r - ch.l) / float64(n)
	every, rotate := 1, false
	switch {
	case widest+6 <= band:
	case widest <= 40:
		every = int(math.Ceil((widest + 8) / band))
	default:
		rotate = true
		every = max(1, int(math.Ceil(14/band)))
		room := ch.h * 0.3
		if widest*0.71 > room {
			keep := max(3, int(room/0.71/6.6))
			widest = 0
			for i := range labels {
				if r := []rune(labels[i]); len(r) > keep {
					labels[i] = string(r[:keep-1]) + "…"
				}
				widest = math.Max(widest, textWidth(labels[i], 11))
			}
		}
		ch.bott -= widest*0.71 - 6
	}
	ytk, ylo, yhi, ylab = axisTicks(c.Y, ylo, yhi, ch.bott-ch.t, 45, false)
	ch.fitLeft(ytk, ylab, c.Y.Label)
	if rotate {
		// the first label runs down to the left of its group
		ch.l = math.Min(math.Max(ch.l, widest*0.71-band/2+2), ch.w/3)
	}
	band = (ch.r - ch.l) / float64(n)
	ys := scale{ylo, yhi, ch.bott, ch.t}
	yv := valueFormat(c.Y)

	for i := range n {
		if flagged(i) {
			ch.printf(`<rect class="plot-flag" x="%s" y="%s" width="%s" height="%s" fill="%s"/>`,
				px(ch.l+band*float64(i)), px(ch.t), px(band), px(ch.bott-ch.t), flagShade)
		}
	}
	ch.yAxis(ys, ytk, ylab)
	if ylo < 0 {
		y0 := ys.at(0)
		ch.printf(`<line class="plot-axis plot-zero" x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, px(ch.l), px(ch.r), px(y0), px(y0), axisColor)
	}
	clip := ""
	if c.Y.fixed() {
		clip = ch.clipAttr()
	}
	m := max(1, len(c.Series))
	bw := band * 0.8 / float64(m)
	gap := 0.0
	if bw > 4 {
		gap = math.Min(2, bw*0.1)
	}
	for j, s := range c.Series {
		cls, col := seriesStyle(j, s.Color, s.Class)
		ch.printf(`<g class="%s" color="%s"%s>`, cls, col, clip)
		for i := range n {
			v := at(s.Values, i)
			if !ok(v) {
				continue
			}
			x := ch.l + band*float64(i) + band*0.1 + bw*float64(j)
			y0, y1 := ys.at(math.Max(v, 0)), ys.at(math.Min(v, 0))
			extra := ""
			if flagged(i) {
				extra = " plot-flagged"
			}
			tip := name(i) + " · "
			if s.Name != "" {
				tip += s.Name + ": "
			}
			tip += yv(v)
			lo, up := at(s.Lower, i), at(s.Upper, i)
			whisker := ok(lo) && ok(up)
			if whisker {
				tip += " (" + yv(lo) + " – " + yv(up) + ")"
			}
			ch.printf(`<rect class="plot-bar%s" x="%s" y="%s" width="%s" height="%s" fill="currentColor">`,
				extra, px(x+gap/2), px(y0), px(math.Max(bw-gap, 0.3)), px(math.Max(y1-y0, 0)))
			if n <= MaxMarkers {
				ch.printf(`<title>%s</title>`, esc(tip))
			}
			ch.printf(`</rect>`)
			if whisker {
				cx, cap := x+bw/2, math.Min(bw*0.25, 4)
				ch.printf(`<path class="plot-whisker" d="M%s %sV%sM%s %sh%sM%s %sh%s" stroke="%s" stroke-width="1.4" fill="none"/>`,
					px(cx), px(ys.at(lo)), px(ys.at(up)), px(cx-cap), px(ys.at(lo)), px(2*cap), px(cx-cap), px(ys.at(up)), px(2*cap), inkColor)
			}
		}
		ch.printf(`</g>`)
	}
	ch.refs(c.Refs, ys, ylo, yhi)
	for i := range n {
		if flagged(i) {
			cx := ch.l + band*(float64(i)+0.5)
			ch.printf(`<path class="plot-flag-marker" d="M%s %sh10l-5 7z" fill="%s"><title>%s</title></path>`,
				px(cx-5), px(ch.t-9), flagColor, esc(name(i)+": "+orDefault(c.FlagLabel, "flagged")))
		}
	}

	ch.xAxisLine()
	ch.printf(`<g class="plot-tick" fill="%s">`, tickColor)
	for i := 0; i < n; i += every {
		cx, y := ch.l+band*(float64(i)+0.5), ch.bott+15
		attrs := ` text-anchor="middle"`
		if rotate {
			cx += 3
			y = ch.bott + 10
			attrs = fmt.Sprintf(` text-anchor="end" transform="rotate(-45 %s %s)"`, px(cx), px(y))
		}
		if flagged(i) {
			attrs += fmt.Sprintf(` class="plot-flagged" fill="%s" font-weight="bold"`, flagColor)
		}
		ch.printf(`<text x="%s" y="%s"%s>%s</text>`, px(cx), px(y), attrs, esc(labels[i]))
	}
	ch.printf(`</g>`)
	ch.legend(items, ch.l, 14, ch.w-ch.l-8)
	ch.captions(c.XLabel, c.Y.Label)
	return ch.finish()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func describeBars(c BarChart, n int, label func(int) string, flagged func(int) bool) string {
	yv := valueFormat(c.Y)
	var parts []string
	for j, s := range c.Series {
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := range n {
			lo, hi = extent(lo, hi, at(s.Values, i))
		}
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("series %d", j+1)
		}
		if lo > hi {
			parts = append(parts, name+": no values")
			continue
		}
		parts = append(parts, name+": from "+describeRange(lo, hi, yv))
	}
	yl, xl := c.Y.Label, c.XLabel
	if yl == "" {
		yl = "values"
	}
	if xl == "" {
		xl = "category"
	}
	d := fmt.Sprintf("Bar chart of %s by %s, %d categories. %s.", yl, xl, n, joinList(parts))
	var fl []string
	for i := range n {
		if flagged(i) {
			fl = append(fl, label(i))
		}
	}
	if len(fl) > 0 {
		d += " " + orDefault(c.FlagLabel, "Flagged") + ": " + joinList(fl) + "."
	}
	return d
}
