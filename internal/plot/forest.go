package plot

import (
	"fmt"
	"html/template"
	"math"
)

// ForestChart is a forest plot: one row per estimated ratio, such as the
// odds or hazard ratio of each term of a model, with its interval, on a log
// scale around the line of no effect at 1. Rows above 1 and rows below it
// differ in colour as well as in side.
type ForestChart struct {
	// Title names the chart for assistive technology and tooltips; the
	// page draws the visible heading.
	Title string
	// Desc describes the chart; when empty a summary of the rows is
	// written.
	Desc string
	// Width is the width in SVG user units (default 640). The height
	// follows from the number of rows unless Height is set.
	Width, Height int
	// X is the ratio axis: its Label is the caption under it, Min and Max
	// (both positive) fix its range, and Format writes its ticks and the
	// values. Zero, Percent and Integer do not apply to a log scale.
	X Axis
	// Rows are drawn top to bottom.
	Rows []ForestRow
}

// ForestRow is one estimate of a forest plot.
type ForestRow struct {
	// Label names the row, at its left.
	Label string
	// Value is the estimate, a ratio. A row whose value is not positive
	// and finite is listed without a marker.
	Value float64
	// Lower and Upper bound the interval, drawn when both are positive
	// and finite and Lower ≤ Upper. Without an interval (the zero value)
	// the estimate is drawn as a hollow marker.
	Lower, Upper float64
	// Note is added to the row's tooltip and to the description; on a row
	// without an interval it is also written beside the marker, such as
	// "set to zero by the penalty".
	Note string
}

func positive(v float64) bool { return ok(v) && v > 0 }

func (r ForestRow) hasInterval() bool {
	return positive(r.Lower) && positive(r.Upper) && r.Lower <= r.Upper
}

// side classifies a row against the line of no effect.
func (r ForestRow) side() string {
	switch {
	case !positive(r.Value):
		return ""
	case r.Value > 1:
		return "above"
	case r.Value < 1:
		return "below"
	}
	return "at-one"
}

// forestColor is the colour of each side: above 1 like series 1, below like
// series 0, at 1 like a reference line.
var forestColor = map[string]string{"above": palette[1], "below": palette[0], "at-one": refColor}

const forestRowH = 22

