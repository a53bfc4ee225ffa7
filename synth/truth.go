package synth

// The true discrete-time hazard the generator draws drop-off from:
//
//	logit h(t | x) = α(t) + Σ_k β_k x_k(t)
//
// where t is the month of enrolment (1-based), h(t | x) is the probability of
// dropping off in month t given engagement at its start, and x(t) are the
// features as known at the start of month t: the static ones recorded at
// enrolment, and the monthly counts over the 30 days before month t began
// (for t = 1, the 30-day onboarding window before enrolment). Numeric
// features enter on their raw scale; categories as 0/1 indicators against the
// reference level (the first of each list in Levels). Months after the last
// entry of TrueBaseline keep its value.
//
// These are the values of the reference Flask + scikit-learn service's
// generator, so both sides model the same world.

// TrueBaseline is α(t) for t = 1..12: high early attrition, then flattening.
var TrueBaseline = []float64{-1.50, -1.70, -1.85, -1.95, -2.05, -2.10, -2.15, -2.20, -2.25, -2.25, -2.30, -2.30}

// TrueCoef is β: numeric features per unit, categories as "feature=level".
var TrueCoef = map[string]float64{
	"age":                     -0.010, // per year
	"baseline_score":          -1.20,  // 0..1
	"prior_no_shows":          0.15,   // per prior no-show
	"sessions_last_month":     -0.20,  // per session
	"days_since_last_session": 0.015,  // per day
	"messages_last_month":     -0.06,  // per message
	"sex=M":                   0.10,
	"program=hypertension":    0.10,
	"program=weight":          0.40,
	"program=copd":            -0.20,
	"program=behavioral":      0.30,
	"channel=sms":             0.25,
	"channel=phone":           -0.20,
	"enrolled_via=self":       0.20,
	"enrolled_via=employer":   -0.15,
}

// Levels lists each categorical feature's levels, reference level first,
// with the probabilities the generator draws them with.
var Levels = map[string][]Level{
	"sex":          {{"F", 0.55}, {"M", 0.45}},
	"program":      {{"diabetes", 0.30}, {"hypertension", 0.25}, {"weight", 0.20}, {"copd", 0.10}, {"behavioral", 0.15}},
	"channel":      {{"app", 0.50}, {"sms", 0.30}, {"phone", 0.20}},
	"enrolled_via": {{"referral", 0.45}, {"self", 0.30}, {"employer", 0.25}},
}

// Level is one category level and its share of patients.
type Level struct {
	Name string
	P    float64
}

// TrueAlpha returns α(t), holding the last month's value beyond the table.
func TrueAlpha(t int) float64 {
	if t > len(TrueBaseline) {
		t = len(TrueBaseline)
	}
	return TrueBaseline[t-1]
}
