package plot

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// node is a parsed SVG element.
type node struct {
	name string
	attr map[string]string
	kids []*node
	text string
}

// parse decodes svg as XML, failing the test if it is not well formed, and
// returns the root element.
func parse(t *testing.T, svg template.HTML) *node {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(svg)))
	d.Strict = true
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				n.attr[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else if root != nil {
				t.Fatalf("more than one root element")
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			} else if strings.TrimSpace(string(tok)) != "" {
				t.Fatalf("text outside the root element: %q", tok)
			}
		}
	}
	if root == nil || root.name != "svg" {
		t.Fatalf("root is not <svg>: %s", svg)
	}
	return root
}

// walk calls f on n and all its descendants.
func (n *node) walk(f func(*node)) {
	f(n)
	for _, k := range n.kids {
		k.walk(f)
	}
}

// all returns the descendants named name whose class contains class.
func (n *node) all(name, class string) []*node {
	var out []*node
	n.walk(func(m *node) {
		if m.name == name && (class == "" || hasClass(m, class)) {
			out = append(out, m)
		}
	})
	return out
}

func hasClass(n *node, class string) bool {
	for _, c := range strings.Fields(n.attr["class"]) {
		if c == class {
			return true
		}
	}
	return false
}

// texts collects all character data under n.
func (n *node) texts() string {
	var b strings.Builder
	n.walk(func(m *node) { b.WriteString(m.text + "\n") })
	return b.String()
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return v
}

// checkChart asserts what every chart must have.
func checkChart(t *testing.T, name string, svg template.HTML) *node {
	t.Helper()
	root := parse(t, svg)
	if root.attr["role"] != "img" {
		t.Errorf("%s: role = %q", name, root.attr["role"])
	}
	if root.attr["viewBox"] == "" {
		t.Errorf("%s: no viewBox", name)
	}
	if len(root.kids) < 2 || root.kids[0].name != "title" || root.kids[1].name != "desc" {
		t.Errorf("%s: <title> and <desc> must come first", name)
	}
	if strings.TrimSpace(root.kids[1].text) == "" {
		t.Errorf("%s: empty <desc>", name)
	}
	root.walk(func(n *node) {
		for _, a := range []string{"x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height"} {
			if v, ok := n.attr[a]; ok {
				checkCoord(t, name, a, v)
			}
		}
		if d, ok := n.attr["d"]; ok {
			for _, f := range strings.FieldsFunc(d, func(r rune) bool { return strings.ContainsRune("MLHVZhlvz ", r) }) {
				checkCoord(t, name, "d", f)
			}
		}
	})
	s := string(svg)
	for _, bad := range []string{"NaN", "Inf", "<script", "href", "\x00"} {
		if strings.Contains(s, bad) {
			t.Errorf("%s: output contains %q", name, bad)
		}
	}
	return root
}

// checkCoord asserts that a coordinate is a plain, bounded number.
func checkCoord(t *testing.T, name, attr, v string) {
	t.Helper()
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || strings.ContainsAny(v, "eE") || math.Abs(f) > 1e5 {
		t.Errorf("%s: %s=%q is not a plain bounded number", name, attr, v)
	}
}

var nan, inf = math.NaN(), math.Inf(1)

// survival returns a Kaplan–Meier-like curve over months 0..n with a band.
func survival(n int, rate float64) Series {
	s := Series{Name: "survival", Step: true}
	for m := 0; m <= n; m++ {
		v := math.Exp(-rate * float64(m))
		s.Points = append(s.Points, Point{float64(m), v})
		s.Lower = append(s.Lower, math.Max(0, v-0.04-0.004*float64(m)))
		s.Upper = append(s.Upper, math.Min(1, v+0.04+0.004*float64(m)))
	}
	return s
}

