package plot

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// oddsRatios are the rows of a penalised model: some above 1, some below,
// one set to zero by the penalty and one with an interval narrower than
// its marker.
func oddsRatios() []ForestRow {
	return []ForestRow{
		{Label: "age", Value: 0.991, Lower: 0.985, Upper: 0.997},
		{Label: "sex=M", Value: 1, Note: "set to zero by the penalty"},
		{Label: "program=behavioral", Value: 1.448, Lower: 1.16, Upper: 1.81},
		{Label: "channel=phone", Value: 0.763, Lower: 0.62, Upper: 0.94},
		{Label: "baseline_score", Value: 0.286, Lower: 0.19, Upper: 0.43},
		{Label: "prior_no_shows", Value: 1.188, Lower: 1.13, Upper: 1.25},
	}
}

// forestRows returns each row's group, with the x of its marker, by label.
func forestRows(t *testing.T, root *node) map[string]*node {
	t.Helper()
	rows := map[string]*node{}
	for _, g := range root.all("g", "plot-row") {
		var label string
		for _, k := range g.kids {
			if k.name == "text" && hasClass(k, "plot-tick") {
				label = k.text
			}
		}
		rows[label] = g
	}
	return rows
}

func marker(t *testing.T, g *node) *node {
	t.Helper()
	m := g.all("circle", "plot-marker")
	if len(m) != 1 {
		t.Fatalf("%d markers in a row", len(m))
	}
	return m[0]
}

func TestForest(t *testing.T) {
	rows := oddsRatios()
	svg := Forest(ForestChart{Title: "odds ratios", X: Axis{Label: "odds ratio, log scale"}, Rows: rows})
	root := checkChart(t, "forest", svg)
	if !hasClass(root, "plot-forest") {
		t.Errorf("class = %q", root.attr["class"])
	}
	null := root.all("line", "plot-no-effect")
	if len(null) != 1 {
		t.Fatalf("%d lines of no effect", len(null))
	}
	x1 := num(t, null[0].attr["x1"])

	got := forestRows(t, root)
	if len(got) != len(rows) {
		t.Fatalf("%d rows drawn, want %d", len(got), len(rows))
	}
	lastY := math.Inf(-1)
	for _, r := range rows {
		g := got[r.Label]
		if g == nil {
			t.Fatalf("row %q not drawn", r.Label)
		}
		m := marker(t, g)
		cx, cy := num(t, m.attr["cx"]), num(t, m.attr["cy"])
		if cy <= lastY {
			t.Errorf("%s: rows not top to bottom", r.Label)
		}
		lastY = cy
		tip := strings.TrimSpace(m.texts())
		switch {
		case r.Value > 1:
			if !hasClass(g, "plot-above") || cx <= x1 {
				t.Errorf("%s: above 1 must be right of the line and classed plot-above: %v, cx %g vs %g", r.Label, g.attr, cx, x1)
			}
		case r.Value < 1:
			if !hasClass(g, "plot-below") || cx >= x1 {
				t.Errorf("%s: below 1 must be left of the line and classed plot-below: %v, cx %g vs %g", r.Label, g.attr, cx, x1)
			}
		default:
			if !hasClass(g, "plot-at-one") || math.Abs(cx-x1) > 0.05 {
				t.Errorf("%s: at 1 must be on the line and classed plot-at-one", r.Label)
			}
		}
		iv := g.all("line", "plot-interval")
		if r.Note != "" {
			if len(iv) != 0 || m.attr["fill"] != "#fff" {
				t.Errorf("%s: a row without an interval has a hollow marker and no interval line", r.Label)
			}
			if !strings.Contains(g.texts(), r.Note) || !strings.Contains(tip, r.Note) {
				t.Errorf("%s: the note is written beside the marker and in its tooltip", r.Label)
			}
			continue
		}
		if len(iv) != 1 {
			t.Fatalf("%s: %d interval lines", r.Label, len(iv))
		}
		lo, hi := num(t, iv[0].attr["x1"]), num(t, iv[0].attr["x2"])
		if !(lo <= cx && cx <= hi) || num(t, iv[0].attr["y1"]) != cy {
			t.Errorf("%s: interval %g..%g does not hold the marker at %g", r.Label, lo, hi, cx)
		}
		if want := fmt.Sprintf("%s: %s (%s – %s)", r.Label, FormatNumber(r.Value), FormatNumber(r.Lower), FormatNumber(r.Upper)); tip != want {
			t.Errorf("%s: tooltip %q, want %q", r.Label, tip, want)
		}
	}
	// above and below differ in colour
	if got["age"].attr["color"] == got["program=behavioral"].attr["color"] {
		t.Error("rows above and below 1 have the same colour")
	}
	desc := root.kids[1].text
	for _, want := range []string{"odds ratio, log scale", "6 rows", "Above 1 (2)", "Below 1 (3)", "sex=M (set to zero by the penalty)"} {
		if !strings.Contains(desc, want) {
			t.Errorf("description %q lacks %q", desc, want)
		}
	}
}

