// Package plot draws small, dependency-free charts as inline SVG for the
// evaluation reports, the monitoring pages and the web app: lines (Line),
// grouped bars (Bars), points (Scatter, Calibration) and forest plots of
// ratios on a log scale (Forest). A Line over log10 values with the
// PowerOfTen format has a log-scale x axis.
//
// Every chart function returns a template.HTML fragment: one <svg> element
// with role="img", a <title> and a <desc>, no script and no external
// resource, so that it can be embedded as is in a self-contained HTML page
// and printed. All text that comes from the caller is escaped, and values
// that are NaN or infinite are skipped, never written into the SVG.
//
// Colours are set as presentation attributes, so a chart looks right on a
// page without any style sheet, and every element carries a CSS class so a
// page can restyle it (CSS rules win over presentation attributes):
//
//	svg.plot          the chart; also has class "chart" like the other charts
//	.plot-s0 … s7     one series (cycled); sets the CSS color property,
//	                  which lines, bands, markers and bars use as currentColor
//	.plot-grid        grid lines
//	.plot-axis        axis lines
//	.plot-tick        tick labels
//	.plot-caption     axis captions
//	.plot-legend      the legend
//	.plot-ref         reference lines and their labels
//	.plot-band        confidence bands
//	.plot-flag        the shading behind a flagged bar category
//	.plot-flag-marker the marker above a flagged bar category
//	.plot-flagged     bars and labels of flagged categories
//	.plot-nodata      the text shown when there is nothing to draw
//	.plot-row         one row of a forest plot, with .plot-above,
//	                  .plot-below or .plot-at-one for its side of 1; sets
//	                  the color its interval and marker use
//	.plot-no-effect   the line of no effect at 1 of a forest plot (also
//	                  .plot-ref)
//	.plot-interval    the interval of a forest plot's row
//	.plot-value       the value written at the right of a forest plot's row
//	.plot-note        the note beside a forest plot's marker
//
// The default size is 640×320 user units. The <svg> carries that width and
// height for pages without a style sheet; a rule such as the web app's
// .chart { width: 100%; height: auto } scales it through its viewBox.
package plot

import (
	"fmt"
	"hash/fnv"
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Default chart size in SVG user units.
const (
	DefaultWidth  = 640
	DefaultHeight = 320
)

// Limits on how much is drawn, so that large inputs give small pages.
const (
	// MaxMarkers is the largest number of points of one series drawn with
	// individual markers (and per-point tooltips); above it, a line series
	// is drawn without markers, a scatter series without tooltips, and a
	// bar chart with more categories than this without tooltips.
	MaxMarkers = 400
	// MaxLabel is the longest label, in characters, drawn in full; longer
	// ones are shortened with an ellipsis (the full text stays in the
	// tooltip).
	MaxLabel = 28
)

// maxAbs is the largest magnitude drawn; values beyond it are treated like
// NaN so that spans and scales stay finite.
const maxAbs = 1e100

// palette holds the default colour of each series class plot-s0 … plot-s7.
var palette = [...]string{"#1f6f8b", "#c8553d", "#5e8c31", "#8a63a8", "#c78f16", "#5b6673", "#2a9d8f", "#b5477a"}

const (
	inkColor   = "#333"
	tickColor  = "#555"
	gridColor  = "#e3e3e3"
	axisColor  = "#999"
	refColor   = "#777"
	flagColor  = "#c8553d"
	flagShade  = "#fbe4dd"
	fontFamily = `system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`
)

// Point is one (x, y) observation of a line series.
type Point struct {
	X, Y float64
}

// XY pairs xs and ys into points; the shorter slice sets the length.
func XY(xs, ys []float64) []Point {
	n := min(len(xs), len(ys))
	p := make([]Point, n)
	for i := range n {
		p[i] = Point{xs[i], ys[i]}
	}
	return p
}

// Axis describes one axis of a chart. The zero value is an automatic range
// with plain numbers.
type Axis struct {
	// Label is the axis caption.
	Label string
	// Min and Max fix the range when Max > Min; otherwise the range is
	// fitted to the data and widened to nice numbers.
	Min, Max float64
	// Zero makes an automatic range include zero.
	Zero bool
	// Percent writes values as percentages: 0.05 is shown as 5%.
	Percent bool
	// Integer puts ticks on whole numbers only (months, counts).
	Integer bool
	// Format, when set, writes tick labels and tooltip values instead of
	// the built-in formatting. Its result is escaped.
	Format func(float64) string
}

func (a Axis) fixed() bool { return a.Max > a.Min && ok(a.Min) && ok(a.Max) }

// Ref is a horizontal reference line, such as 0.5 for an AUC or an alert
// threshold.
type Ref struct {
	// Y is the value at which the line is drawn.
	Y float64
	// Label is written at the right end of the line; it may be empty.
	Label string
}

// XRef is a vertical reference line, such as a chosen value of a
// parameter or the day a model was deployed.
type XRef struct {
	// X is the value at which the line is drawn.
	X float64
	// Label is written at the top of the line; it may be empty.
	Label string
}

// ok reports whether v can be drawn.
func ok(v float64) bool { return !math.IsNaN(v) && math.Abs(v) <= maxAbs }

// esc makes s safe as XML character data or attribute value: invalid UTF-8
// and characters XML forbids are dropped, markup characters escaped.
func esc(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case r < 0x20, r == 0xFFFE, r == 0xFFFF:
			return -1
		}
		return r
	}, s)
	return template.HTMLEscapeString(s)
}

