// Package caresignal holds the vocabulary shared by every layer of the
// drop-off risk service: feature values, the patient instance a caller asks
// about, the prediction it gets back, the source and extract rows the data
// layer moves, the Store contract both database adapters satisfy, and the
// error type whose code decides an HTTP status.
//
// The package imports only the standard library. The pure packages
// (survival, feature, synth), the model, the database adapters and the web
// handler all build on it; only cmd/caresignal wires concrete pieces together.
package caresignal

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// ValueKind says what a Value holds.
type ValueKind uint8

// The kinds of Value. The zero Value is Absent: the caller did not send the
// feature at all, which is different from sending null (Null).
const (
	Absent ValueKind = iota
	Null
	Number
	String
)

// Value is one feature value as it arrives from a request or a database row:
// a number, a category label, or missing. It is a small value type so rows of
// them can be held without per-value allocations.
type Value struct {
	Kind ValueKind
	Num  float64
	Str  string
}

// Num returns a numeric Value.
func Num(x float64) Value { return Value{Kind: Number, Num: x} }

// Str returns a categorical Value.
func Str(s string) Value { return Value{Kind: String, Str: s} }

// NullValue returns an explicit missing Value.
func NullValue() Value { return Value{Kind: Null} }

// Missing reports whether v carries no value (absent or null).
func (v Value) Missing() bool { return v.Kind == Absent || v.Kind == Null }

// MarshalJSON writes v as JSON: a number, a string, or null. (An Absent
// value inside a map is written as null too.)
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.Kind {
	case Number:
		if math.IsInf(v.Num, 0) || math.IsNaN(v.Num) {
			return nil, fmt.Errorf("value %v cannot be written as JSON", v.Num)
		}
		return strconv.AppendFloat(nil, v.Num, 'g', -1, 64), nil
	case String:
		return json.Marshal(v.Str)
	}
	return []byte("null"), nil
}

// String formats v for messages and hashes: numbers in the shortest form that
// round-trips, strings as they are, missing values as "null".
func (v Value) String() string {
	if v.Kind == String {
		return v.Str
	}
	return string(v.Append(nil))
}

// Append appends v to b as String formats it.
func (v Value) Append(b []byte) []byte {
	switch v.Kind {
	case Number:
		return strconv.AppendFloat(b, v.Num, 'g', -1, 64)
	case String:
		return append(b, v.Str...)
	default:
		return append(b, "null"...)
	}
}

// Finite reports whether a numeric value is neither NaN nor infinite.
func (v Value) Finite() bool {
	return v.Kind == Number && !math.IsNaN(v.Num) && !math.IsInf(v.Num, 0)
}

// Instance is one patient to score, as the API receives it.
type Instance struct {
	PatientID string
	// Features maps feature names to their current values. Time-varying
	// features are held at these values for every future month.
	Features map[string]Value
	// MonthsEnrolled is the number of months already completed; the first
	// predicted month is MonthsEnrolled+1.
	MonthsEnrolled int
	// Horizon is the number of future months to predict.
	Horizon int
	// DaysElapsed is how many days of the month in progress (month
	// MonthsEnrolled+1, a 30-day period from enrolment) have already passed
	// with the patient still enrolled, 0 to MonthDays−1: the first month's
	// hazard then covers only the rest of it (see MonthInProgress). 0, the
	// default, predicts the whole month.
	DaysElapsed int
}

// MonthDays is the length of a month of enrolment: months are 30-day
// periods from the enrolment date (docs/data.md).
const MonthDays = 30

// MonthInProgress is the probability of dropping off in the rest of a
// month whose hazard over the whole month is h, daysElapsed of its
// MonthDays days having passed with the patient enrolled, under a hazard
// constant within the month: 1 − (1 − h)^((MonthDays − daysElapsed)/MonthDays).
func MonthInProgress(h float64, daysElapsed int) float64 {
	if daysElapsed <= 0 {
		return h
	}
	left := float64(MonthDays-daysElapsed) / MonthDays
	return -math.Expm1(left * math.Log1p(-h))
}

// WholeMonth undoes MonthInProgress: the hazard over the whole month of a
// month in progress whose rest, daysElapsed of its days having passed,
// has hazard rest.
func WholeMonth(rest float64, daysElapsed int) float64 {
	if daysElapsed <= 0 || daysElapsed >= MonthDays {
		return rest
	}
	left := float64(MonthDays-daysElapsed) / MonthDays
	return -math.Expm1(math.Log1p(-rest) / left)
}

// DefaultHorizon is the number of months predicted when a request names none.
const DefaultHorizon = 12

// Limits on a request, enforced by every entry point so that one bad request
// cannot take the server's memory.
const (
	MaxHorizon        = 120  // ten years of monthly hazards
	MaxMonthsEnrolled = 1200 // a century; anything longer is an input error
	MaxInstances      = 1000 // patients in one batch request
)

// Prediction is the answer for one patient.
type Prediction struct {
	PatientID string `json:"patient_id"`
	// Hazard[i] is the probability of dropping off in month
	// MonthsEnrolled+i+1, given engagement at its start.
	Hazard []float64 `json:"hazard"`
	// Survival[i] is the probability of still being engaged at the end of
	// that month, given engagement now.
	Survival []float64 `json:"survival"`
	// ExpectedMonths is the restricted mean: the expected number of the
	// next Horizon months the patient stays engaged, Σ Survival[i].
	ExpectedMonths float64 `json:"expected_months"`
	// MedianMonths is the first month (counted from now) by whose end the
	// survival probability is at or below one half; nil when that does not
	// happen within the horizon.
	MedianMonths *int `json:"median_months"`
	// Explanation lists each feature's contribution to the log-odds of
	// dropping off, largest first.
	Explanation []Contribution `json:"explanation"`
	// Warnings name inputs that were accepted but changed, such as an
	// unseen category mapped to the reference level or an imputed value.
	Warnings []string `json:"warnings,omitempty"`
	// FeaturesHash identifies the transformed feature row the model scored
	// (FNV-1a over its bits), so the prediction log can show that offline
	// rescoring saw the same row. Empty for imported models.
	FeaturesHash string `json:"-"`
}

// Contribution is one feature's share of a prediction: how far it moves the
// linear predictor of next month's hazard — the log-odds for a logit model,
// the log-hazard for a cloglog one — away from the training mean: numeric
// features are measured from their mean, each category indicator from its
// share of the training rows. Positive values raise the risk. The
// contributions of a prediction add up to its distance from the reference.
type Contribution struct {
	Feature      string  `json:"feature"`
	Value        string  `json:"value"`
	Contribution float64 `json:"contribution"`
	// Text reads "days_since_last_session = 41 → +0.62".
	Text string `json:"text"`
}

// Input is one input of a model as a form or a client sees it: what an
// Instance's Features may hold.
type Input struct {
	Name        string   `json:"name"`
	Categorical bool     `json:"categorical,omitempty"`
	Levels      []string `json:"levels,omitempty"`
	Description string   `json:"description,omitempty"`
	// Default is a typical value to prefill a form with ("" for none).
	Default string `json:"default,omitempty"`
	// Optional inputs may be missing (imputed).
	Optional bool `json:"optional,omitempty"`
}

// ModelInfo names the model that computed a response.
type ModelInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}
