package survival

import "math"

// Logistic is the inverse of the logit link: the probability whose log-odds
// is eta. It is computed so that neither tail overflows.
func Logistic(eta float64) float64 {
	if eta >= 0 {
		return 1 / (1 + math.Exp(-eta))
	}
	e := math.Exp(eta)
	return e / (1 + e)
}

// logLik1 is the Bernoulli log-likelihood of outcome y ∈ {0,1} under log-odds
// eta, computed without forming the probability so that it stays finite for
// large |eta|: y·eta − log(1+e^eta).
func logLik1(y, eta float64) float64 {
	return y*eta - softplus(eta)
}

// softplus returns log(1+e^x) without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
