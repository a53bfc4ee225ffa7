package eval

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
)

// driftFixture is testdata/reference/eval/drift.json, written by
// scripts/reference/drift_scipy.py with NumPy and SciPy.
type driftFixture struct {
	Scipy       string  `json:"scipy"`
	PSIFloor    float64 `json:"psi_floor"`
	Percentiles []struct {
		Values      []float64 `json:"values"`
		Percentiles []float64 `json:"percentiles"`
	} `json:"percentiles"`
	Kolmogorov     []kolmogorovCase `json:"kolmogorov"`
	KolmogorovTail []kolmogorovCase `json:"kolmogorov_tail"`
	Numeric        []struct {
		Case      string `json:"case"`
		Type      string `json:"type"`
		Reference struct {
			N           int       `json:"n"`
			Missing     int       `json:"missing"`
			Percentiles []float64 `json:"percentiles"`
		} `json:"reference"`
		Live     []any `json:"live"`
		Expected struct {
			Rows    int          `json:"rows"`
			Missing int          `json:"missing"`
			Bins    []fixtureBin `json:"bins"`
			PSI     float64      `json:"psi"`
			KS      struct {
				KSTest
				PKSTest *float64 `json:"p_value_kstest"`
			} `json:"ks"`
		} `json:"expected"`
	} `json:"numeric"`
	Categorical []struct {
		Case      string `json:"case"`
		Reference struct {
			Counts  map[string]int `json:"counts"`
			Missing int            `json:"missing"`
		} `json:"reference"`
		Live     []any `json:"live"`
		Expected struct {
			Rows        int            `json:"rows"`
			Missing     int            `json:"missing"`
			OtherLevels int            `json:"other_levels"`
			Bins        []fixtureBin   `json:"bins"`
			PSI         float64        `json:"psi"`
			ChiSquare   *ChiSquareTest `json:"chi_square"`
		} `json:"expected"`
	} `json:"categorical"`
}

type kolmogorovCase struct {
	N      int     `json:"n"`
	D      float64 `json:"d"`
	P      float64 `json:"p"`
	Method string  `json:"method"`
}

type fixtureBin struct {
	Kind           string   `json:"kind"`
	Label          string   `json:"label"`
	Lower          *float64 `json:"lower"`
	Upper          *float64 `json:"upper"`
	ReferenceShare float64  `json:"reference_share"`
	LiveShare      float64  `json:"live_share"`
	LiveCount      int      `json:"live_count"`
	PSI            float64  `json:"psi"`
}

func loadDriftFixture(t *testing.T) driftFixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "reference", "eval", "drift.json"))
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 scripts/reference/drift_scipy.py)", err)
	}
	var f driftFixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.PSIFloor != PSIFloor {
		t.Fatalf("fixture PSI floor %g, package %g", f.PSIFloor, PSIFloor)
	}
	return f
}

// fixtureValue turns a JSON live value into a Value: a number, a string,
// or null (missing).
func fixtureValue(v any) caresignal.Value {
	switch v := v.(type) {
	case float64:
		return caresignal.Num(v)
	case string:
		return caresignal.Str(v)
	}
	return caresignal.NullValue()
}

// near reports |got − want| ≤ abs + rel·|want|.
func driftNear(got, want, abs, rel float64) bool {
	return math.Abs(got-want) <= abs+rel*math.Abs(want)
}

func checkBins(t *testing.T, name string, got []DriftBin, want []fixtureBin) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d bins, want %d: %+v", name, len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		sameEdge := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
		if g.Kind != w.Kind || g.LiveCount != w.LiveCount || !sameEdge(g.Lower, w.Lower) || !sameEdge(g.Upper, w.Upper) ||
			(w.Label != "" && g.Label != w.Label) {
			t.Errorf("%s: bin %d is %s %q (%v, %v] with %d live, want %s %q (%v, %v] with %d", name, i,
				g.Kind, g.Label, binEdge(g.Lower), binEdge(g.Upper), g.LiveCount, w.Kind, w.Label, binEdge(w.Lower), binEdge(w.Upper), w.LiveCount)
		}
		if !driftNear(g.ReferenceShare, w.ReferenceShare, 1e-13, 0) || !driftNear(g.LiveShare, w.LiveShare, 1e-15, 0) || !driftNear(g.PSI, w.PSI, 1e-14, 1e-12) {
			t.Errorf("%s: bin %d shares %.17g / %.17g (psi %g), want %.17g / %.17g (psi %g)", name, i,
				g.ReferenceShare, g.LiveShare, g.PSI, w.ReferenceShare, w.LiveShare, w.PSI)
		}
	}
}

