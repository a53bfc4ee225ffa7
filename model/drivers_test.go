package model

import (
	"testing"

	"github.com/caresignal/caresignal"
)

// TestDrivers: a patient who has not come for two months has drivers in
// the spec's words, largest first, only those raising the risk by at
// least DriverMin, at most n; a missing value reads as the spec says.
func TestDrivers(t *testing.T) {
	m := small(t)
	inst := patient()
	inst.Features["sessions_last_month"] = caresignal.Num(0)
	inst.Features["days_since_last_session"] = caresignal.Num(61)
	p, err := m.Predict(&inst)
	if err != nil {
		t.Fatal(err)
	}
	all := m.Drivers(p.Explanation, 100)
	if len(all) == 0 || all[0].Words != "no session for 61 days" {
		t.Fatalf("drivers %+v: want the 61 days first", all)
	}
	for i, d := range all {
		if d.Contribution < DriverMin || (i > 0 && d.Contribution > all[i-1].Contribution) {
			t.Errorf("driver %d %+v: below %v or out of order", i, d, DriverMin)
		}
	}
	raising := 0
	for _, c := range p.Explanation {
		if c.Contribution >= DriverMin {
			raising++
		}
	}
	if len(all) != raising {
		t.Errorf("%d drivers of %d contributions at or above %v", len(all), raising, DriverMin)
	}
	if two := m.Drivers(p.Explanation, 2); len(two) != min(2, raising) || two[0] != all[0] {
		t.Errorf("two drivers: %+v", two)
	}
	if got := m.Driver(caresignal.Contribution{Feature: "sessions_last_month", Value: "1", Contribution: 0.2}).Words; got != "1 session in the last 30 days" {
		t.Errorf("one session: %q", got)
	}
	if got := m.Driver(caresignal.Contribution{Feature: "days_since_last_session", Value: "null", Contribution: 0.2}).Words; got != "no session yet" {
		t.Errorf("no session ever: %q", got)
	}
	if got := m.Driver(caresignal.Contribution{Feature: "not_in_the_spec", Value: "x", Contribution: 0.2}).Words; got != "not in the spec x" {
		t.Errorf("a feature the spec does not name: %q", got)
	}
}
