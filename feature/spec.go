// Package feature turns source rows into the hazard model's design matrix
// from a declarative spec: numeric scaling, one-hot categories with an
// explicit policy for unseen levels, missing-value imputation, and the
// baseline-hazard time terms. Fitting a Spec to training rows yields a
// Fitted transformer — plain data with exported fields, saved inside the
// model artifact — and training and serving both call its Encode, so the
// two cannot drift apart.
package feature

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/caresignal/caresignal"
)

// Feature types.
const (
	Numeric     = "numeric"
	Categorical = "categorical"
)

// Numeric transforms.
const (
	Standardize = "standardize" // (x − mean) / sd, sd with divisor n as scikit-learn's StandardScaler
	Identity    = "none"        // used as given
)

// Imputation strategies for missing values. Without one, a missing value is
// an input error.
const (
	ImputeMean         = "mean"          // numeric: the training mean
	ImputeMedian       = "median"        // numeric: the training median
	ImputeMostFrequent = "most_frequent" // categorical: the commonest training level
	ImputeConstant     = "constant"      // either: the spec's impute_value
)

// Policies for a category level not seen in training.
const (
	UnseenError     = "error"     // reject the input, naming the feature
	UnseenReference = "reference" // treat as the reference level, with a warning
)

// Unseen is a categorical feature's policy for levels not seen in
// training, per surface: the API (a caller can correct a typo: "Weight"
// for "weight"), and batch scoring (a program launched after training is
// real and must be scored). In a spec it is one policy for both
// ("reference") or an object ({"api": "error", "batch": "reference"});
// an empty policy is UnseenError.
type Unseen struct {
	API   string `json:"api,omitempty"`
	Batch string `json:"batch,omitempty"`
}

// UnmarshalJSON reads a policy name or an object of one per surface.
func (u *Unseen) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		*u = Unseen{API: name, Batch: name}
		return nil
	}
	type plain Unseen
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("unseen must be %q, %q, or {\"api\": …, \"batch\": …}: %w", UnseenError, UnseenReference, err)
	}
	*u = Unseen(p)
	return nil
}

// MarshalJSON writes one name when both surfaces share it.
func (u Unseen) MarshalJSON() ([]byte, error) {
	if u.API == u.Batch {
		return json.Marshal(u.API)
	}
	type plain Unseen
	return json.Marshal(plain(u))
}

// IsZero reports an unset policy (omitted from JSON).
func (u Unseen) IsZero() bool { return u == Unseen{} }

// Spec declares the features of a model. It is read from a JSON file.
type Spec struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Baseline    Baseline  `json:"baseline"`
	Features    []Feature `json:"features"`
}

// Feature declares one model input.
type Feature struct {
	Name        string `json:"name"`
	Type        string `json:"type"` // Numeric or Categorical
	Description string `json:"description,omitempty"`
	// TimeVarying marks a feature measured per month; predictions for
	// future months hold it at its current value.
	TimeVarying bool `json:"time_varying,omitempty"`
	// Words, when set, say a value of the feature as a care team would,
	// for the reasons shown beside a score ("no session for 45 days").
	Words *Words `json:"words,omitempty"`

	// Numeric features.
	Transform string   `json:"transform,omitempty"` // Standardize (default) or Identity
	Min       *float64 `json:"min,omitempty"`       // inputs below are rejected
	Max       *float64 `json:"max,omitempty"`       // inputs above are rejected

	// Categorical features.
	Reference string `json:"reference,omitempty"` // default: the commonest training level
	Unseen    Unseen `json:"unseen,omitzero"`     // UnseenError (default) or UnseenReference, per surface

	// Missing values.
	Impute      string          `json:"impute,omitempty"`
	ImputeValue json.RawMessage `json:"impute_value,omitempty"` // for ImputeConstant
}