func binEdge(p *float64) float64 {
	if p == nil {
		return math.Inf(1)
	}
	return *p
}

// TestPercentilesMatchNumPy compares Percentiles with numpy.percentile's
// linear method (R's type 7), ties and tiny samples included.
func TestPercentilesMatchNumPy(t *testing.T) {
	f := loadDriftFixture(t)
	for i, c := range f.Percentiles {
		sorted := slices.Sorted(slices.Values(c.Values))
		got := Percentiles(sorted)
		for k, want := range c.Percentiles {
			if !driftNear(got[k], want, 1e-13, 1e-13) {
				t.Errorf("sample %d (n %d): percentile %d = %.17g, NumPy %.17g", i, len(c.Values), k, got[k], want)
			}
		}
	}
}

// TestKolmogorovPValueMatchesSciPy compares KSPValue with SciPy: for
// n ≤ 1000 with the exact distribution (SciPy's own Marsaglia–Tsang–Wang
// without the tail formula, checked there against Pomeranz's recursion),
// to 1e-12 absolute, and in the far tail, where the tail formula is used,
// to 1e-9 absolute; above n = 1000 with kstwobign, to 1e-13.
func TestKolmogorovPValueMatchesSciPy(t *testing.T) {
	f := loadDriftFixture(t)
	worst := map[string]float64{}
	for _, c := range append(f.Kolmogorov, f.KolmogorovTail...) {
		p, method := KSPValue(c.N, c.D)
		tol, kind := 1e-12, "exact"
		switch {
		case c.Method == KSAsymptotic:
			tol, kind = 1e-13, "asymptotic"
		case int(float64(c.N)*c.D)+1 > ksMaxK:
			tol, kind = 1e-9, "tail formula"
		}
		worst[kind] = max(worst[kind], math.Abs(p-c.P))
		if method != c.Method || !driftNear(p, c.P, tol, 0) {
			t.Errorf("n %d, d %g: p %.15g (%s), SciPy %.15g (%s)", c.N, c.D, p, method, c.P, c.Method)
		}
	}
	t.Logf("%d cases, largest differences %v (SciPy %s)", len(f.Kolmogorov)+len(f.KolmogorovTail), worst, f.Scipy)
}