// demoCharts covers the uses and edge cases, by name.
func demoCharts() []struct {
	name string
	svg  template.HTML
} {
	type demo = struct {
		name string
		svg  template.HTML
	}
	var out []demo
	add := func(name string, svg template.HTML) { out = append(out, demo{name, svg}) }

	km := survival(24, 0.045)
	km.Name = "programme A"
	km2 := survival(24, 0.07)
	km2.Name, km2.Dashed = "programme B", true
	add("Kaplan–Meier survival with 95% band", Line(LineChart{
		Title: "Share still engaged by month", X: Axis{Label: "months since enrolment", Integer: true},
		Y: Axis{Label: "still engaged", Min: 0, Max: 1, Percent: true}, Series: []Series{km, km2},
		Refs: []Ref{{Y: 0.5, Label: "median"}},
	}))

	var pred, obs []Point
	for m := 1; m <= 18; m++ {
		h := 0.06 * math.Exp(-0.05*float64(m))
		pred = append(pred, Point{float64(m), h})
		obs = append(obs, Point{float64(m), h * (1 + 0.2*math.Sin(float64(m)))})
	}
	add("Hazard: predicted and observed", Line(LineChart{
		Title: "Monthly drop-off hazard", X: Axis{Label: "month", Integer: true}, Y: Axis{Label: "hazard", Percent: true, Zero: true},
		Series: []Series{{Name: "predicted", Points: pred, Dashed: true}, {Name: "observed", Points: obs, Markers: true}},
	}))

	var auc []Point
	for w := 0; w < 30; w++ {
		auc = append(auc, Point{float64(w), 0.74 + 0.03*math.Sin(float64(w)/3)})
	}
	add("AUC by week with reference 0.5", Line(LineChart{
		Title: "AUC by week", X: Axis{Label: "week"}, Y: Axis{Label: "AUC", Min: 0.4, Max: 1},
		Series: []Series{{Name: "AUC", Points: auc, Markers: true}}, Refs: []Ref{{Y: 0.5, Label: "chance"}, {Y: 0.7, Label: "alert below 0.7"}},
	}))

	var bins []ScatterPoint
	for i := range 10 {
		p := 0.02 + 0.03*float64(i)
		o := p * (0.9 + 0.04*float64(i%3))
		n := float64(2000 - 180*i)
		se := 1.96 * math.Sqrt(o*(1-o)/n)
		bins = append(bins, ScatterPoint{X: p, Y: o, Lower: o - se, Upper: o + se, N: n, Label: fmt.Sprintf("decile %d", i+1)})
	}
	add("Calibration by decile", Calibration(ScatterChart{
		Title: "Calibration of 3-month drop-off", X: Axis{Label: "predicted risk", Percent: true}, Y: Axis{Label: "observed rate"},
		Series: []ScatterSeries{{Name: "deciles", Points: bins, Connect: true}},
	}))

	cats := []string{"< 18", "18–25", "25–35", "35–45", "45–55", "55–65", "65–75", "≥ 75", "missing"}
	ref := []float64{0.03, 0.12, 0.2, 0.19, 0.16, 0.13, 0.1, 0.05, 0.02}
	live := []float64{0.02, 0.11, 0.16, 0.18, 0.17, 0.14, 0.13, 0.06, 0.03}
	add("Drift: reference against live share", Bars(BarChart{
		Title: "Age distribution, reference against live", Categories: cats, XLabel: "age band",
		Y: Axis{Label: "share", Percent: true}, Series: []BarSeries{{Name: "reference", Values: ref}, {Name: "live (last 30 days)", Values: live}},
		Flagged: []bool{false, false, true, false, false, false, true}, FlagLabel: "shift above threshold",
	}))

	var exp, real, lo, hi []float64
	var months []string
	for m := range 36 {
		e := 120 + 40*math.Sin(float64(m)/5)
		exp = append(exp, e)
		lo, hi = append(lo, e-2*math.Sqrt(e)), append(hi, e+2*math.Sqrt(e))
		real = append(real, e+25*math.Sin(float64(m)*1.7))
		months = append(months, fmt.Sprintf("2023-%02d", m%12+1))
	}
	add("Expected against realised drop-offs per month", Bars(BarChart{
		Title: "Drop-offs per month", Categories: months, XLabel: "month", Y: Axis{Label: "drop-offs", Integer: true},
		Series:  []BarSeries{{Name: "expected", Values: exp, Lower: lo, Upper: hi}, {Name: "realised", Values: real}},
		Flagged: func() []bool { f := make([]bool, 36); f[7], f[20] = true, true; return f }(),
		Refs:    []Ref{{Y: 150, Label: "capacity"}},
	}))

	var big []Point
	for i := range 10000 {
		x := float64(i) / 100
		big = append(big, Point{x, 1000 * (math.Sin(x) + 0.3*math.Sin(37*x) + 2)})
	}
	add("10k points", Line(LineChart{Title: "Ten thousand points", X: Axis{Label: "day"}, Y: Axis{Label: "requests"},
		Series: []Series{{Name: "requests per day", Points: big}}}))

	add("Negative values", Bars(BarChart{Title: "Change in share", Categories: []string{"a", "b", "c", "d"},
		Y: Axis{Label: "change", Percent: true}, Series: []BarSeries{{Name: "change", Values: []float64{0.05, -0.03, 0.01, -0.08}, Lower: []float64{0.02, -0.06, -0.01, -0.1}, Upper: []float64{0.08, 0, 0.03, -0.05}}}}))

	add("Non-finite values skipped", Line(LineChart{Title: "Gaps", Series: []Series{
		{Name: "with gaps", Points: []Point{{0, 1}, {1, nan}, {2, 3}, {3, inf}, {4, 2}, {5, 2.5}, {inf, 1}, {nan, 2}}, Markers: true,
			Lower: []float64{0.5, 1, 2, nan, 1.5, 2}, Upper: []float64{1.5, 2, 4, 3, inf, 3}},
	}}))

	var many []Series
	for k := range 9 {
		var p []Point
		for m := range 13 {
			p = append(p, Point{float64(m), 0.02*float64(k+1) + 0.01*math.Sin(float64(m+k))})
		}
		many = append(many, Series{Name: fmt.Sprintf("care programme %d", k+1), Points: p, Dashed: k%2 == 1})
	}
	add("Nine series, legend wraps", Line(LineChart{Title: "Hazard by programme", X: Axis{Label: "month", Integer: true},
		Y: Axis{Label: "hazard", Percent: true}, Series: many}))

	add("Single point", Line(LineChart{Title: "One point", Series: []Series{{Name: "only", Points: []Point{{3, 0.4}}}}}))
	add("All equal", Line(LineChart{Title: "Flat", Series: []Series{{Name: "flat", Points: XY([]float64{1, 2, 3}, []float64{7, 7, 7})}}}))
	add("Empty line", Line(LineChart{Title: "Nothing yet"}))
	add("Many categories", Bars(BarChart{Title: "Drop-off by site", Categories: func() []string {
		var c []string
		for i := range 40 {
			c = append(c, fmt.Sprintf("Site %d – community clinic", i+1))
		}
		return c
	}(), Y: Axis{Label: "drop-off rate", Percent: true}, Series: []BarSeries{{Values: func() []float64 {
		var v []float64
		for i := range 40 {
			v = append(v, 0.1+0.05*math.Sin(float64(i)))
		}
		return v
	}()}}, Refs: []Ref{{Y: 0.14, Label: "threshold"}}}))
	add("Forest plot of odds ratios", Forest(ForestChart{Title: "Odds ratios", X: Axis{Label: "odds ratio with 95% interval, log scale"}, Rows: oddsRatios()}))
	add("Forest plot, fixed range clips", Forest(ForestChart{Title: "Hazard ratios", X: Axis{Label: "hazard ratio", Min: 0.5, Max: 2},
		Rows: []ForestRow{{Label: "wide", Value: 1.5, Lower: 0.1, Upper: 30}, {Label: "outside", Value: 9, Lower: 5, Upper: 12}, {Label: "inside", Value: 0.8, Lower: 0.7, Upper: 0.9}}}))
	add("Forest plot, seven decades", Forest(ForestChart{Title: "Wide", Rows: []ForestRow{
		{Label: "rare", Value: 0.0004, Lower: 0.0001, Upper: 0.002}, {Label: "common", Value: 350, Lower: 90, Upper: 1000}}}))

	// a cross-validation curve: a Line over log10 λ with a power-of-ten
	// axis, its standard errors as a band and the chosen λ marked
	cv := Series{Name: "held-out deviance ± 1 SE", Markers: true}
	for i := range 20 {
		l := -2 + 0.2*float64(i)
		d := 0.333 + 0.004*math.Max(0, l-1)*math.Max(0, l-1)
		cv.Points = append(cv.Points, Point{l, d})
		cv.Lower, cv.Upper = append(cv.Lower, d-0.006), append(cv.Upper, d+0.006)
		cv.Labels = append(cv.Labels, "λ "+FormatNumber(math.Pow(10, l)))
	}
	add("Cross-validation curve on a log scale", Line(LineChart{Title: "Deviance by penalty strength",
		X: Axis{Label: "penalty strength λ (log scale)", Integer: true, Format: PowerOfTen, Min: -2, Max: 1.8}, Y: Axis{Label: "deviance"},
		Series: []Series{cv, {Name: "chosen λ = 3.162", Points: []Point{{0.5, 0.333}}, Markers: true}},
		XRefs:  []XRef{{X: 0.5, Label: "chosen"}}}))

	add("Hostile labels", Bars(BarChart{Title: `<b>"Q&A"</b>`, Categories: []string{`<i>`, `a & b`, `"quoted"`}, XLabel: "x < y",
		Y: Axis{Label: `y > "0"`}, Series: []BarSeries{{Name: "</svg><script>alert(1)</script>", Values: []float64{1, 2, 3}}}}))
	return out
}