// shorten cuts s to MaxLabel characters.
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= MaxLabel {
		return s
	}
	r := []rune(s)
	return string(r[:MaxLabel-1]) + "…"
}

// textWidth estimates the width of s drawn at the given font size.
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * size * 0.6
}

// px writes a coordinate with one decimal; coordinates are clamped so that
// a value far outside a fixed range cannot produce huge numbers.
func px(v float64) string {
	if math.IsNaN(v) {
		v = 0
	}
	v = math.Max(-1e5, math.Min(1e5, v))
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

// safeColor returns c if it looks like a CSS colour (a name, #hex or a
// functional notation), else def.
func safeColor(c, def string) string {
	if c == "" || len(c) > 64 {
		return def
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("#(),.% -", r)) {
			return def
		}
	}
	return c
}

// safeClass keeps the tokens of c that are plain CSS class names.
func safeClass(c string) string {
	var out []string
	for _, f := range strings.Fields(c) {
		good := true
		for _, r := range f {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				good = false
				break
			}
		}
		if good {
			out = append(out, f)
		}
	}
	return strings.Join(out, " ")
}

// seriesStyle is the class and colour of series i.
func seriesStyle(i int, color, class string) (cls, col string) {
	k := i % len(palette)
	cls = "plot-series plot-s" + strconv.Itoa(k)
	if extra := safeClass(class); extra != "" {
		cls += " " + extra
	}
	return cls, safeColor(color, palette[k])
}

// chart accumulates the body of one SVG.
type chart struct {
	b             strings.Builder
	w, h          float64
	kind          string
	title, desc   string
	clip          bool
	l, r, t, bott float64 // plot area: left, right, top, bottom in pixels
	yTickW        float64 // width of the widest y tick label
}

func newChart(kind string, w, h int, title, desc string) *chart {
	if w <= 0 {
		w = DefaultWidth
	}
	if h <= 0 {
		h = DefaultHeight
	}
	w, h = max(w, 240), max(h, 160)
	if strings.TrimSpace(title) == "" {
		title = map[string]string{"line": "Line chart", "scatter": "Scatter chart", "bars": "Bar chart", "forest": "Forest plot"}[kind]
	}
	return &chart{w: float64(w), h: float64(h), kind: kind, title: title, desc: desc}
}

func (c *chart) printf(format string, args ...any) { fmt.Fprintf(&c.b, format, args...) }

const clipPlaceholder = "\x00clip\x00"

// clipAttr is the attribute that clips an element to the plot area.
func (c *chart) clipAttr() string {
	c.clip = true
	return ` clip-path="url(#` + clipPlaceholder + `)"`
}