// TestNumericDriftMatchesSciPy compares bins, PSI and the KS test of the
// fixture's numeric cases: shares to 1e-13, PSI to 1e-12 relative, D to
// 1e-12, p-values to 1e-12 absolute (1e-9 where the tail formula applies,
// see KSPValue) against the exact value, and to 2e-6 against
// scipy.stats.kstest's own p-value (SciPy's kstwo, which above n = 140 is
// the Pelz–Good approximation).
func TestNumericDriftMatchesSciPy(t *testing.T) {
	f := loadDriftFixture(t)
	for _, c := range f.Numeric {
		ref := NumericReference{N: c.Reference.N, Missing: c.Reference.Missing, Percentiles: c.Reference.Percentiles,
			MissingShare: float64(c.Reference.Missing) / float64(c.Reference.N+c.Reference.Missing)}
		if err := ref.validate(); err != nil {
			t.Fatalf("%s: %v", c.Case, err)
		}
		var d FeatureDrift
		if c.Type == TypePrediction {
			h := make([]float64, len(c.Live))
			for i, v := range c.Live {
				h[i] = math.NaN()
				if x, ok := v.(float64); ok {
					h[i] = x
				}
			}
			d = CompareHazards(&ref, h, DriftThresholds{})
		} else {
			vals := make([]caresignal.Value, len(c.Live))
			for i, v := range c.Live {
				vals[i] = fixtureValue(v)
			}
			d = CompareNumeric(c.Case, &ref, vals, DriftThresholds{})
		}
		e := c.Expected
		if d.Rows != e.Rows || d.Missing != e.Missing {
			t.Errorf("%s: %d rows, %d missing, want %d, %d", c.Case, d.Rows, d.Missing, e.Rows, e.Missing)
		}
		checkBins(t, c.Case, d.Bins, e.Bins)
		if d.PSI == nil || !driftNear(*d.PSI, e.PSI, 1e-15, 1e-12) {
			t.Errorf("%s: PSI %v, want %.17g", c.Case, d.PSI, e.PSI)
		}
		var es, as []float64
		for _, b := range d.Bins {
			es, as = append(es, b.ReferenceShare), append(as, b.LiveShare)
		}
		if psi := PSI(es, as); d.PSI == nil || psi != *d.PSI {
			t.Errorf("%s: PSI of the bins %g, reported %v", c.Case, psi, d.PSI)
		}
		ks := d.KS
		tol := 1e-12
		if int(float64(e.KS.N)*e.KS.D)+1 > ksMaxK {
			tol = 1e-9
		}
		if ks == nil || ks.N != e.KS.N || ks.Method != e.KS.Method || !driftNear(ks.D, e.KS.D, 1e-12, 0) || !driftNear(ks.PValue, e.KS.PValue, tol, 0) {
			t.Errorf("%s: KS %+v, want %+v", c.Case, ks, e.KS)
			continue
		}
		// scipy.stats.kstest's own p-value: kstwo, approximate above n = 140.
		if p := e.KS.PKSTest; p != nil && !driftNear(ks.PValue, *p, 2e-6, 0) {
			t.Errorf("%s: KS p %.10g, scipy.stats.kstest %.10g", c.Case, ks.PValue, *p)
		}
		t.Logf("%s: PSI %.4f, KS D %.4f p %.3g (%s), status %s %q", c.Case, *d.PSI, ks.D, ks.PValue, ks.Method, d.Status, d.Reasons)
	}
}

// TestCategoricalDriftMatchesSciPy compares bins, PSI and the chi-square
// test (scipy.stats.chisquare after the same pooling) of the fixture's
// categorical cases: statistic to 1e-12 relative, p-value to 1e-9
// relative.
func TestCategoricalDriftMatchesSciPy(t *testing.T) {
	f := loadDriftFixture(t)
	for _, c := range f.Categorical {
		ref := CategoricalReference{Counts: c.Reference.Counts, Missing: c.Reference.Missing}
		ref.MissingShare = float64(ref.Missing) / float64(ref.N()+ref.Missing)
		vals := make([]caresignal.Value, len(c.Live))
		for i, v := range c.Live {
			vals[i] = fixtureValue(v)
		}
		d := CompareCategorical(c.Case, &ref, vals, DriftThresholds{})
		e := c.Expected
		if d.Rows != e.Rows || d.Missing != e.Missing || d.OtherLevels != e.OtherLevels {
			t.Errorf("%s: %d rows, %d missing, %d other, want %d, %d, %d", c.Case, d.Rows, d.Missing, d.OtherLevels, e.Rows, e.Missing, e.OtherLevels)
		}
		checkBins(t, c.Case, d.Bins, e.Bins)
		if d.PSI == nil || !driftNear(*d.PSI, e.PSI, 1e-15, 1e-12) {
			t.Errorf("%s: PSI %v, want %.17g", c.Case, d.PSI, e.PSI)
		}
		g, w := d.ChiSquare, e.ChiSquare
		switch {
		case (g == nil) != (w == nil):
			t.Errorf("%s: chi-square %+v, want %+v", c.Case, g, w)
		case g != nil:
			if g.N != w.N || g.Excluded != w.Excluded || g.DF != w.DF || !slices.Equal(g.Pooled, w.Pooled) ||
				!driftNear(g.Statistic, w.Statistic, 1e-13, 1e-12) || !driftNear(g.PValue, w.PValue, 1e-300, 1e-9) {
				t.Errorf("%s: chi-square %+v, want %+v", c.Case, g, w)
			}
		}
		t.Logf("%s: PSI %.4f, chi-square %+v, status %s %q", c.Case, *d.PSI, g, d.Status, d.Reasons)
	}
}

