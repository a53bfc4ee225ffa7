package sklearn

import (
	"fmt"
	"math"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/pickle"
)

// logisticRegression is a binary LogisticRegression: P(class 1) =
// expit(x·coef + intercept).
type logisticRegression struct {
	coef      []float64
	intercept float64
}

func newLogisticRegression(o *pickle.Object) (*logisticRegression, error) {
	if err := binary(o); err != nil {
		return nil, err
	}
	a, ok := attr(o, "coef_").(*pickle.Array)
	if !ok || len(a.Shape) != 2 || a.Shape[0] != 1 {
		return nil, fmt.Errorf("LogisticRegression.coef_ is not a 1×p array")
	}
	coef, err := a.Float64s()
	if err != nil {
		return nil, err
	}
	ic, err := floatsAttr(o, "intercept_")
	if err != nil || len(ic) != 1 {
		return nil, fmt.Errorf("LogisticRegression.intercept_ is not one number")
	}
	return &logisticRegression{coef: coef, intercept: ic[0]}, nil
}

// binary checks that a classifier has the two classes 0 and 1.
func binary(o *pickle.Object) error {
	a, ok := attr(o, "classes_").(*pickle.Array)
	if !ok {
		return fmt.Errorf("%s is not fitted (no classes_)", o.Class.Name)
	}
	c, err := a.Float64s()
	if err != nil || len(c) != 2 || c[0] != 0 || c[1] != 1 {
		return fmt.Errorf("%s must be a binary classifier of 0 and 1 (drop-off or not); its classes are %v", o.Class.Name, c)
	}
	return nil
}

func (l *logisticRegression) proba(in []caresignal.Value) (float64, error) {
	if len(in) != len(l.coef) {
		return 0, fmt.Errorf("LogisticRegression was fitted on %d columns, got %d", len(l.coef), len(in))
	}
	z := 0.0
	for j, v := range in {
		x, err := num(v)
		if err != nil {
			return 0, fmt.Errorf("LogisticRegression input %d: %w", j, err)
		}
		if math.IsNaN(x) {
			return 0, fmt.Errorf("LogisticRegression input %d is missing (NaN); the pipeline must impute it", j)
		}
		z += x * l.coef[j]
	}
	return expit(z + l.intercept), nil
}