// finish wraps the body in the <svg> element. The clip path's id is a hash
// of the chart, so output is deterministic and identical charts on a page
// share an identical definition.
func (c *chart) finish() template.HTML {
	body := c.b.String()
	var out strings.Builder
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-label="%s" class="chart plot plot-%s" font-family="%s" font-size="11">`,
		px(c.w), px(c.h), px(c.w), px(c.h), esc(c.title), c.kind, esc(fontFamily))
	fmt.Fprintf(&out, `<title>%s</title><desc>%s</desc>`, esc(c.title), esc(c.desc))
	if c.clip {
		h := fnv.New64a()
		h.Write([]byte(c.title))
		h.Write([]byte(c.desc))
		h.Write([]byte(body))
		id := fmt.Sprintf("plot-clip-%016x", h.Sum64())
		fmt.Fprintf(&out, `<defs><clipPath id="%s"><rect x="%s" y="%s" width="%s" height="%s"/></clipPath></defs>`,
			id, px(c.l-4), px(c.t-4), px(c.r-c.l+8), px(c.bott-c.t+8))
		body = strings.ReplaceAll(body, clipPlaceholder, id)
	}
	out.WriteString(body)
	out.WriteString("</svg>")
	return template.HTML(out.String())
}

// noData draws the frame of an empty chart, described as "No data."
// unless the caller gave a description.
func (c *chart) noData() template.HTML {
	if c.desc == "" {
		c.desc = "No data."
	}
	c.printf(`<rect x="0.5" y="0.5" width="%s" height="%s" fill="none" stroke="%s" stroke-dasharray="3 3" class="plot-axis"/>`, px(c.w-1), px(c.h-1), gridColor)
	c.printf(`<text x="%s" y="%s" text-anchor="middle" font-size="14" fill="%s" class="plot-nodata">no data</text>`, px(c.w/2), px(c.h/2+5), tickColor)
	return c.finish()
}

// scale maps data values to pixels linearly.
type scale struct{ d0, d1, p0, p1 float64 }

func (s scale) at(v float64) float64 {
	if s.d1 == s.d0 {
		return (s.p0 + s.p1) / 2
	}
	return s.p0 + (v-s.d0)/(s.d1-s.d0)*(s.p1-s.p0)
}

// yAxis draws the y grid lines, y tick labels and y axis line.
func (c *chart) yAxis(ys scale, tk []float64, label func(float64) string) {
	c.printf(`<g class="plot-grid" stroke="%s">`, gridColor)
	for _, v := range tk {
		y := ys.at(v)
		c.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, px(c.l), px(c.r), px(y), px(y))
	}
	c.printf(`</g><g class="plot-tick" fill="%s" text-anchor="end">`, tickColor)
	for _, v := range tk {
		c.printf(`<text x="%s" y="%s">%s</text>`, px(c.l-6), px(ys.at(v)+4), esc(label(v)))
	}
	c.printf(`</g><line class="plot-axis" x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, px(c.l), px(c.l), px(c.t), px(c.bott), axisColor)
}

// xAxis draws x grid lines, tick labels and the x axis line.
func (c *chart) xAxis(xs scale, tk []float64, label func(float64) string, grid bool) {
	if grid {
		c.printf(`<g class="plot-grid" stroke="%s">`, gridColor)
		for _, v := range tk {
			x := xs.at(v)
			c.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, px(x), px(x), px(c.t), px(c.bott))
		}
		c.printf(`</g>`)
	}
	c.printf(`<g class="plot-tick" fill="%s" text-anchor="middle">`, tickColor)
	for _, v := range tk {
		c.printf(`<text x="%s" y="%s">%s</text>`, px(xs.at(v)), px(c.bott+15), esc(label(v)))
	}
	c.printf(`</g>`)
	c.xAxisLine()
}

func (c *chart) xAxisLine() {
	c.printf(`<line class="plot-axis" x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, px(c.l), px(c.r), px(c.bott), px(c.bott), axisColor)
}

// captions draws the axis captions.
func (c *chart) captions(x, y string) {
	if x != "" {
		c.printf(`<text class="plot-caption" x="%s" y="%s" text-anchor="middle" font-size="12" fill="%s">%s</text>`, px((c.l+c.r)/2), px(c.h-6), inkColor, esc(x))
	}
	if y != "" {
		cx, cy := math.Max(14, c.l-c.yTickW-18), (c.t+c.bott)/2
		c.printf(`<text class="plot-caption" x="%s" y="%s" transform="rotate(-90 %s %s)" text-anchor="middle" font-size="12" fill="%s">%s</text>`,
			px(cx), px(cy), px(cx), px(cy), inkColor, esc(y))
	}
}

// refs draws horizontal reference lines within the y range.
func (c *chart) refs(refs []Ref, ys scale, lo, hi float64) {
	for _, r := range refs {
		if !ok(r.Y) || r.Y < lo || r.Y > hi {
			continue
		}
		y := ys.at(r.Y)
		c.printf(`<g class="plot-ref"><line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-dasharray="5 4"/>`, px(c.l), px(c.r), px(y), px(y), refColor)
		if r.Label != "" {
			ty := y - 4
			if ty < c.t+10 {
				ty = y + 12
			}
			c.printf(`<text x="%s" y="%s" text-anchor="end" font-size="10" fill="%s" stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">%s</text>`,
				px(c.r-4), px(ty), tickColor, esc(shorten(r.Label)))
		}
		c.printf(`</g>`)
	}
}