func driftNormal(rng *rand.Rand, n int, mean, sd float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = mean + sd*rng.NormFloat64()
	}
	return x
}

func numValues(x []float64) []caresignal.Value {
	v := make([]caresignal.Value, len(x))
	for i := range x {
		v[i] = caresignal.Num(x[i])
	}
	return v
}

func TestReferenceCDF(t *testing.T) {
	// A discrete reference: 0 for 45% of rows, 1 for 30%, 2 for 25%.
	var x []float64
	for i := range 1000 {
		x = append(x, float64(min(i/450, 1)+min(i/750, 1)))
	}
	r := NewNumericReference(x, 0)
	for _, c := range []struct{ x, right, left float64 }{
		{-1, 0, 0}, {0, 0.44, 0}, {0.5, 0.44, 0.44}, {2, 1, 0.75}, {3, 1, 1},
	} {
		if got := r.ReferenceCDF(c.x); !driftNear(got, c.right, 0.011, 0) {
			t.Errorf("F(%g) = %g, want about %g", c.x, got, c.right)
		}
		if got := r.ReferenceCDFLeft(c.x); !driftNear(got, c.left, 0.011, 0) {
			t.Errorf("F(%g−) = %g, want about %g", c.x, got, c.left)
		}
	}
	// Cuts merge equal deciles: 0 (10%..40%), 1 (50%..70%), 2 (80%, 90%).
	if cuts := r.Cuts(); !slices.Equal(cuts, []float64{0, 1, 2}) {
		t.Errorf("cuts %v, want [0 1 2]", cuts)
	}
	// A sample drawn from the same discrete distribution is not flagged:
	// the left limit keeps values on a jump from counting against it.
	d := CompareNumeric("x", &r, numValues(x), DriftThresholds{})
	if d.KS.D > 0.011 || d.Status != DriftOK {
		t.Errorf("identical discrete sample: D %g, status %s %q", d.KS.D, d.Status, d.Reasons)
	}
	var empty NumericReference
	if !math.IsNaN(empty.ReferenceCDF(0)) || empty.Cuts() != nil {
		t.Error("an empty reference has a distribution function")
	}
}

