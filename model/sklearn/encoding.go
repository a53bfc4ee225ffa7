package sklearn

import (
	"fmt"
	"math"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/pickle"
)

// Encoding is how a fitted one-hot or ordinal encoder reads one input: the
// categories it was fitted on, and what it does with any other value.
type Encoding struct {
	// Encoder is OneHotEncoder or OrdinalEncoder.
	Encoder string
	// Levels are the fitted categories (categories_), in the encoder's
	// order: numbers or strings as the training column held them.
	Levels []caresignal.Value
	// Refuses is set when a value outside Levels is an error
	// (handle_unknown="error"): the pipeline does not score it.
	Refuses bool
	// Unseen says, when Refuses is not set, what a value outside Levels
	// becomes: "all-zero indicators", "the code -1", "a missing value".
	Unseen string
	// HandleUnknown is the encoder's handle_unknown setting, as fitted.
	HandleUnknown string
}

// Has reports whether v is one of the fitted levels, matched as the
// encoder matches it: strings by text, numbers by value.
func (e Encoding) Has(v caresignal.Value) bool { return level(e.Levels, v) >= 0 }

// levelNames are the levels as text (a missing string level, None, is
// left out).
func (e Encoding) levelNames() []string {
	var names []string
	for _, v := range e.Levels {
		if v.Kind == caresignal.String || v.Kind == caresignal.Number {
			names = append(names, v.String())
		}
	}
	return names
}

// newEncoding describes how the fitted encoder o reads its input j, whose
// categories are cats. The settings are read as the encoders' transform
// reads them (newOneHotEncoder, newOrdinalEncoder).
func newEncoding(o *pickle.Object, j int, cats []caresignal.Value) Encoding {
	h, _ := attr(o, "handle_unknown").(string)
	e := Encoding{Encoder: o.Class.Name, Levels: cats, HandleUnknown: h}
	switch o.Class.Name {
	case "OneHotEncoder":
		if h != "ignore" && h != "infrequent_if_exist" {
			e.Refuses = true
			break
		}
		e.Unseen = "all-zero indicators"
		if d, ok := attr(o, "drop_idx_").(*pickle.Array); ok {
			if vals, err := arrayValues(d); err == nil && j < len(vals) && vals[j].Kind == caresignal.Number {
				if k := int(vals[j].Num); k >= 0 && k < len(cats) {
					e.Unseen += fmt.Sprintf(", the encoding of the dropped level %s", cats[k])
				}
			}
		}
	case "OrdinalEncoder":
		if h != "use_encoded_value" {
			e.Refuses = true
			break
		}
		u, ok := numberOf(attr(o, "unknown_value"))
		if !ok || math.IsNaN(u) {
			e.Unseen = "a missing value (NaN)"
		} else {
			e.Unseen = fmt.Sprintf("the code %v", u)
		}
	}
	return e
}
