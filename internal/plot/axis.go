package plot

import (
	"math"
	"strconv"
	"strings"
)

// Ticks chooses tick marks for an axis covering lo..hi with about target
// ticks. When fixed is false the range is widened to a multiple of the step
// (the returned lo and hi); when it is true the range is kept and the ticks
// fall inside it. Steps are 1, 2 or 5 times a power of ten; with integer
// they are at least 1.
func Ticks(lo, hi float64, target int, fixed, integer bool) (ticks []float64, newLo, newHi, step float64) {
	if !ok(lo) || !ok(hi) {
		lo, hi = 0, 1
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	if lo == hi {
		lo, hi = widen(lo, integer)
		fixed = false
	}
	target = max(target, 2)
	step = niceStep((hi-lo)/float64(target), integer)
	var k0, k1 float64
	if fixed {
		k0, k1 = math.Ceil(lo/step-1e-9), math.Floor(hi/step+1e-9)
	} else {
		k0, k1 = math.Floor(lo/step+1e-9), math.Ceil(hi/step-1e-9)
		if k1 == k0 {
			k1++
		}
		lo, hi = k0*step, k1*step
	}
	for k := k0; k <= k1 && len(ticks) < 50; k++ {
		v := k * step
		if v == 0 {
			v = 0 // no negative zero
		}
		ticks = append(ticks, v)
	}
	return ticks, lo, hi, step
}

// widen gives a degenerate range (one value) some room.
func widen(v float64, integer bool) (float64, float64) {
	switch {
	case v == 0:
		return 0, 1
	case integer && math.Abs(v) >= 1:
		return v - 1, v + 1
	case v > 0:
		return 0, v * 1.2
	default:
		return v * 1.2, 0
	}
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64, integer bool) float64 {
	if !(raw > 0) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	m := raw / p
	var s float64
	switch {
	case m <= 1+1e-9:
		s = p
	case m <= 2+1e-9:
		s = 2 * p
	case m <= 5+1e-9:
		s = 5 * p
	default:
		s = 10 * p
	}
	if integer && s < 1 {
		s = 1
	}
	return s
}

// decimals is the number of decimal places needed to write multiples of
// step exactly.
func decimals(step float64) int {
	if !(step > 0) || math.IsInf(step, 0) {
		return 2
	}
	for d := 0; d <= 12; d++ {
		s := step * math.Pow10(d)
		if math.Abs(s-math.Round(s)) < 1e-6*s {
			return d
		}
	}
	return 12
}

// fixedNum writes v with d decimals, trailing zeros trimmed, a true minus
// sign and no negative zero.
func fixedNum(v float64, d int) string {
	s := strconv.FormatFloat(v, 'f', d, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if strings.Trim(s, "-0.") == "" {
		return "0"
	}
	if strings.HasPrefix(s, "-") {
		s = "−" + s[1:]
	}
	return s
}

// tickFormat returns the tick label writer for an axis whose ticks are
// multiples of step and reach at most top in magnitude. Thousands and
// millions are abbreviated (1k, 2.5k, 10k, 1M) when the step allows.
func tickFormat(a Axis, step, top float64) func(float64) string {
	if a.Format != nil {
		return a.Format
	}
	if a.Percent {
		if sci(step*100, top*100) {
			return sciFormat(step*100, top*100, 100, "%")
		}
		d := decimals(step * 100)
		return func(v float64) string { return fixedNum(v*100, d) + "%" }
	}
	if sci(step, top) {
		return sciFormat(step, top, 1, "")
	}
	unit, suffix := 1.0, ""
	switch {
	case top >= 1e6 && step >= 1e5:
		unit, suffix = 1e6, "M"
	case top >= 1e3 && step >= 100:
		unit, suffix = 1e3, "k"
	}
	d := decimals(step / unit)
	return func(v float64) string {
		s := fixedNum(v/unit, d)
		if s == "0" {
			return s
		}
		return s + suffix
	}
}

// sci reports whether ticks are better written in scientific notation:
// very small steps, or very large values.
func sci(step, top float64) bool { return step < 1e-5 || top >= 1e9 }

// sciFormat writes ticks (multiples of step, scaled by mul) in scientific
// notation with just enough digits to tell them apart.
func sciFormat(step, top, mul float64, suffix string) func(float64) string {
	digits := 1
	if top > 0 && step > 0 {
		digits = max(1, min(15, int(math.Floor(math.Log10(top))-math.Floor(math.Log10(step)))+1))
	}
	return func(v float64) string {
		v *= mul
		if v == 0 {
			return "0" + suffix
		}
		s := strconv.FormatFloat(v, 'g', digits, 64)
		if strings.HasPrefix(s, "-") {
			s = "−" + s[1:]
		}
		return s + suffix
	}
}

// FormatNumber writes v with about four significant digits, as tooltips and
// descriptions do: 0.0512, 12.5, 1234, 1.23e+07. NaN and infinities are
// written as "n/a".
func FormatNumber(v float64) string {
	if !ok(v) {
		return "n/a"
	}
	if v == 0 {
		return "0"
	}
	a := math.Abs(v)
	var s string
	if a >= 1e7 || a < 1e-5 {
		s = strconv.FormatFloat(v, 'g', 3, 64)
	} else {
		p := math.Pow10(3 - int(math.Floor(math.Log10(a))))
		s = strconv.FormatFloat(math.Round(v*p)/p, 'f', -1, 64)
	}
	if strings.HasPrefix(s, "-") {
		s = "−" + s[1:]
	}
	return s
}

// valueFormat returns the tooltip value writer for an axis.
func valueFormat(a Axis) func(float64) string {
	switch {
	case a.Format != nil:
		return a.Format
	case a.Percent:
		return func(v float64) string {
			if !ok(v) {
				return "n/a"
			}
			return FormatNumber(v*100) + "%"
		}
	}
	return FormatNumber
}

// axisTicks fits ticks for axis a to the data range lo..hi (about one tick
// per perTick pixels of length), using the axis's fixed range when it has
// one. When horizontal is set, ticks are thinned until their labels fit
// side by side.
func axisTicks(a Axis, lo, hi float64, length float64, perTick float64, horizontal bool) (tk []float64, l, h float64, label func(float64) string) {
	target := max(2, int(length/perTick))
	fixed := a.fixed()
	if fixed {
		lo, hi = a.Min, a.Max
	}
	for range 6 {
		var step float64
		tk, l, h, step = Ticks(lo, hi, target, fixed, a.Integer)
		top := math.Max(math.Abs(l), math.Abs(h))
		label = tickFormat(a, step, top)
		if !horizontal || target <= 2 {
			return
		}
		widest := 0.0
		for _, v := range tk {
			widest = math.Max(widest, textWidth(label(v), 11))
		}
		if len(tk) < 2 || widest+10 <= length*step/(h-l) {
			return
		}
		target = max(2, target*2/3)
	}
	return
}

// PowerOfTen is an Axis.Format for an axis of base-10 logarithms, which
// draws a Line on a log scale: the chart is given log10(x), and PowerOfTen
// writes the x each value stands for. Whole numbers, where an axis with
// Integer set puts its ticks, are written as powers of ten (10⁻², 10⁰,
// 10³); other values, as in tooltips and descriptions, as the number itself
// (0.004571).
func PowerOfTen(v float64) string {
	if !ok(v) || math.Abs(v) > 300 {
		return "n/a"
	}
	if k := math.Round(v); math.Abs(v-k) < 1e-9 {
		const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
		var b strings.Builder
		b.WriteString("10")
		if k < 0 {
			b.WriteString("⁻")
		}
		for _, d := range strconv.Itoa(int(math.Abs(k))) {
			b.WriteString(string([]rune(digits)[d-'0']))
		}
		return b.String()
	}
	return FormatNumber(math.Pow(10, v))
}