// TestDriftIdenticalAndShifted: a fresh sample of the reference
// distribution is ok with PSI near 0; a shift of half a standard
// deviation breaches; a wider spread at the same mean warns by the tests
// before the PSI notices.
func TestDriftIdenticalAndShifted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ref := NewNumericReference(driftNormal(rng, 20000, 0, 1), 0)
	same := CompareNumeric("x", &ref, numValues(driftNormal(rng, 2000, 0, 1)), DriftThresholds{})
	if same.Status != DriftOK || *same.PSI > 0.02 || same.KS.PValue < 0.01 || len(same.Reasons) > 0 {
		t.Errorf("same distribution: status %s, PSI %g, KS %+v, %q", same.Status, *same.PSI, same.KS, same.Reasons)
	}
	for _, b := range same.Bins {
		if !driftNear(b.ReferenceShare, 0.1, 1e-12, 0) {
			t.Errorf("continuous reference: decile bin share %g", b.ReferenceShare)
		}
	}
	identical := CompareNumeric("x", &ref, numValues(driftNormal(rand.New(rand.NewPCG(1, 2)), 20000, 0, 1)), DriftThresholds{})
	if *identical.PSI > 1e-6 || identical.KS.D > 0.01 || identical.Status != DriftOK {
		t.Errorf("the reference's own values: PSI %g, D %g, %s", *identical.PSI, identical.KS.D, identical.Status)
	}
	shifted := CompareNumeric("x", &ref, numValues(driftNormal(rng, 2000, 0.5, 1)), DriftThresholds{})
	if shifted.Status != DriftBreach || *shifted.PSI < 0.25 || shifted.KS.PValue > 1e-10 || len(shifted.Reasons) != 2 {
		t.Errorf("shifted: status %s, PSI %g, KS %+v, %q", shifted.Status, *shifted.PSI, shifted.KS, shifted.Reasons)
	}
	// A wider spread that KS finds significant but that moves no bin
	// much: no alarm by default (PSI below TestMinPSI); a warning when
	// every significant test counts.
	widerValues := numValues(driftNormal(rng, 3000, 0, 1.15))
	wider := CompareNumeric("x", &ref, widerValues, DriftThresholds{})
	if wider.Status != DriftOK || *wider.PSI >= 0.05 || wider.KS.PValue >= 0.01 || len(wider.Reasons) != 0 {
		t.Errorf("wider, default thresholds: status %s, PSI %g, KS %+v, %q", wider.Status, *wider.PSI, wider.KS, wider.Reasons)
	}
	wider = CompareNumeric("x", &ref, widerValues, DriftThresholds{TestMinPSI: -1})
	if wider.Status != DriftWarn || *wider.PSI >= 0.1 || !strings.Contains(wider.Reasons[0], "Kolmogorov") {
		t.Errorf("wider, any significant test: status %s, PSI %g, KS %+v, %q", wider.Status, *wider.PSI, wider.KS, wider.Reasons)
	}
	// Prediction drift uses the same machinery.
	h := make([]float64, 500)
	for i := range h {
		h[i] = 0.5 + 0.1*rng.NormFloat64()
	}
	hr := NewNumericReference(h[:250], 0)
	hd := CompareHazards(&hr, h[250:], DriftThresholds{})
	if hd.Type != TypePrediction || hd.Name != PredictionName || hd.Status != DriftOK {
		t.Errorf("hazards: %s %s %s %q", hd.Type, hd.Name, hd.Status, hd.Reasons)
	}
}

func TestDriftMissingAndInvalid(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ref := NewNumericReference(driftNormal(rng, 5000, 10, 2), 0)
	vals := numValues(driftNormal(rng, 900, 10, 2))
	for range 100 {
		vals = append(vals, caresignal.Value{}) // absent
	}
	vals[0] = caresignal.Str("ten")
	vals[1] = caresignal.Num(math.Inf(1))
	vals[2] = caresignal.NullValue()
	d := CompareNumeric("x", &ref, vals, DriftThresholds{})
	if d.Missing != 103 || d.Invalid != 2 || d.KS.N != 897 {
		t.Fatalf("missing %d, invalid %d, KS n %d; want 103, 2, 897", d.Missing, d.Invalid, d.KS.N)
	}
	last := d.Bins[len(d.Bins)-1]
	if last.Kind != BinMissing || last.LiveCount != 103 || last.ReferenceShare != 0 || !driftNear(last.LiveShare, 0.103, 1e-15, 0) {
		t.Errorf("missing bin %+v", last)
	}
	// 10% missing where training had none: (0.103 − 1e-4)·ln(1030) ≈ 0.71.
	if d.Status != DriftBreach || !driftNear(last.PSI, (0.103-1e-4)*math.Log(0.103/1e-4), 1e-12, 0) {
		t.Errorf("status %s, missing-bin PSI %g", d.Status, last.PSI)
	}
	// A reference with missing values and a live set without: the bin
	// stays, the non-missing bins shrink by the reference's share.
	ref2 := NewNumericReference(driftNormal(rng, 4500, 10, 2), 500)
	d2 := CompareNumeric("x", &ref2, numValues(driftNormal(rng, 500, 10, 2)), DriftThresholds{})
	if b := d2.Bins[len(d2.Bins)-1]; b.Kind != BinMissing || b.ReferenceShare != 0.1 || b.LiveCount != 0 {
		t.Errorf("reference-only missing bin %+v", b)
	}
	if !driftNear(d2.Bins[0].ReferenceShare, 0.09, 1e-12, 0) {
		t.Errorf("first bin reference share %g, want 0.09", d2.Bins[0].ReferenceShare)
	}
	// Without missing values on either side there is no missing bin.
	d3 := CompareNumeric("x", &ref, numValues(driftNormal(rng, 500, 10, 2)), DriftThresholds{})
	if len(d3.Bins) != 10 {
		t.Errorf("%d bins without missing values, want 10", len(d3.Bins))
	}
}