// Forest draws a forest plot.
func Forest(c ForestChart) template.HTML {
	lo, hi := math.Inf(1), math.Inf(-1)
	drawn := 0
	for _, r := range c.Rows {
		if !positive(r.Value) {
			continue
		}
		drawn++
		lo, hi = math.Min(lo, r.Value), math.Max(hi, r.Value)
		if r.hasInterval() {
			lo, hi = math.Min(lo, r.Lower), math.Max(hi, r.Upper)
		}
	}
	n := len(c.Rows)
	bottom := 24.0
	if c.X.Label != "" {
		bottom += 16
	}
	h := c.Height
	if h <= 0 {
		h = int(math.Ceil(8 + forestRowH*float64(n) + bottom))
	}
	ch := newChart("forest", c.Width, h, c.Title, c.Desc)
	if drawn == 0 {
		return ch.noData()
	}
	if ch.desc == "" {
		ch.desc = describeForest(c)
	}
	fixed := c.X.fixed() && c.X.Min > 0
	if fixed {
		lo, hi = c.X.Min, c.X.Max
	} else {
		// the line of no effect is always in view, and a little room is
		// left around the outermost ends
		lo, hi = math.Min(lo, 1), math.Max(hi, 1)
		if lo == hi {
			lo, hi = lo/2, hi*2
		}
		pad := math.Max(0.04*math.Log(hi/lo), 0.02)
		lo, hi = lo*math.Exp(-pad), hi*math.Exp(pad)
	}

	value := valueFormat(c.X)
	labels := make([]string, n)
	labelW, valueW := 0.0, 0.0
	for i, r := range c.Rows {
		labels[i] = shorten(r.Label)
		// measured as if a size larger: names have more wide letters
		// than numbers
		labelW = math.Max(labelW, textWidth(labels[i], 12))
		valueW = math.Max(valueW, textWidth(value(r.Value), 11))
	}
	ch.l = 8 + math.Min(labelW, ch.w*0.4) + 12
	ch.r = ch.w - 8 - valueW - 12
	ch.t, ch.bott = 8, ch.h-bottom
	rowH := (ch.bott - ch.t) / float64(n)
	xs := scale{math.Log(lo), math.Log(hi), ch.l, ch.r}
	x := func(v float64) float64 { return xs.at(math.Log(v)) }

	tickLabel := FormatNumber
	if c.X.Format != nil {
		tickLabel = c.X.Format
	}
	tk := logTicks(lo, hi, ch.r-ch.l, tickLabel)
	ch.printf(`<g class="plot-grid" stroke="%s">`, gridColor)
	for _, v := range tk {
		ch.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s"/>`, px(x(v)), px(x(v)), px(ch.t), px(ch.bott))
	}
	ch.printf(`</g><g class="plot-tick" fill="%s" text-anchor="middle">`, tickColor)
	for _, v := range tk {
		ch.printf(`<text x="%s" y="%s">%s</text>`, px(x(v)), px(ch.bott+15), esc(tickLabel(v)))
	}
	ch.printf(`</g>`)
	ch.xAxisLine()
	if lo <= 1 && 1 <= hi {
		ch.printf(`<line class="plot-ref plot-no-effect" x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-dasharray="5 4"><title>no effect</title></line>`,
			px(x(1)), px(x(1)), px(ch.t), px(ch.bott), refColor)
	}

	clip := ""
	if fixed {
		clip = ch.clipAttr()
	}
	for i, r := range c.Rows {
		y := ch.t + rowH*(float64(i)+0.5)
		side := r.side()
		cls, col := "plot-row", inkColor
		if side != "" {
			cls, col = "plot-row plot-"+side, forestColor[side]
		}
		ch.printf(`<g class="%s" color="%s">`, cls, col)
		ch.printf(`<text class="plot-tick" x="%s" y="%s" text-anchor="end" fill="%s">%s</text>`, px(ch.l-12), px(y+4), inkColor, esc(labels[i]))
		ch.printf(`<text class="plot-value" x="%s" y="%s" text-anchor="end" fill="%s">%s</text>`, px(ch.w-8), px(y+4), tickColor, esc(value(r.Value)))
		if side != "" {
			ch.forestMark(r, y, x, clip, value, n <= MaxMarkers)
		}
		ch.printf(`</g>`)
	}
	ch.captions(c.X.Label, "")
	return ch.finish()
}

// forestMark draws one row's interval and marker, and its note beside a
// marker without an interval.
func (c *chart) forestMark(r ForestRow, y float64, x func(float64) float64, clip string, value func(float64) string, tip bool) {
	c.printf(`<g%s>`, clip)
	fill := "currentColor"
	if r.hasInterval() {
		c.printf(`<line class="plot-interval" x1="%s" x2="%s" y1="%s" y2="%s" stroke="currentColor" stroke-width="2"/>`,
			px(x(r.Lower)), px(x(r.Upper)), px(y), px(y))
	} else {
		fill = "#fff"
	}
	c.printf(`<circle class="plot-marker" cx="%s" cy="%s" r="4.5" fill="%s" stroke="currentColor" stroke-width="1.5">`, px(x(r.Value)), px(y), fill)
	if tip {
		t := r.Label + ": " + value(r.Value)
		if r.hasInterval() {
			t += " (" + value(r.Lower) + " – " + value(r.Upper) + ")"
		}
		if r.Note != "" {
			t += ", " + r.Note
		}
		c.printf(`<title>%s</title>`, esc(t))
	}
	c.printf(`</circle></g>`)
	if r.Note != "" && !r.hasInterval() {
		// beside the marker, on the side with more room
		nx, anchor := x(r.Value)+9, "start"
		if nx+textWidth(r.Note, 10) > c.r && x(r.Value)-c.l > c.r-x(r.Value) {
			nx, anchor = x(r.Value)-9, "end"
		}
		c.printf(`<text class="plot-note" x="%s" y="%s" text-anchor="%s" font-size="10" fill="%s" stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">%s</text>`,
			px(nx), px(y+3.5), anchor, tickColor, esc(r.Note))
	}
}

