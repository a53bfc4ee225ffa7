package eval

import (
	"math"
	"slices"
)

// KSExactMaxN is the largest number of live values whose Kolmogorov–Smirnov
// p-value is computed exactly (Marsaglia, Tsang and Wang); above it the
// asymptotic Kolmogorov distribution is used.
const KSExactMaxN = 1000

// Methods of a KSTest p-value.
const (
	KSExact      = "exact"      // Marsaglia–Tsang–Wang
	KSAsymptotic = "asymptotic" // Kolmogorov's limit distribution of √n·D
)

// KSTest is a one-sample Kolmogorov–Smirnov test against the reference
// distribution function.
type KSTest struct {
	N      int     `json:"n"`       // live values tested
	D      float64 `json:"d"`       // sup |F_live − F_reference|
	PValue float64 `json:"p_value"` // P(D_n ≥ D) for n values from the reference
	Method string  `json:"method"`  // KSExact or KSAsymptotic
}

// KSOneSample tests whether sorted (ascending, finite, not empty) could be
// a sample from the reference distribution. D is the largest distance
// between the live empirical distribution function and the reference one:
// max over the sorted values x_(i) of i/n − F(x_(i)) and F(x_(i)−) − (i−1)/n,
// with the left limit F(x−) so that values sitting on a jump of F (a value
// common in the reference) are not counted against it. The p-value treats
// F as continuous and exactly known: P(D_n ≥ D) under Kolmogorov's
// distribution, exact (Marsaglia–Tsang–Wang) for n up to KSExactMaxN and
// asymptotic beyond. Where F has jumps the test is conservative.
func KSOneSample(sorted []float64, ref *NumericReference) KSTest {
	n := len(sorted)
	fn := float64(n)
	dist := 0.0
	for i, x := range sorted {
		dist = max(dist, float64(i+1)/fn-ref.ReferenceCDF(x), ref.ReferenceCDFLeft(x)-float64(i)/fn)
	}
	p, method := KSPValue(n, dist)
	return KSTest{N: n, D: dist, PValue: p, Method: method}
}

// KSPValue returns P(D_n ≥ d), the p-value of a two-sided one-sample
// Kolmogorov–Smirnov statistic d from n values, and the method used.
//
// For n up to KSExactMaxN it is exact, by the algorithm of Marsaglia, Tsang
// and Wang (2003), accurate to about 1e-13 absolute — except in the far
// tail, where the algorithm's matrix would be larger than 199×199 (n·d ≥
// 100, so d²n ≥ 10 and the p-value is below 1e-8): there it is the tail
// formula published with the algorithm,
// 2·exp(−(2.000071 + 0.331/√n + 1.409/n)·d²n), whose absolute error is
// below 1e-9 and relative error a few percent.
//
// Above KSExactMaxN it is Kolmogorov's limit distribution of √n·d, as
// scipy.stats.kstwobign gives it; its error shrinks like 1/√n (about 1e-3
// near p = 0.05 for n = 1000).
func KSPValue(n int, d float64) (float64, string) {
	if n <= 0 {
		return 1, KSExact
	}
	if n <= KSExactMaxN {
		return kolmogorovSF(n, d), KSExact
	}
	return KolmogorovSurvival(math.Sqrt(float64(n)) * d), KSAsymptotic
}

// KolmogorovSurvival returns P(K > λ) for Kolmogorov's distribution K, the
// limit of √n·D_n: 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²λ²), or for small λ the
// complement of √(2π)/λ · Σ_{k≥1} exp(−(2k−1)²π²/(8λ²)), whichever
// converges faster.
func KolmogorovSurvival(lambda float64) float64 {
	if !(lambda > 0) {
		return 1
	}
	if lambda < 1 {
		s := 0.0
		for k := 1; k <= 20; k++ {
			t := float64(2*k - 1)
			s += math.Exp(-t * t * math.Pi * math.Pi / (8 * lambda * lambda))
		}
		return 1 - math.Sqrt(2*math.Pi)/lambda*s
	}
	s := 0.0
	for k := 1; k <= 100; k++ {
		t := math.Exp(-2 * float64(k*k) * lambda * lambda)
		if k%2 == 1 {
			s += t
		} else {
			s -= t
		}
		if t < 1e-300 {
			break
		}
	}
	return min(max(2*s, 0), 1)
}

// ksMaxK bounds the matrix of the exact Kolmogorov distribution: with
// k = ⌊n·d⌋ + 1 above it the tail formula is used (see KSPValue).
const ksMaxK = 100

// kolmogorovSF returns P(D_n ≥ d) = 1 − P(D_n < d), the latter by
// Marsaglia, Tsang and Wang, "Evaluating Kolmogorov's distribution",
// Journal of Statistical Software 8(18), 2003: n!/nⁿ times the (k, k)
// element of Hⁿ, H an m×m matrix, m = 2k − 1, k = ⌊n·d⌋ + 1. The paper
// raises H to the n-th power by squaring; here Hⁿe_k is built by n
// products with a vector, which costs n·m²/2 (H is zero above its first
// superdiagonal) rather than about 2·log₂(n)·m³, with the vector's decimal
// exponent tracked apart to avoid overflow, as the paper does for the
// matrix. For k above ksMaxK it returns the paper's tail formula.
func kolmogorovSF(n int, d float64) float64 {
	if d <= 0 {
		return 1
	}
	if d >= 1 {
		return 0
	}
	fn := float64(n)
	k := int(fn*d) + 1
	if k > ksMaxK {
		return min(2*math.Exp(-(2.000071+0.331/math.Sqrt(fn)+1.409/fn)*d*d*fn), 1)
	}
	m := 2*k - 1
	h := float64(k) - fn*d
	// H[i][j] = 1/(i−j+1)! for j ≤ i+1, 0 above; then the first column
	// and the last row are corrected for the partial interval h.
	H := make([]float64, m*m)
	for i := range m {
		f := 1.0 // 1/(i−j+1)! for j from i+1 down to 0
		for j := i + 1; j >= 0; j-- {
			if j < m {
				H[i*m+j] = f
			}
			f /= float64(i - j + 2)
		}
	}
	fact := 1.0 // (i+1)!
	for i := range m {
		fact *= float64(i + 1)
		H[i*m] -= math.Pow(h, float64(i+1)) / fact
	}
	fact = 1.0 // (m−i)!, i from m−1 down to 0
	for i := m - 1; i >= 0; i-- {
		fact *= float64(m - i)
		H[(m-1)*m+i] -= math.Pow(h, float64(m-i)) / fact
	}
	if 2*h-1 > 0 {
		H[(m-1)*m] += math.Pow(2*h-1, float64(m)) / fact // fact is m! here
	}
	v, w := make([]float64, m), make([]float64, m)
	v[k-1] = 1
	e := 0 // v·10^e is Hᵗe_k
	for range n {
		for i := range m {
			s := 0.0
			for j, x := range H[i*m : i*m+min(i+2, m)] {
				s += x * v[j]
			}
			w[i] = s
		}
		v, w = w, v
		if v[k-1] > 1e140 || slices.Max(v) > 1e140 {
			for i := range v {
				v[i] *= 1e-140
			}
			e += 140
		}
	}
	s := v[k-1]
	for i := 1; i <= n; i++ {
		s = s * float64(i) / fn
		if s < 1e-140 {
			s *= 1e140
			e -= 140
		}
	}
	return min(max(1-s*math.Pow(10, float64(e)), 0), 1)
}
