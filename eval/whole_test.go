package eval

import (
	"encoding/json"
	"testing"
)

// TestNumericReferenceWhole: a reference records whether every value was
// a whole number, and a reference saved without the field reads false.
func TestNumericReferenceWhole(t *testing.T) {
	for _, c := range []struct {
		values []float64
		whole  bool
	}{
		{[]float64{0, 1, 1, 2, 14}, true},
		{[]float64{-3, 1e9}, true},
		{[]float64{0, 1, 1.5}, false},
		{[]float64{0.25}, false},
		{nil, false},
	} {
		if r := NewNumericReference(c.values, 1); r.Whole != c.whole {
			t.Errorf("%v: whole %v", c.values, r.Whole)
		}
	}
	var r NumericReference
	if err := json.Unmarshal([]byte(`{"n": 1, "missing": 0, "missing_share": 0, "percentiles": [1]}`), &r); err != nil || r.Whole {
		t.Errorf("an older reference: whole %v, %v", r.Whole, err)
	}
}