// logTicks chooses the ticks of a log-scale axis over lo..hi (both
// positive) that is length pixels long, labelled by label: 1, 2 and 5 times
// powers of ten when at least three of them fall in the range, evenly
// spaced nice numbers over a narrower range, and every power of ten (or
// every second, fifth, …) when those would crowd. Ticks are thinned until
// their labels fit side by side.
func logTicks(lo, hi, length float64, label func(float64) string) []float64 {
	span := math.Log(hi / lo)
	if !(span > 0) || math.IsInf(span, 0) || length <= 0 {
		return nil
	}
	pos := func(v float64) float64 { return math.Log(v/lo) / span * length }
	fits := func(tk []float64) bool {
		if len(tk) > max(3, int(length/40)) {
			return false
		}
		for k := 1; k < len(tk); k++ {
			gap := (textWidth(label(tk[k-1]), 11)+textWidth(label(tk[k]), 11))/2 + 8
			if pos(tk[k])-pos(tk[k-1]) < gap {
				return false
			}
		}
		return true
	}
	var cands [][]float64
	oneTwoFive := decadeTicks(lo, hi, 1, 1, 2, 5)
	if len(oneTwoFive) < 3 && hi/lo < 10 {
		for target := max(3, int(length/50)); ; target = target * 2 / 3 {
			var tk []float64
			lin, _, _, _ := Ticks(lo, hi, target, true, false)
			for _, v := range lin {
				if v > 0 {
					tk = append(tk, v)
				}
			}
			cands = append(cands, tk)
			if target <= 2 {
				break
			}
		}
	}
	cands = append(cands, oneTwoFive)
	for every := 1; every <= 100; every = int(niceStep(float64(every)+0.5, true)) {
		cands = append(cands, decadeTicks(lo, hi, every, 1))
	}
	for _, tk := range cands {
		if len(tk) >= 2 && fits(tk) {
			return tk
		}
	}
	// nothing fits two labels: the sparsest choice that has a tick
	for k := len(cands) - 1; k >= 0; k-- {
		if len(cands[k]) > 0 {
			return cands[k][:1]
		}
	}
	return nil
}

// decadeTicks lists m·10^e within lo..hi for each mantissa m and every
// every-th exponent e.
func decadeTicks(lo, hi float64, every int, mantissas ...float64) []float64 {
	var tk []float64
	e0, e1 := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	for e := e0; e <= e1; e++ {
		if e%every != 0 {
			continue
		}
		for _, m := range mantissas {
			v := m * math.Pow10(e)
			if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
				tk = append(tk, v)
			}
		}
	}
	return tk
}

func describeForest(c ForestChart) string {
	value := valueFormat(c.X)
	groups := map[string][]string{}
	var bare []string
	for _, r := range c.Rows {
		side := r.side()
		if side == "" {
			groups["none"] = append(groups["none"], r.Label)
			continue
		}
		groups[side] = append(groups[side], r.Label+" "+value(r.Value))
		if !r.hasInterval() {
			b := r.Label
			if r.Note != "" {
				b += " (" + r.Note + ")"
			}
			bare = append(bare, b)
		}
	}
	name := c.X.Label
	if name == "" {
		name = "ratios on a log scale"
	}
	d := fmt.Sprintf("Forest plot of %s: %d rows, with the line of no effect at 1.", name, len(c.Rows))
	for _, g := range []struct{ key, text string }{{"above", "Above 1"}, {"below", "Below 1"}, {"at-one", "At 1"}, {"none", "No estimate"}} {
		if rows := groups[g.key]; len(rows) > 0 {
			d += fmt.Sprintf(" %s (%d): %s.", g.text, len(rows), joinList(rows))
		}
	}
	if len(bare) > 0 {
		d += " Without an interval: " + joinList(bare) + "."
	}
	return d
}