func TestChartsWellFormed(t *testing.T) {
	for _, d := range demoCharts() {
		t.Run(d.name, func(t *testing.T) { checkChart(t, d.name, d.svg) })
	}
}

func TestEmptyInput(t *testing.T) {
	charts := map[string]template.HTML{
		"line":         Line(LineChart{}),
		"line no xs":   Line(LineChart{Series: []Series{{Name: "x", Points: []Point{{nan, 1}, {inf, 2}}}}}),
		"line all nan": Line(LineChart{Series: []Series{{Points: []Point{{1, nan}}}}}),
		"scatter":      Scatter(ScatterChart{}),
		"calibration":  Calibration(ScatterChart{Series: []ScatterSeries{{Name: "bins"}}}),
		"bars":         Bars(BarChart{}),
		"bars no vals": Bars(BarChart{Categories: []string{"a", "b"}, Series: []BarSeries{{Values: []float64{nan}}}}),
		"forest":       Forest(ForestChart{}),
		"forest no values": Forest(ForestChart{Rows: []ForestRow{{Label: "zero", Value: 0}, {Label: "negative", Value: -1, Lower: -2, Upper: 1},
			{Label: "nan", Value: nan}, {Label: "inf", Value: inf}}}),
	}
	for name, svg := range charts {
		root := checkChart(t, name, svg)
		if !strings.Contains(root.texts(), "no data") {
			t.Errorf("%s: no 'no data' text", name)
		}
	}
}

