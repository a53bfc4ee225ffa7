package survival

import (
	"fmt"
	"math"
)

// Link is the link function of the hazard model: how the linear predictor η
// of a person-period row maps to the hazard of that period.
type Link string

// The supported links.
const (
	// Logit is Cox's discrete logistic model: η is the log-odds of the
	// hazard, and a coefficient is a log odds ratio.
	Logit Link = "logit"
	// CLogLog is the grouped-time proportional hazards model of Prentice and
	// Gloeckler: η = log(−log(1 − hazard)), and a coefficient is a log
	// hazard ratio of the underlying continuous-time model.
	CLogLog Link = "cloglog"
)

// ParseLink returns the link named s; "" is Logit.
func ParseLink(s string) (Link, error) {
	switch Link(s) {
	case "", Logit:
		return Logit, nil
	case CLogLog:
		return CLogLog, nil
	}
	return "", fmt.Errorf("unknown link %q (want %q or %q)", s, Logit, CLogLog)
}

// Inverse returns the hazard whose linear predictor is eta.
func (l Link) Inverse(eta float64) float64 {
	if l == CLogLog {
		return -math.Expm1(-math.Exp(eta))
	}
	return Logistic(eta)
}

// RatioName names exp(coefficient) under the link.
func (l Link) RatioName() string {
	if l == CLogLog {
		return "hazard ratio"
	}
	return "odds ratio"
}

// ScaleName names the scale of the linear predictor.
func (l Link) ScaleName() string {
	if l == CLogLog {
		return "log-hazard"
	}
	return "log-odds"
}

// Logistic is the inverse of the logit link: the probability whose log-odds
// is eta. It is computed so that neither tail overflows.
func Logistic(eta float64) float64 {
	if eta >= 0 {
		return 1 / (1 + math.Exp(-eta))
	}
	e := math.Exp(eta)
	return e / (1 + e)
}

// softplus returns log(1+e^x) without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// rowTerms are one row's contributions to the log-likelihood and its
// derivatives with respect to η, for y events in n trials.
type rowTerms struct {
	ll       float64 // log-likelihood, without the binomial coefficient
	score    float64 // dℓ/dη
	fisher   float64 // expected information E[−d²ℓ/dη²]
	observed float64 // observed information −d²ℓ/dη²
}

// logLik returns a row's log-likelihood y·log h + (n−y)·log(1−h) at eta,
// computed without forming h where that would lose precision.
func (l Link) logLik(y, n, eta float64) float64 {
	if l == CLogLog {
		u := math.Exp(eta)
		ll := 0.0
		if y > 0 {
			ll += y * math.Log(-math.Expm1(-u))
		}
		if n > y {
			ll -= (n - y) * u
		}
		return ll
	}
	// y·log σ(η) + (n−y)·log(1−σ(η)) = y·η − n·log(1+e^η)
	return y*eta - n*softplus(eta)
}

// terms returns all of a row's terms at eta.
func (l Link) terms(y, n, eta float64) rowTerms {
	if l == CLogLog {
		// h = 1 − exp(−u), u = e^η. With g = u(1−h)/h = u/(e^u − 1):
		// dℓ/dη = y·g − (n−y)·u; Fisher n·u·g; observed (n−y)·u + y·g·(u/h − 1).
		u := math.Exp(eta)
		h := -math.Expm1(-u)
		g := 1.0
		if u > 1e-300 {
			g = u / math.Expm1(u)
		}
		t := rowTerms{ll: l.logLik(y, n, eta), score: y * g, fisher: n * u * g}
		if n > y {
			t.score -= (n - y) * u
			t.observed = (n - y) * u
		}
		if y > 0 && h > 0 {
			t.observed += y * g * (u/h - 1)
		}
		return t
	}
	mu := Logistic(eta)
	w := n * mu * (1 - mu)
	return rowTerms{ll: y*eta - n*softplus(eta), score: y - n*mu, fisher: w, observed: w}
}
