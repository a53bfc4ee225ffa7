package eval

import (
	"cmp"
	"slices"
	"sort"
)

// Outcome is what was observed of one patient, on the model's period scale
// (months): Time ≥ 0 is when the patient dropped off (Event true) or was last
// seen still engaged, i.e. censored (Event false). Times are equal only when
// they are exactly equal as float64 values.
type Outcome struct {
	Time  float64 `json:"time"`
	Event bool    `json:"event"`
}

// KMCurve is a product-limit (Kaplan–Meier) estimate: a right-continuous step
// function that starts at 1 and may jump only at the observed times.
//
// Times holds every distinct observed time (of events and of censorings) in
// increasing order; AtRisk[k] = n(t_k) is the number of patients with
// Time ≥ t_k, Events[k] = d(t_k) and Censored[k] = c(t_k) the numbers of
// events and censorings at exactly t_k, and Value[k] the estimate at t_k,
// after its jump there.
type KMCurve struct {
	Times    []float64 `json:"times"`
	AtRisk   []int     `json:"at_risk"`
	Events   []int     `json:"events"`
	Censored []int     `json:"censored"`
	Value    []float64 `json:"value"`
}

// KaplanMeier returns the Kaplan–Meier estimate of the probability of still
// being engaged, S(t) = Π_{t_k ≤ t} (1 − d(t_k)/n(t_k)).
//
// A patient censored at the time of another's event is counted at risk of
// that event (censorings come after events at a tied time), as in R's
// survival package.
func KaplanMeier(obs []Outcome) KMCurve {
	c := tabulateTimes(obs)
	s := 1.0
	for k := range c.Times {
		if d := c.Events[k]; d > 0 {
			s *= 1 - float64(d)/float64(c.AtRisk[k])
		}
		c.Value[k] = s
	}
	return c
}

// CensoringKM returns the reverse Kaplan–Meier estimate of the censoring
// distribution, G(t) = P(C > t), with censoring as the "event":
//
//	G(t) = Π_{t_k ≤ t} (1 − c(t_k)/(n(t_k) − d(t_k))).
//
// At a time with both events and censorings the events come first: the
// patients who dropped off at t_k are no longer at risk of being censored at
// t_k, so the censoring risk set is n(t_k) − d(t_k). This is the convention
// of R's prodlim(..., reverse = TRUE) (used by pec and riskRegression) and of
// the censoring curve inside survival::concordance; it differs from
// survfit(Surv(time, 1 − status) ~ 1), whose risk set at t_k is n(t_k).
//
// Inverse-probability-of-censoring weights use the left limit G(t−)
// (Before) for a patient's own event time and G(t) (At) for a fixed horizon t.
func CensoringKM(obs []Outcome) KMCurve {
	c := tabulateTimes(obs)
	g := 1.0
	for k := range c.Times {
		if e := c.Censored[k]; e > 0 {
			g *= 1 - float64(e)/float64(c.AtRisk[k]-c.Events[k])
		}
		c.Value[k] = g
	}
	return c
}

// tabulateTimes fills in Times, AtRisk, Events and Censored of a curve and
// allocates Value.
func tabulateTimes(obs []Outcome) KMCurve {
	idx := make([]int, len(obs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(obs[a].Time, obs[b].Time) })
	var c KMCurve
	for i := 0; i < len(idx); {
		t := obs[idx[i]].Time
		var d, e int
		j := i
		for ; j < len(idx) && obs[idx[j]].Time == t; j++ {
			if obs[idx[j]].Event {
				d++
			} else {
				e++
			}
		}
		c.Times = append(c.Times, t)
		c.AtRisk = append(c.AtRisk, len(idx)-i)
		c.Events = append(c.Events, d)
		c.Censored = append(c.Censored, e)
		i = j
	}
	c.Value = make([]float64, len(c.Times))
	return c
}

// At returns the estimate at t: the value after the jumps at times ≤ t (1
// before the first observed time). Past the last observed time it stays at
// the last value.
func (c KMCurve) At(t float64) float64 {
	k := sort.Search(len(c.Times), func(i int) bool { return c.Times[i] > t })
	if k == 0 {
		return 1
	}
	return c.Value[k-1]
}

// Before returns the left limit at t: the value after the jumps at times
// strictly before t (1 if there are none).
func (c KMCurve) Before(t float64) float64 {
	k := sort.Search(len(c.Times), func(i int) bool { return c.Times[i] >= t })
	if k == 0 {
		return 1
	}
	return c.Value[k-1]
}

// LastTime returns the largest observed time, or 0 for an empty curve.
func (c KMCurve) LastTime() float64 {
	if len(c.Times) == 0 {
		return 0
	}
	return c.Times[len(c.Times)-1]
}