func TestNonFiniteNeverPrinted(t *testing.T) {
	vals := []float64{nan, inf, -inf, 1, 2, nan, 1e308, -1e308}
	var pts []Point
	var sp []ScatterPoint
	for i, v := range vals {
		pts = append(pts, Point{float64(i), v}, Point{v, float64(i)})
		sp = append(sp, ScatterPoint{X: v, Y: 0.5, Lower: v, Upper: inf, N: v}, ScatterPoint{X: 0.5, Y: float64(i) / 10, Lower: nan, Upper: v, N: inf})
	}
	charts := map[string]template.HTML{
		"line":  Line(LineChart{Y: Axis{Min: nan, Max: inf}, Series: []Series{{Name: "s", Points: pts, Lower: vals, Upper: vals, Markers: true, Step: true}}, Refs: []Ref{{Y: nan}, {Y: inf}}}),
		"fixed": Line(LineChart{Y: Axis{Min: 0, Max: 1}, Series: []Series{{Points: []Point{{0, 0.5}, {1, 1e90}, {2, -1e90}}}}}),
		"scat":  Scatter(ScatterChart{Equal: true, Diagonal: true, Series: []ScatterSeries{{Points: sp, Connect: true}}}),
		"bars":  Bars(BarChart{Series: []BarSeries{{Values: vals, Lower: vals, Upper: vals}}, Refs: []Ref{{Y: inf}}}),
		"xrefs": Line(LineChart{Series: []Series{{Points: []Point{{0, 1}, {1, 2}}}}, XRefs: []XRef{{X: nan, Label: "nan"}, {X: inf}, {X: 1e308}, {X: 0.5}}}),
		"pow10": Line(LineChart{X: Axis{Integer: true, Format: PowerOfTen}, Series: []Series{{Points: pts, Markers: true}}}),
	}
	var rows []ForestRow
	for _, v := range vals {
		rows = append(rows, ForestRow{Label: "v", Value: v, Lower: v, Upper: inf}, ForestRow{Label: "w", Value: 2, Lower: v, Upper: 3},
			ForestRow{Label: "x", Value: 0.5, Lower: 1e-300, Upper: v})
	}
	charts["forest"] = Forest(ForestChart{Rows: rows})
	charts["forest fixed"] = Forest(ForestChart{X: Axis{Min: 1e-300, Max: 1e300}, Rows: rows})
	charts["forest bad range"] = Forest(ForestChart{X: Axis{Min: -1, Max: nan}, Rows: rows})
	for name, svg := range charts {
		checkChart(t, name, svg) // fails on NaN, Inf and unbounded coordinates
	}
}

func TestEscaping(t *testing.T) {
	const hostile = `<b>&"it's"</b>`
	charts := map[string]template.HTML{
		"line": Line(LineChart{Title: hostile, Desc: hostile, X: Axis{Label: hostile}, Y: Axis{Label: hostile},
			Series: []Series{{Name: hostile, Points: []Point{{0, 1}, {1, 2}}, Markers: true}}, Refs: []Ref{{Y: 1.5, Label: hostile}}}),
		"scatter": Scatter(ScatterChart{Title: hostile, X: Axis{Label: hostile}, Y: Axis{Label: hostile},
			Series: []ScatterSeries{{Name: hostile, Points: []ScatterPoint{{X: 1, Y: 2, Label: hostile}}}}}),
		"bars": Bars(BarChart{Title: hostile, Categories: []string{hostile, "b"}, XLabel: hostile, Y: Axis{Label: hostile}, FlagLabel: hostile,
			Flagged: []bool{true}, Series: []BarSeries{{Name: hostile, Values: []float64{1, 2}}}, Refs: []Ref{{Y: 1, Label: hostile}}}),
		"custom format": Line(LineChart{Y: Axis{Format: func(float64) string { return hostile }}, Series: []Series{{Points: []Point{{0, 1}, {1, 2}}}}}),
		"forest": Forest(ForestChart{Title: hostile, Desc: hostile, X: Axis{Label: hostile},
			Rows: []ForestRow{{Label: hostile, Value: 1, Note: hostile}, {Label: "b", Value: 2, Lower: 1, Upper: 3, Note: hostile}}}),
		"labels": Line(LineChart{Series: []Series{{Points: []Point{{0, 1}, {1, 2}}, Labels: []string{hostile}, Markers: true}},
			XRefs: []XRef{{X: 0.5, Label: hostile}}}),
		"bar labels": Bars(BarChart{Categories: []string{"a"}, Labels: []string{hostile}, Series: []BarSeries{{Values: []float64{1}}}}),
		"bad class and colour": Line(LineChart{Series: []Series{{Name: "s", Points: []Point{{0, 1}, {1, 2}},
			Color: `red" onload="x`, Class: `a"b c<d ok-class`}}}),
	}
	for name, svg := range charts {
		root := checkChart(t, name, svg)
		s := string(svg)
		if strings.Contains(s, "<b>") || strings.Contains(s, `"it's"`) || strings.Contains(s, "onload") {
			t.Errorf("%s: unescaped text in %s", name, s)
		}
		if name == "bad class and colour" {
			if !strings.Contains(s, "ok-class") || strings.Contains(s, "c<d") {
				t.Errorf("class not filtered: %s", s)
			}
			continue
		}
		found := false
		root.walk(func(n *node) {
			found = found || strings.Contains(n.text, hostile) || strings.Contains(n.text, `<b>&"it's"`)
		})
		if !found {
			t.Errorf("%s: label text lost", name)
		}
	}
	// control characters and invalid UTF-8 must not break XML either
	checkChart(t, "control", Line(LineChart{Title: "a\x01b\xffc\x00", Series: []Series{{Name: "\x1b[31m", Points: []Point{{0, 0}}}}}))
}

