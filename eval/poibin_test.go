package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

// poibinBrute is the textbook recursion over all n trials, without bands.
func poibinBrute(p []float64) []float64 {
	f := make([]float64, len(p)+1)
	f[0] = 1
	for k, q := range p {
		f[k+1] = f[k] * q
		for x := k; x > 0; x-- {
			f[x] = f[x]*(1-q) + f[x-1]*q
		}
		f[0] *= 1 - q
	}
	return f
}

func TestPoissonBinomialMatchesRecursion(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		n    int
		kind string
	}{
		{0, "unif"}, {1, "unif"}, {7, "unif"}, {64, "unif"}, {65, "half"}, {200, "small"},
		{1000, "unif"}, {3000, "edges"}, {20000, "unif"}, {20000, "small"}, {30000, "half"},
	} {
		p := make([]float64, tc.n)
		for i := range p {
			switch tc.kind {
			case "unif":
				p[i] = r.Float64()
			case "half":
				p[i] = 0.5
			case "small":
				p[i] = 0.05 * r.Float64()
			case "edges": // exact 0s and 1s among others
				p[i] = []float64{0, 1, r.Float64(), 0.999, 1e-6}[r.IntN(5)]
			}
		}
		d, err := NewPoissonBinomial(p)
		if err != nil {
			t.Fatal(err)
		}
		f := poibinBrute(p)
		var mean, variance float64
		for _, q := range p {
			mean += q
			variance += q * (1 - q)
		}
		if !survNear(d.Mean(), mean, 1e-15) || !survNear(d.Variance(), variance, 1e-15) || d.N() != tc.n {
			t.Errorf("n=%d: mean %v variance %v", tc.n, d.Mean(), d.Variance())
		}
		var maxAbs, maxRel float64
		var cdf float64
		for k := range f {
			e := math.Abs(d.PMF(k) - f[k])
			maxAbs = max(maxAbs, e)
			if f[k] > 1e-6 {
				maxRel = max(maxRel, e/f[k])
			}
			cdf += f[k]
			if ce := math.Abs(d.CDF(k) - min(cdf, 1)); ce > 1e-13 {
				t.Fatalf("n=%d: CDF(%d) = %v, recursion %v", tc.n, k, d.CDF(k), cdf)
			}
		}
		if maxAbs > 1e-15 || maxRel > 1e-11 {
			t.Errorf("n=%d %s: largest error %.2g absolute, %.2g relative (p > 1e-6)", tc.n, tc.kind, maxAbs, maxRel)
		}
		if d.PMF(-1) != 0 || d.PMF(tc.n+1) != 0 || d.CDF(-1) != 0 || d.CDF(tc.n) != 1 || d.UpperTail(0) != 1 || d.UpperTail(tc.n+1) != 0 {
			t.Errorf("n=%d: values outside 0..n", tc.n)
		}

		// Interval and p-value from their definitions on the recursion.
		cum := make([]float64, len(f))
		up := make([]float64, len(f))
		var s float64
		for k := range f {
			s += f[k]
			cum[k] = s
		}
		s = 0
		for k := len(f) - 1; k >= 0; k-- {
			s += f[k]
			up[k] = s
		}
		for _, level := range []float64{0.5, 0.9, 0.95, 0.999} {
			lo, hi, err := d.Interval(level)
			if err != nil {
				t.Fatal(err)
			}
			a := (1 - level) / 2
			wantLo, wantHi := -1, -1
			for k := range cum {
				if wantLo < 0 && cum[k] >= a {
					wantLo = k
				}
				if wantHi < 0 && cum[k] >= 1-a {
					wantHi = k
				}
			}
			// Counts whose CDF lies within rounding of the threshold may
			// go either way.
			ok := func(got, want int, q float64) bool {
				return got == want || math.Abs(cum[min(got, want)]-q) < 1e-13
			}
			if !ok(lo, wantLo, a) || !ok(hi, max(wantHi, 0), 1-a) {
				t.Errorf("n=%d level %v: interval [%d, %d], recursion [%d, %d]", tc.n, level, lo, hi, wantLo, wantHi)
			}
		}
		for _, k := range []int{0, int(mean) - 3, int(mean), int(mean) + 5, tc.n} {
			if k < 0 || k > tc.n {
				continue
			}
			want := min(1, 2*min(cum[k], up[k]))
			if got := d.PValue(k); math.Abs(got-want) > 1e-14 && !survNear(got, want, 1e-10) {
				t.Errorf("n=%d: p-value(%d) = %v, recursion %v", tc.n, k, got, want)
			}
		}
	}
}

func TestPoissonBinomialInvalid(t *testing.T) {
	for _, p := range [][]float64{{0.5, -0.1}, {1.5}, {math.NaN()}} {
		if _, err := NewPoissonBinomial(p); err == nil {
			t.Errorf("%v: no error", p)
		}
	}
	d, err := NewPoissonBinomial([]float64{1, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if d.PMF(2) != 1 || d.CDF(1) != 0 || d.PValue(2) != 1 {
		t.Errorf("degenerate: %v %v %v", d.PMF(2), d.CDF(1), d.PValue(2))
	}
	if _, _, err := d.Interval(1); err == nil {
		t.Error("level 1 accepted")
	}
}

// BenchmarkPoissonBinomial100k builds the distribution of 100,000 trials:
// "half" (all p = 0.5, the widest distribution), "unif" (p uniform on
// (0, 1)) and "monthly" (p uniform on (0, 0.1), like monthly drop-off
// hazards).
func BenchmarkPoissonBinomial100k(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, kind := range []string{"half", "unif", "monthly"} {
		p := make([]float64, 100000)
		for i := range p {
			switch kind {
			case "half":
				p[i] = 0.5
			case "unif":
				p[i] = r.Float64()
			case "monthly":
				p[i] = 0.1 * r.Float64()
			}
		}
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				if _, err := NewPoissonBinomial(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