// TestForestLogScale checks that equal ratios are equal distances apart:
// 0.5 to 1 is as long as 1 to 2.
func TestForestLogScale(t *testing.T) {
	svg := Forest(ForestChart{Rows: []ForestRow{
		{Label: "a", Value: 0.5}, {Label: "b", Value: 1}, {Label: "c", Value: 2}, {Label: "d", Value: 4, Lower: 3, Upper: 8},
	}})
	rows := forestRows(t, checkChart(t, "log", svg))
	x := func(label string) float64 { return num(t, marker(t, rows[label]).attr["cx"]) }
	if d1, d2, d3 := x("b")-x("a"), x("c")-x("b"), x("d")-x("c"); math.Abs(d1-d2) > 0.15 || math.Abs(d2-d3) > 0.15 {
		t.Errorf("doublings are %g, %g and %g px apart", d1, d2, d3)
	}
	// the ticks are labelled with ratios, at their place on the scale
	root := parse(t, svg)
	var tx, tv []float64
	for _, g := range root.all("g", "plot-tick") {
		for _, k := range g.kids {
			tx, tv = append(tx, num(t, k.attr["x"])), append(tv, num(t, k.text))
		}
	}
	if len(tv) < 3 {
		t.Fatalf("ticks %v", tv)
	}
	// (coordinates are written to a tenth of a pixel)
	last := len(tv) - 1
	per := (tx[last] - tx[0]) / math.Log(tv[last]/tv[0])
	for k := range tv {
		if want := tx[0] + per*math.Log(tv[k]/tv[0]); math.Abs(tx[k]-want) > 0.15 {
			t.Errorf("tick %g at %g, want %g", tv[k], tx[k], want)
		}
	}
}

func TestForestFixedRangeClips(t *testing.T) {
	svg := Forest(ForestChart{X: Axis{Min: 0.5, Max: 2}, Rows: []ForestRow{
		{Label: "wide", Value: 1.5, Lower: 0.1, Upper: 30}, {Label: "out", Value: 9, Lower: 5, Upper: 12},
	}})
	root := checkChart(t, "fixed", svg)
	if len(root.all("clipPath", "")) != 1 {
		t.Fatal("a fixed range must clip")
	}
	clipped := 0
	for _, g := range root.all("g", "") {
		for _, k := range g.kids {
			if hasClass(k, "plot-interval") || hasClass(k, "plot-marker") {
				if g.attr["clip-path"] == "" {
					t.Errorf("%s not clipped", k.attr["class"])
				}
				clipped++
			}
		}
	}
	if clipped != 4 {
		t.Errorf("%d intervals and markers, want 4", clipped)
	}
	for _, tk := range root.all("g", "plot-tick") {
		for _, k := range tk.kids {
			if v := num(t, k.text); v < 0.5 || v > 2 {
				t.Errorf("tick %g outside the fixed range", v)
			}
		}
	}
}

func TestForestHeightFollowsRows(t *testing.T) {
	height := func(n int) float64 {
		var rows []ForestRow
		for i := range n {
			rows = append(rows, ForestRow{Label: fmt.Sprint(i), Value: 1 + float64(i)/10})
		}
		return num(t, parse(t, Forest(ForestChart{Rows: rows})).attr["height"])
	}
	if h10, h20 := height(10), height(20); h20-h10 != 10*forestRowH {
		t.Errorf("10 rows: %g, 20 rows: %g", h10, h20)
	}
	if h := height(1); h < 160 {
		t.Errorf("one row: height %g", h)
	}
	set := Forest(ForestChart{Height: 500, Rows: []ForestRow{{Label: "a", Value: 2}}})
	if h := parse(t, set).attr["height"]; h != "500" {
		t.Errorf("Height 500 gave %s", h)
	}
}

func TestLogTicks(t *testing.T) {
	cases := []struct {
		lo, hi, length float64
		want           string
	}{
		{0.5, 2, 400, "0.5 1 2"},
		{0.17, 2.1, 400, "0.2 0.5 1 2"},
		{0.6, 2.1, 400, "0.6 0.8 1 1.2 1.4 1.6 1.8 2"},
		{0.6, 2.1, 200, "1 1.5 2"},
		{0.9, 1.15, 400, "0.9 0.95 1 1.05 1.1 1.15"},
		{0.01, 50, 400, "0.01 0.1 1 10"},
		{1e-6, 1e6, 400, "1e-06 0.0001 0.01 1 100 10000 1000000"},
		{1e-6, 1e6, 120, "0.00001 1 100000"},
	}
	for _, c := range cases {
		tk := logTicks(c.lo, c.hi, c.length, FormatNumber)
		var got []string
		for _, v := range tk {
			got = append(got, FormatNumber(v))
		}
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("%g..%g over %g px: %q, want %q", c.lo, c.hi, c.length, s, c.want)
		}
	}
	// properties over many ranges: inside, increasing, labels apart
	for _, lo := range []float64{1e-4, 0.03, 0.2, 0.7, 0.99, 1.3} {
		for _, ratio := range []float64{1.001, 1.2, 3, 12, 1e3, 1e9} {
			for _, length := range []float64{60, 200, 600} {
				hi := lo * ratio
				tk := logTicks(lo, hi, length, FormatNumber)
				name := fmt.Sprintf("%g..%g over %g px", lo, hi, length)
				if len(tk) == 0 || len(tk) == 1 && length >= 200 && ratio <= 1e3 {
					t.Errorf("%s: ticks %v", name, tk)
				}
				for k, v := range tk {
					if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
						t.Errorf("%s: tick %g outside", name, v)
					}
					if k > 0 {
						gap := math.Log(v/tk[k-1]) / math.Log(hi/lo) * length
						need := (textWidth(FormatNumber(v), 11) + textWidth(FormatNumber(tk[k-1]), 11)) / 2
						if gap < need {
							t.Errorf("%s: labels of %g and %g overlap", name, tk[k-1], v)
						}
					}
				}
			}
		}
	}
	for _, bad := range [][2]float64{{1, 1}, {2, 1}, {0, 1}, {nan, 1}, {1, inf}} {
		if tk := logTicks(bad[0], bad[1], 300, FormatNumber); tk != nil {
			t.Errorf("%v: %v", bad, tk)
		}
	}
}