func TestCategoricalUnseenAndMissing(t *testing.T) {
	ref := CategoricalReference{Counts: map[string]int{"a": 500, "b": 300, "c": 200}}
	var vals []caresignal.Value
	add := func(v caresignal.Value, n int) {
		for range n {
			vals = append(vals, v)
		}
	}
	add(caresignal.Str("a"), 250)
	add(caresignal.Str("b"), 150)
	add(caresignal.Str("c"), 90)
	add(caresignal.Str("new"), 4)
	add(caresignal.Num(7), 2) // a numeric code: level "7", also unseen
	add(caresignal.NullValue(), 1)
	d := CompareCategorical("f", &ref, vals, DriftThresholds{})
	if d.OtherLevels != 6 || len(d.Unseen) != 2 || d.Unseen[0] != (LevelCount{"new", 4}) || d.Unseen[1] != (LevelCount{"7", 2}) {
		t.Errorf("unseen: %d, %+v", d.OtherLevels, d.Unseen)
	}
	kinds := []string{}
	for _, b := range d.Bins {
		kinds = append(kinds, b.Kind+":"+b.Label)
	}
	if want := []string{"level:a", "level:b", "level:c", "other:other", "missing:missing"}; !slices.Equal(kinds, want) {
		t.Errorf("bins %v, want %v", kinds, want)
	}
	// The chi-square test covers the 490 rows at reference levels.
	if c := d.ChiSquare; c == nil || c.N != 490 || c.Excluded != 7 || c.DF != 2 || c.PValue < 0.5 {
		t.Errorf("chi-square %+v", c)
	}
	if d.Status != DriftOK {
		t.Errorf("status %s %q", d.Status, d.Reasons)
	}
	// Mostly unseen levels: a breach.
	var moved []caresignal.Value
	for i := range 200 {
		moved = append(moved, caresignal.Str([]string{"a", "x", "y"}[i%3]))
	}
	d = CompareCategorical("f", &ref, moved, DriftThresholds{})
	if d.Status != DriftBreach || d.OtherLevels != 133 {
		t.Errorf("mostly unseen: %s, %d other", d.Status, d.OtherLevels)
	}
}

func TestDriftTooFewAndReport(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	prof := &ReferenceProfile{Rows: 1000, Features: []FeatureReference{
		{Name: "age", Type: TypeNumeric},
		{Name: "program", Type: TypeCategorical, Categorical: &CategoricalReference{Counts: map[string]int{"d": 600, "h": 400}}},
	}}
	nr := NewNumericReference(driftNormal(rng, 1000, 50, 10), 0)
	prof.Features[0].Numeric = &nr
	hz := NewNumericReference(driftNormal(rng, 1000, 0.05, 0.01), 0)
	prof.Hazard = &hz
	if err := prof.Validate(); err != nil {
		t.Fatal(err)
	}
	live := make([]map[string]caresignal.Value, 10)
	for i := range live {
		live[i] = map[string]caresignal.Value{"age": caresignal.Num(90), "program": caresignal.Str("d"), "other": caresignal.Num(1)}
	}
	rep := CompareToReference(prof, live, slices.Repeat([]float64{0.9}, 10), DriftThresholds{})
	if rep.Status != DriftTooFew || rep.Thresholds != DefaultDriftThresholds() || len(rep.Features) != 2 || rep.Prediction == nil {
		t.Fatalf("report %+v", rep)
	}
	for _, d := range append(rep.Features, *rep.Prediction) {
		if d.Status != DriftTooFew || len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0], "10 live rows") {
			t.Errorf("%s: %s %q", d.Name, d.Status, d.Reasons)
		}
	}
	// With enough rows the far-off age breaches; the program has missing
	// keys, which are missing values; no hazards: no prediction drift.
	live = make([]map[string]caresignal.Value, 200)
	for i := range live {
		live[i] = map[string]caresignal.Value{"age": caresignal.Num(90)}
		if i%2 == 0 {
			live[i]["program"] = caresignal.Str([]string{"d", "h"}[i%4/2])
		}
	}
	rep = CompareToReference(prof, live, nil, DriftThresholds{MinCount: 20})
	if rep.Status != DriftBreach || rep.Prediction != nil || rep.Features[0].Status != DriftBreach ||
		rep.Features[1].Missing != 100 || rep.Thresholds.MinCount != 20 {
		t.Errorf("report %s, prediction %v, age %s, program missing %d", rep.Status, rep.Prediction, rep.Features[0].Status, rep.Features[1].Missing)
	}
	// No live rows: PSI and shares are absent, not NaN, and the report
	// encodes as JSON.
	rep = CompareToReference(prof, nil, []float64{}, DriftThresholds{})
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Features[0].PSI != nil || rep.Features[0].KS != nil || !strings.Contains(string(b), `"psi":null`) {
		t.Errorf("empty live set: %s", b)
	}
	rep = CompareToReference(prof, live, nil, DriftThresholds{})
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
}