func TestTicksAreNice(t *testing.T) {
	nice := func(step float64) bool {
		p := math.Pow(10, math.Floor(math.Log10(step)+1e-9))
		m := step / p
		for _, k := range []float64{1, 2, 5} {
			if math.Abs(m-k) < 1e-9 {
				return true
			}
		}
		return false
	}
	cases := []struct {
		lo, hi  float64
		fixed   bool
		integer bool
	}{
		{0, 1, false, false}, {0, 1, true, false}, {0.3, 1, false, false}, {0.0123, 0.0871, false, false},
		{1, 24, false, true}, {0, 10000, false, false}, {-3.2, 7.9, false, false}, {5, 5, false, false},
		{0, 0, false, false}, {-0.001, 0.0004, false, false}, {1e-9, 3e-9, false, false}, {123456, 987654, false, false},
		{0.4, 1, true, false}, {2, 3, false, true}, {-1e6, 1e6, false, false},
	}
	for _, c := range cases {
		tk, lo, hi, step := Ticks(c.lo, c.hi, 5, c.fixed, c.integer)
		name := fmt.Sprintf("%g..%g fixed=%v", c.lo, c.hi, c.fixed)
		if !nice(step) {
			t.Errorf("%s: step %g not nice", name, step)
		}
		if c.integer && step < 1 {
			t.Errorf("%s: integer axis with step %g", name, step)
		}
		if len(tk) < 2 || len(tk) > 12 {
			t.Errorf("%s: %d ticks: %v", name, len(tk), tk)
		}
		if lo > math.Min(c.lo, c.hi) || hi < math.Max(c.lo, c.hi) {
			t.Errorf("%s: range %g..%g does not cover the data", name, lo, hi)
		}
		for _, v := range tk {
			if v < lo-1e-12 || v > hi+1e-12 {
				t.Errorf("%s: tick %g outside %g..%g", name, v, lo, hi)
			}
			if k := v / step; math.Abs(k-math.Round(k)) > 1e-6 {
				t.Errorf("%s: tick %g not a multiple of %g", name, v, step)
			}
		}
		if c.fixed && (lo != c.lo || hi != c.hi) {
			t.Errorf("%s: fixed range changed to %g..%g", name, lo, hi)
		}
	}
}

func TestTickLabels(t *testing.T) {
	labels := func(a Axis, lo, hi float64) []string {
		tk, l, h, step := Ticks(lo, hi, 5, false, a.Integer)
		f := tickFormat(a, step, math.Max(math.Abs(l), math.Abs(h)))
		var out []string
		for _, v := range tk {
			out = append(out, f(v))
		}
		return out
	}
	cases := []struct {
		a      Axis
		lo, hi float64
		want   string
	}{
		{Axis{}, 0, 0.25, "0 0.05 0.1 0.15 0.2 0.25"},
		{Axis{}, 0, 1, "0 0.2 0.4 0.6 0.8 1"},
		{Axis{Percent: true}, 0, 0.25, "0% 5% 10% 15% 20% 25%"},
		{Axis{Percent: true}, 0, 0.012, "0% 0.5% 1% 1.5%"},
		{Axis{}, 0, 10000, "0 2k 4k 6k 8k 10k"},
		{Axis{}, 0, 45000, "0 10k 20k 30k 40k 50k"},
		{Axis{}, 0, 3e6, "0 1M 2M 3M"},
		{Axis{}, -2, 2, "−2 −1 0 1 2"},
		{Axis{}, 1000, 1010, "1000 1002 1004 1006 1008 1010"},
		{Axis{Integer: true}, 0, 3, "0 1 2 3"},
		{Axis{}, 0, 3e-7, "0 1e-07 2e-07 3e-07"},
		{Axis{}, 0, 3e9, "0 1e+09 2e+09 3e+09"},
		{Axis{Percent: true}, 0, 1, "0% 20% 40% 60% 80% 100%"},
	}
	for _, c := range cases {
		if got := strings.Join(labels(c.a, c.lo, c.hi), " "); got != c.want {
			t.Errorf("%+v %g..%g: got %q, want %q", c.a, c.lo, c.hi, got, c.want)
		}
	}
	for v, want := range map[float64]string{0: "0", 0.051234: "0.05123", 12.5: "12.5", 1234: "1234", -0.5: "−0.5", 1.23e8: "1.23e+08", nan: "n/a", inf: "n/a"} {
		if got := FormatNumber(v); got != want {
			t.Errorf("FormatNumber(%g) = %q, want %q", v, got, want)
		}
	}
}