// ParseSpec reads and validates a JSON spec. Unknown fields are errors, so a
// misspelt key is caught rather than ignored.
func ParseSpec(r io.Reader) (*Spec, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("feature spec: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("feature spec: unexpected data after the JSON object")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// ParseSpecBytes is ParseSpec on a byte slice.
func ParseSpecBytes(b []byte) (*Spec, error) { return ParseSpec(bytes.NewReader(b)) }

// Validate reports the first inconsistency in s, naming the feature.
func (s *Spec) Validate() error {
	if s.Name == "" {
		return caresignal.Invalidf("name", "feature spec: name is required")
	}
	if err := s.Baseline.validate(); err != nil {
		return err
	}
	if len(s.Features) == 0 {
		return caresignal.Invalidf("features", "feature spec: no features declared")
	}
	seen := map[string]bool{}
	for i := range s.Features {
		f := &s.Features[i]
		fail := func(format string, args ...any) error {
			return caresignal.Invalidf(f.Name, "feature spec: feature %q: %s", f.Name, fmt.Sprintf(format, args...))
		}
		if f.Name == "" {
			return caresignal.Invalidf(fmt.Sprintf("features[%d]", i), "feature spec: feature %d has no name", i)
		}
		if seen[f.Name] {
			return fail("declared twice")
		}
		seen[f.Name] = true
		switch f.Type {
		case Numeric:
			switch f.Transform {
			case "", Standardize, Identity:
			default:
				return fail("unknown transform %q (want %q or %q)", f.Transform, Standardize, Identity)
			}
			if f.Reference != "" || !f.Unseen.IsZero() {
				return fail("reference and unseen apply to categorical features only")
			}
			if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
				return fail("min %g is above max %g", *f.Min, *f.Max)
			}
			switch f.Impute {
			case "", ImputeMean, ImputeMedian:
			case ImputeConstant:
				var v float64
				if err := json.Unmarshal(f.ImputeValue, &v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					return fail("impute %q needs a numeric impute_value", ImputeConstant)
				}
			default:
				return fail("impute %q is not one of mean, median, constant", f.Impute)
			}
		case Categorical:
			if f.Transform != "" || f.Min != nil || f.Max != nil {
				return fail("transform, min and max apply to numeric features only")
			}
			for _, p := range []string{f.Unseen.API, f.Unseen.Batch} {
				switch p {
				case "", UnseenError, UnseenReference:
				default:
					return fail("unknown unseen policy %q (want %q or %q)", p, UnseenError, UnseenReference)
				}
			}
			switch f.Impute {
			case "", ImputeMostFrequent:
			case ImputeConstant:
				var v string
				if err := json.Unmarshal(f.ImputeValue, &v); err != nil || v == "" {
					return fail("impute %q needs a string impute_value", ImputeConstant)
				}
			default:
				return fail("impute %q is not one of most_frequent, constant", f.Impute)
			}
		default:
			return fail("type %q is not %q or %q", f.Type, Numeric, Categorical)
		}
		if f.Impute != ImputeConstant && len(f.ImputeValue) > 0 {
			return fail("impute_value is set but impute is not %q", ImputeConstant)
		}
	}
	return nil
}

// Words say a feature's value in plain language. In Value, {value} stands
// for the value and {s} for "s" unless the value is 1 ("{value}
// session{s} last month"); Missing says a missing value ("no session
// yet"). A feature without words reads "<name with spaces> <value>".
type Words struct {
	Value   string `json:"value"`
	Missing string `json:"missing,omitempty"`
}

// Say reads a value of feature f in words: value is its text, missing
// whether it was missing (and imputed).
func (f *Feature) Say(value string, missing bool) string {
	label := strings.ReplaceAll(f.Name, "_", " ")
	if missing && f.Words != nil && f.Words.Missing != "" {
		return f.Words.Missing
	}
	if f.Words == nil || f.Words.Value == "" {
		if missing {
			return label + " not recorded"
		}
		return label + " " + value
	}
	if missing {
		return label + " not recorded"
	}
	s := "s"
	if value == "1" {
		s = ""
	}
	return strings.NewReplacer("{value}", value, "{s}", s).Replace(f.Words.Value)
}
