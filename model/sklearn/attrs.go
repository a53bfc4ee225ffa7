package sklearn

import (
	"fmt"
	"math"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/pickle"
)

// attr returns an estimator attribute, or nil.
func attr(o *pickle.Object, name string) any {
	v, _ := o.Attrs().Get(name)
	return v
}

func floatsAttr(o *pickle.Object, name string) ([]float64, error) {
	a, ok := attr(o, name).(*pickle.Array)
	if !ok {
		return nil, fmt.Errorf("%s.%s is a %s, want a numpy array", o.Class.Name, name, pickle.TypeName(attr(o, name)))
	}
	return a.Float64s()
}

func numberOf(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// num reads a numeric input: a number, or NaN for a missing value, as
// scikit-learn sees a float column.
func num(v caresignal.Value) (float64, error) {
	switch v.Kind {
	case caresignal.Number:
		return v.Num, nil
	case caresignal.Null:
		return math.NaN(), nil
	}
	return 0, fmt.Errorf("%q is not a number", v.Str)
}

// missing reports whether v is a missing value (None or NaN).
func missing(v caresignal.Value) bool {
	return v.Kind == caresignal.Null || (v.Kind == caresignal.Number && math.IsNaN(v.Num))
}

// valueOf converts a decoded Python value to an input value.
func valueOf(v any) (caresignal.Value, error) {
	switch v := v.(type) {
	case nil:
		return caresignal.NullValue(), nil
	case string:
		return caresignal.Str(v), nil
	}
	if f, ok := numberOf(v); ok {
		if math.IsNaN(f) {
			return caresignal.NullValue(), nil
		}
		return caresignal.Num(f), nil
	}
	return caresignal.Value{}, fmt.Errorf("a %s where a number or a str was expected", pickle.TypeName(v))
}

// arrayValues converts a numpy array to input values.
func arrayValues(a *pickle.Array) ([]caresignal.Value, error) {
	if a.DType.Kind == 'O' {
		out := make([]caresignal.Value, len(a.Objects))
		for i, o := range a.Objects {
			v, err := valueOf(o)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	if a.DType.Kind == 'U' {
		s, err := a.Strings()
		if err != nil {
			return nil, err
		}
		out := make([]caresignal.Value, len(s))
		for i := range s {
			out[i] = caresignal.Str(s[i])
		}
		return out, nil
	}
	f, err := a.Float64s()
	if err != nil {
		return nil, err
	}
	out := make([]caresignal.Value, len(f))
	for i, x := range f {
		if math.IsNaN(x) {
			out[i] = caresignal.NullValue()
		} else {
			out[i] = caresignal.Num(x)
		}
	}
	return out, nil
}

// expit is scipy.special.expit, 1/(1+e^−x).
func expit(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