func TestReferenceValidate(t *testing.T) {
	good := func() *ReferenceProfile {
		n := NewNumericReference([]float64{1, 2, 3, 4}, 1)
		h := NewNumericReference([]float64{0.1, 0.2, 0.3, 0.2, 0.1}, 0)
		return &ReferenceProfile{Rows: 5, Hazard: &h, Features: []FeatureReference{
			{Name: "x", Type: TypeNumeric, Numeric: &n},
			{Name: "c", Type: TypeCategorical, Categorical: &CategoricalReference{Counts: map[string]int{"a": 3, "b": 2}}},
		}}
	}
	if err := good().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, spoil := range map[string]func(p *ReferenceProfile){
		"short percentiles": func(p *ReferenceProfile) { p.Features[0].Numeric.Percentiles = p.Features[0].Numeric.Percentiles[:50] },
		"decreasing":        func(p *ReferenceProfile) { p.Features[0].Numeric.Percentiles[3] = 100 },
		"row count":         func(p *ReferenceProfile) { p.Rows = 6 },
		"missing share":     func(p *ReferenceProfile) { p.Features[0].Numeric.MissingShare = 0.5 },
		"zero count":        func(p *ReferenceProfile) { p.Features[1].Categorical.Counts["z"] = 0 },
		"wrong type":        func(p *ReferenceProfile) { p.Features[1].Type = TypeNumeric },
		"duplicate":         func(p *ReferenceProfile) { p.Features[1].Name = "x" },
		"hazard above 1":    func(p *ReferenceProfile) { p.Hazard.Percentiles[100] = 1.5 },
	} {
		p := good()
		spoil(p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestKolmogorovExactSmall checks the exact distribution against closed
// forms: for n = 1, P(D ≥ d) = 2(1 − d) for d ≥ 1/2 and 1 below; the ends
// d = 0 and d = 1; and the 95% point of Kolmogorov's distribution.
func TestKolmogorovExactSmall(t *testing.T) {
	for _, d := range []float64{0.5, 0.6, 0.75, 0.9} {
		if p, _ := KSPValue(1, d); !driftNear(p, 2*(1-d), 1e-14, 0) {
			t.Errorf("n 1, d %g: p %g, want %g", d, p, 2*(1-d))
		}
	}
	if p, _ := KSPValue(1, 0.3); p != 1 {
		t.Errorf("n 1, d 0.3: p %g, want 1", p)
	}
	if p, _ := KSPValue(10, 0); p != 1 {
		t.Errorf("d 0: p %g", p)
	}
	if p, _ := KSPValue(10, 1); p != 0 {
		t.Errorf("d 1: p %g", p)
	}
	if KolmogorovSurvival(0) != 1 || !driftNear(KolmogorovSurvival(1.3580986393225505), 0.05, 1e-12, 0) {
		t.Errorf("Kolmogorov survival: %g", KolmogorovSurvival(1.3580986393225505))
	}
}