// plotArea reads the plot area from the axis lines: the y axis gives top
// and bottom, the x axis left and right.
func plotArea(t *testing.T, root *node) (l, r, top, bottom float64) {
	t.Helper()
	l, r, top, bottom = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	for _, ln := range root.all("line", "plot-axis") {
		x1, x2, y1, y2 := num(t, ln.attr["x1"]), num(t, ln.attr["x2"]), num(t, ln.attr["y1"]), num(t, ln.attr["y2"])
		switch {
		case x1 == x2 && y1 != y2 && math.IsNaN(top):
			top, bottom = math.Min(y1, y2), math.Max(y1, y2)
		case y1 == y2 && x1 != x2 && math.IsNaN(l):
			l, r = x1, x2
		}
	}
	if math.IsNaN(l) || math.IsNaN(top) {
		t.Fatal("axis lines not found")
	}
	return l, r, top, bottom
}

// pathPoints reads the coordinates of an M/L path.
func pathPoints(t *testing.T, d string) [][2]float64 {
	t.Helper()
	f := strings.Fields(strings.NewReplacer("M", " ", "L", " ", "Z", " ").Replace(d))
	if len(f)%2 != 0 {
		t.Fatalf("odd path %q", d)
	}
	var out [][2]float64
	for i := 0; i < len(f); i += 2 {
		out = append(out, [2]float64{num(t, f[i]), num(t, f[i+1])})
	}
	return out
}

func TestPointsInsidePlotArea(t *testing.T) {
	var pts []Point
	for i := range 30 {
		pts = append(pts, Point{float64(i) * 1.7, -3 + math.Sin(float64(i))*40})
	}
	for _, step := range []bool{false, true} {
		svg := Line(LineChart{Width: 500, Height: 300, X: Axis{Label: "x"}, Y: Axis{Label: "y"},
			Series: []Series{{Name: "s", Points: pts, Markers: true, Step: step}}})
		root := checkChart(t, "inside", svg)
		l, r, top, bottom := plotArea(t, root)
		if !(0 < l && l < r && r <= 500 && 0 < top && top < bottom && bottom <= 300) {
			t.Fatalf("plot area %g..%g × %g..%g", l, r, top, bottom)
		}
		lines := root.all("path", "plot-line")
		if len(lines) != 1 {
			t.Fatalf("%d line paths", len(lines))
		}
		pp := pathPoints(t, lines[0].attr["d"])
		want := len(pts)
		if step {
			want = 2*len(pts) - 1
		}
		if len(pp) != want {
			t.Errorf("step=%v: %d vertices, want %d", step, len(pp), want)
		}
		for _, p := range pp {
			if p[0] < l || p[0] > r || p[1] < top || p[1] > bottom {
				t.Errorf("vertex %v outside plot area", p)
			}
		}
		circles := root.all("circle", "plot-marker")
		if len(circles) != len(pts) {
			t.Fatalf("%d markers, want %d", len(circles), len(pts))
		}
		// markers follow the data: x increases, and y pixel order is the
		// reverse of data order
		for i := 1; i < len(pts); i++ {
			x0, x1 := num(t, circles[i-1].attr["cx"]), num(t, circles[i].attr["cx"])
			y0, y1 := num(t, circles[i-1].attr["cy"]), num(t, circles[i].attr["cy"])
			if x1 <= x0 {
				t.Errorf("marker %d not right of %d", i, i-1)
			}
			if (pts[i].Y > pts[i-1].Y) != (y1 < y0) {
				t.Errorf("marker %d: y order wrong", i)
			}
		}
	}

	// bars stand on zero inside the plot area
	svg := Bars(BarChart{Categories: []string{"a", "b", "c"}, Series: []BarSeries{{Values: []float64{1, -2, 3}}, {Values: []float64{2, 2, nan}}}})
	root := checkChart(t, "bars", svg)
	l, r, top, bottom := plotArea(t, root)
	rects := root.all("rect", "plot-bar")
	if len(rects) != 5 {
		t.Fatalf("%d bars, want 5", len(rects))
	}
	for _, b := range rects {
		x, y, w, h := num(t, b.attr["x"]), num(t, b.attr["y"]), num(t, b.attr["width"]), num(t, b.attr["height"])
		if x < l || x+w > r || y < top || y+h > bottom+0.05 || h <= 0 {
			t.Errorf("bar %v outside plot area", b.attr)
		}
	}

	// calibration points sit inside the square plot area
	cal := Calibration(ScatterChart{Series: []ScatterSeries{{Name: "bins", Points: []ScatterPoint{{X: 0.1, Y: 0.12, N: 10}, {X: 0.3, Y: 0.25, N: 40, Lower: 0.2, Upper: 0.3}}}}})
	root = checkChart(t, "calibration", cal)
	l, r, top, bottom = plotArea(t, root)
	if math.Abs((r-l)-(bottom-top)) > 0.5 {
		t.Errorf("calibration plot area not square: %g × %g", r-l, bottom-top)
	}
	for _, c := range root.all("circle", "plot-marker") {
		if x, y := num(t, c.attr["cx"]), num(t, c.attr["cy"]); x < l || x > r || y < top || y > bottom {
			t.Errorf("calibration point (%g, %g) outside", x, y)
		}
	}
}

