package model

import (
	"math"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model/sklearn"
)

func TestPeriodEncodingLevels(t *testing.T) {
	num := func(xs ...float64) []caresignal.Value {
		out := make([]caresignal.Value, len(xs))
		for i, x := range xs {
			out[i] = caresignal.Num(x)
		}
		return out
	}
	str := func(xs ...string) []caresignal.Value {
		out := make([]caresignal.Value, len(xs))
		for i, x := range xs {
			out[i] = caresignal.Str(x)
		}
		return out
	}
	for _, tc := range []struct {
		levels []caresignal.Value
		want   string // the fitted months, or the error
		text   bool
	}{
		{num(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), "1–12", false},
		{num(1, 2, 3, 5, 7, 8), "1–3, 5, 7–8", false},
		{append(num(1, 2), caresignal.Num(math.NaN())), "1–2", false}, // a missing-value category
		{str("1", "10", "2"), "1–2, 10", true},
		{str("01", "02"), `levels ["01", "02"], which are not month numbers`, false},
		{str("m1", "m2"), "not month numbers", false},
		{num(1, 1.5), "not month numbers", false},
		{append(num(1), caresignal.Str("2")), "not month numbers", false},
		{nil, "not month numbers", false},
	} {
		pe, err := newPeriodEncoding("month", sklearn.Encoding{Encoder: "OneHotEncoder", Levels: tc.levels})
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = monthRanges(pe.months)
			if pe.text != tc.text {
				t.Errorf("%v: text %v", tc.levels, pe.text)
			}
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%v: %q, want %q", tc.levels, got, tc.want)
		}
	}
}

// TestPeriodRefusalNamesTheHorizon: a month a refusing encoder does not
// know ends the horizon; the error says how far the patient can be scored.
func TestPeriodRefusalNamesTheHorizon(t *testing.T) {
	pe := &periodEncoding{column: "month", months: []int{1, 2, 3}, enc: sklearn.Encoding{Encoder: "OrdinalEncoder", Refuses: true, HandleUnknown: "error"}}
	err := pe.refuse(4, 2, 1)
	if caresignal.ErrorField(err) != "horizon" || !strings.Contains(err.Error(), `month 4 is not among the months the model was fitted on for month (1–3), and its OrdinalEncoder refuses any other month (handle_unknown="error"): with months_enrolled 1 the horizon can be at most 2`) {
		t.Errorf("%v (field %s)", err, caresignal.ErrorField(err))
	}
	if err := pe.refuse(4, 0, 3); caresignal.ErrorField(err) != "months_enrolled" || !strings.Contains(err.Error(), "cannot score a patient with months_enrolled 3") {
		t.Errorf("%v", err)
	}
}
