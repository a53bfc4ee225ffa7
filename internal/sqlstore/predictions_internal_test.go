package sqlstore

import "testing"

func TestHasNUL(t *testing.T) {
	for items, want := range map[string]bool{
		`[{"patient_id":"P1"}]`:          false,
		"[{\"patient_id\":\"P\x00\"}]":   true,
		`[{"patient_id":"P\u0000"}]`:     true,
		`[{"patient_id":"P\\u0000"}]`:    false, // a backslash, then "u0000"
		`[{"patient_id":"P\\\u0000"}]`:   true,
		`[{"a":"\\u0000","b":"\u0000"}]`: true,
		`[{"patient_id":"P\u00001"}]`:    true,
		`[{"patient_id":"P\u0001"}]`:     false,
	} {
		if got := hasNUL([]byte(items)); got != want {
			t.Errorf("hasNUL(%s) = %v, want %v", items, got, want)
		}
	}
}