func TestEdgeCases(t *testing.T) {
	one := Line(LineChart{Series: []Series{{Points: []Point{{2, 5}}}}})
	root := checkChart(t, "single point", one)
	if len(root.all("circle", "plot-marker")) != 1 {
		t.Error("a single point must be drawn as a marker")
	}
	flat := Line(LineChart{Series: []Series{{Points: XY([]float64{0, 1, 2}, []float64{0, 0, 0})}}})
	checkChart(t, "all zero", flat)
	sc := Scatter(ScatterChart{Series: []ScatterSeries{{Points: []ScatterPoint{{X: 1, Y: 1}}}}})
	checkChart(t, "one scatter point", sc)
	bars := Bars(BarChart{Series: []BarSeries{{Values: []float64{0, 0}}}})
	checkChart(t, "zero bars", bars)
	tiny := Line(LineChart{Width: 10, Height: 10, Series: []Series{{Points: XY([]float64{0, 1}, []float64{0, 1})}}})
	checkChart(t, "tiny", tiny)
	negScatter := Calibration(ScatterChart{Series: []ScatterSeries{{Points: []ScatterPoint{{X: -1, Y: -2}, {X: 3, Y: 1}}}}})
	checkChart(t, "negative calibration", negScatter)
}

func TestManyPoints(t *testing.T) {
	var pts []Point
	var sp []ScatterPoint
	for i := range 10000 {
		x := float64(i)
		pts = append(pts, Point{x, math.Sin(x / 50)})
		sp = append(sp, ScatterPoint{X: math.Mod(x*0.618, 1), Y: math.Mod(x*0.382, 1)})
	}
	line := Line(LineChart{Series: []Series{{Name: "s", Points: pts, Markers: true, Lower: make([]float64, 10000), Upper: make([]float64, 10000)}}})
	checkChart(t, "line", line)
	if len(line) > 150_000 {
		t.Errorf("10k-point line is %d bytes", len(line))
	}
	// the extremes survive decimation
	root := parse(t, line)
	pp := pathPoints(t, root.all("path", "plot-line")[0].attr["d"])
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pp {
		lo, hi = math.Min(lo, p[1]), math.Max(hi, p[1])
	}
	if len(pp) >= 10000 || hi-lo < 100 {
		t.Errorf("decimated to %d vertices spanning %g px", len(pp), hi-lo)
	}
	sc := Scatter(ScatterChart{Series: []ScatterSeries{{Points: sp}}})
	checkChart(t, "scatter", sc)
	if len(sc) > 800_000 {
		t.Errorf("10k-point scatter is %d bytes", len(sc))
	}
}

func TestDeterministic(t *testing.T) {
	a, b := demoCharts(), demoCharts()
	for i := range a {
		if a[i].svg != b[i].svg {
			t.Errorf("%s: output differs between runs", a[i].name)
		}
	}
}