// xRefs draws vertical reference lines within the x range, each label at
// the top beside its line, on the side with more room.
func (c *chart) xRefs(refs []XRef, xs scale, lo, hi float64) {
	for _, r := range refs {
		if !ok(r.X) || r.X < lo || r.X > hi {
			continue
		}
		x := xs.at(r.X)
		c.printf(`<g class="plot-ref"><line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-dasharray="5 4"/>`, px(x), px(x), px(c.t), px(c.bott), refColor)
		if r.Label != "" {
			label := shorten(r.Label)
			tx, anchor := x+4, "start"
			if tx+textWidth(label, 10) > c.r && x-c.l > c.r-x {
				tx, anchor = x-4, "end"
			}
			c.printf(`<text x="%s" y="%s" text-anchor="%s" font-size="10" fill="%s" stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">%s</text>`,
				px(tx), px(c.t+10), anchor, tickColor, esc(label))
		}
		c.printf(`</g>`)
	}
}

// legendItem is one entry of a legend.
type legendItem struct {
	name, class, color string
	kind               byte // 'l' line, 'b' bar, 'm' marker, 'f' flag
	dashed, band, mark bool
}

const (
	legendRowH   = 16
	legendSwatch = 22
)

func (it legendItem) width() float64 {
	return legendSwatch + 5 + textWidth(shorten(it.name), 11) + 16
}

// legendRows counts the rows needed to lay the items out within width.
func legendRows(items []legendItem, width float64) int {
	if len(items) == 0 {
		return 0
	}
	rows, x := 1, 0.0
	for _, it := range items {
		w := it.width()
		if x > 0 && x+w > width {
			rows++
			x = 0
		}
		x += w
	}
	return rows
}

// legend draws the items in rows from (x0, y0) within width.
func (c *chart) legend(items []legendItem, x0, y0, width float64) {
	if len(items) == 0 {
		return
	}
	c.printf(`<g class="plot-legend">`)
	x, y := 0.0, y0
	for _, it := range items {
		w := it.width()
		if x > 0 && x+w > width {
			x = 0
			y += legendRowH
		}
		sx, sy := x0+x, y
		c.printf(`<g class="%s" color="%s">`, it.class, it.color)
		switch it.kind {
		case 'b':
			c.printf(`<rect x="%s" y="%s" width="14" height="10" fill="currentColor"/>`, px(sx+4), px(sy-5))
		case 'f':
			c.printf(`<rect x="%s" y="%s" width="%d" height="12" fill="%s" class="plot-flag"/>`, px(sx), px(sy-6), legendSwatch, flagShade)
			c.printf(`<path d="M%s %sh10l-5 7z" fill="%s" class="plot-flag-marker"/>`, px(sx+6), px(sy-4), flagColor)
		default:
			if it.band {
				c.printf(`<rect x="%s" y="%s" width="%d" height="10" fill="currentColor" fill-opacity="0.18" class="plot-band"/>`, px(sx), px(sy-5), legendSwatch)
			}
			if it.kind == 'l' {
				dash := ""
				if it.dashed {
					dash = ` stroke-dasharray="6 4"`
				}
				c.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="currentColor" stroke-width="2.5"%s/>`, px(sx), px(sx+legendSwatch), px(sy), px(sy), dash)
			}
			if it.mark || it.kind == 'm' {
				c.printf(`<circle cx="%s" cy="%s" r="3.5" fill="currentColor" stroke="#fff"/>`, px(sx+legendSwatch/2), px(sy))
			}
		}
		c.printf(`</g><text x="%s" y="%s" fill="%s">%s</text>`, px(sx+legendSwatch+5), px(sy+4), inkColor, esc(shorten(it.name)))
		x += w
	}
	c.printf(`</g>`)
}

// describeRange writes a value range for a description.
func describeRange(lo, hi float64, f func(float64) string) string {
	if lo == hi {
		return f(lo)
	}
	return f(lo) + " to " + f(hi)
}

// joinList joins parts with commas, capped at a few entries.
func joinList(parts []string) string {
	const most = 8
	if len(parts) > most {
		rest := len(parts) - most
		parts = append(parts[:most:most], fmt.Sprintf("and %d more", rest))
	}
	return strings.Join(parts, "; ")
}