// TestDemoPage writes every demo chart into one HTML page; set
// PLOT_DEMO_DIR to keep it (and each chart as an .svg file) for viewing.
func TestDemoPage(t *testing.T) {
	dir := os.Getenv("PLOT_DEMO_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	var b bytes.Buffer
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>plot demo</title>` +
		`<style>body{font:15px system-ui,sans-serif;max-width:680px;margin:1rem auto;color:#1d2733}` +
		`.chart{width:100%;height:auto;display:block;margin-bottom:1.5rem;background:#fff;border:1px solid #dde3e8}</style></head><body>`)
	for i, d := range demoCharts() {
		fmt.Fprintf(&b, "<h2>%s</h2>\n%s\n", template.HTMLEscapeString(d.name), d.svg)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("chart%02d.svg", i)), []byte(d.svg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b.WriteString("</body></html>\n")
	if err := os.WriteFile(filepath.Join(dir, "plotdemo.html"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tips returns the tooltips of the elements named name with class class.
func tips(t *testing.T, root *node, name, class string) []string {
	t.Helper()
	var out []string
	for _, n := range root.all(name, class) {
		out = append(out, strings.TrimSpace(n.texts()))
	}
	return out
}

func TestTooltipLabels(t *testing.T) {
	// labels follow their points when the points are sorted by x; a
	// missing or empty label keeps the x value
	line := Line(LineChart{Y: Axis{Percent: true}, Series: []Series{{Markers: true,
		Points: []Point{{5, 0.8}, {4, 1}, {6, 0.5}, {7, 0.25}},
		Labels: []string{"month 5", "now", ""},
	}}})
	root := checkChart(t, "line labels", line)
	if got, want := strings.Join(tips(t, root, "circle", "plot-marker"), " | "), "now: 100% | month 5: 80% | 6: 50% | 7: 25%"; got != want {
		t.Errorf("line tooltips %q, want %q", got, want)
	}
	// bar labels name the category in tooltips and the description; the
	// axis keeps the short category
	bars := Bars(BarChart{Categories: []string{"4", "5"}, Labels: []string{"month 4", ""}, XLabel: "month", Y: Axis{Percent: true},
		Series: []BarSeries{{Values: []float64{0.05, 0.04}}}, Flagged: []bool{true}})
	root = checkChart(t, "bar labels", bars)
	if got, want := strings.Join(tips(t, root, "rect", "plot-bar"), " | "), "month 4 · 5% | 5 · 4%"; got != want {
		t.Errorf("bar tooltips %q, want %q", got, want)
	}
	// (the legend's flag marker has no tooltip)
	if flag := tips(t, root, "path", "plot-flag-marker"); len(flag) != 2 || flag[0] != "month 4: flagged" || flag[1] != "" {
		t.Errorf("flag tooltip %q", flag)
	}
	if !strings.Contains(root.kids[1].text, "Flagged: month 4.") {
		t.Errorf("description %q", root.kids[1].text)
	}
	var axis []string
	for _, g := range root.all("g", "plot-tick") {
		for _, k := range g.kids {
			axis = append(axis, k.text)
		}
	}
	if !slices.Contains(axis, "4") || slices.Contains(axis, "month 4") {
		t.Errorf("axis labels %q", axis)
	}
}

func TestXRefs(t *testing.T) {
	svg := Line(LineChart{Width: 500, Height: 300,
		Series: []Series{{Name: "curve", Points: XY([]float64{0, 1, 2}, []float64{1, 2, 1})}, {Name: "chosen", Points: []Point{{1, 2}}, Markers: true}},
		XRefs:  []XRef{{X: 1, Label: "chosen λ"}, {X: 4, Label: "later"}}})
	root := checkChart(t, "xrefs", svg)
	l, r, top, bottom := plotArea(t, root)
	var xs []float64
	for _, g := range root.all("g", "plot-ref") {
		ln := g.all("line", "")[0]
		x := num(t, ln.attr["x1"])
		if ln.attr["x2"] != ln.attr["x1"] || num(t, ln.attr["y1"]) != top || num(t, ln.attr["y2"]) != bottom {
			t.Errorf("not a vertical line across the plot area: %v", ln.attr)
		}
		xs = append(xs, x)
	}
	// the automatic x range reaches the reference at 4, which is at the
	// right end; the one at 1 is a quarter of the way
	if len(xs) != 2 || math.Abs(xs[1]-r) > 0.1 || math.Abs(xs[0]-(l+(r-l)/4)) > 0.1 {
		t.Errorf("references at %v in %g..%g", xs, l, r)
	}
	if texts := root.texts(); !strings.Contains(texts, "chosen λ") || !strings.Contains(texts, "later") {
		t.Error("reference labels missing")
	}
	if d := root.kids[1].text; !strings.Contains(d, "chosen λ at 1") || !strings.Contains(d, "chosen: 1 point,") {
		t.Errorf("description %q", d)
	}
	// a series drawn as a single marker has a marker in the legend, not
	// a line
	for _, g := range root.all("g", "plot-legend") {
		for _, k := range g.kids {
			if strings.Contains(k.attr["class"], "plot-s1") && (len(k.all("line", "")) != 0 || len(k.all("circle", "")) != 1) {
				t.Error("the single-point series has a line in the legend")
			}
		}
	}
	// outside a fixed range a reference is not drawn
	fixed := Line(LineChart{X: Axis{Min: 0, Max: 2}, Series: []Series{{Points: XY([]float64{0, 2}, []float64{1, 2})}}, XRefs: []XRef{{X: 3}}})
	if len(checkChart(t, "fixed", fixed).all("g", "plot-ref")) != 0 {
		t.Error("reference outside a fixed range drawn")
	}
}

func TestPowerOfTen(t *testing.T) {
	for v, want := range map[float64]string{-3: "10⁻³", -1: "10⁻¹", 0: "10⁰", 1: "10¹", 12: "10¹²", -2.34: "0.004571", 0.5: "3.162", nan: "n/a", inf: "n/a", 400: "n/a"} {
		if got := PowerOfTen(v); got != want {
			t.Errorf("PowerOfTen(%g) = %q, want %q", v, got, want)
		}
	}
	// on an integer axis the ticks are whole powers of ten
	svg := Line(LineChart{X: Axis{Integer: true, Format: PowerOfTen}, Series: []Series{{Points: XY([]float64{-3.3, -1, 1.4}, []float64{1, 2, 3})}}})
	root := checkChart(t, "log axis", svg)
	var ticks []string
	for _, g := range root.all("g", "plot-tick") {
		if g.attr["text-anchor"] == "middle" {
			for _, k := range g.kids {
				ticks = append(ticks, k.text)
			}
		}
	}
	if got := strings.Join(ticks, " "); got != "10⁻⁴ 10⁻³ 10⁻² 10⁻¹ 10⁰ 10¹ 10²" {
		t.Errorf("ticks %q", got)
	}
}
