package model

import (
	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
)

// DriverMin is the least contribution (to the log-odds or log-hazard of
// next month's drop-off) a feature needs to count as a driver of a score:
// a twentieth, about a 5% change in the odds.
const DriverMin = 0.05

// Drivers returns the features of an explanation (largest in magnitude
// first, as Predict gives it) that raise the risk by at least DriverMin,
// at most n of them, each with its words. A model without explanations
// has none.
func (m *Model) Drivers(expl []caresignal.Contribution, n int) []caresignal.Driver {
	var out []caresignal.Driver
	for _, c := range expl {
		if len(out) == n {
			break
		}
		if c.Contribution >= DriverMin {
			out = append(out, m.Driver(c))
		}
	}
	return out
}

// Driver is one contribution of an explanation with its words: the
// feature spec's words for a native model, "<name> <value>" otherwise.
func (m *Model) Driver(c caresignal.Contribution) caresignal.Driver {
	d := caresignal.Driver{Feature: c.Feature, Value: c.Value, Contribution: c.Contribution}
	missing := c.Value == "" || c.Value == "null" || c.Value == "missing" // native, imported
	if m.Features != nil {
		for i := range m.Features.Spec.Features {
			if f := &m.Features.Spec.Features[i]; f.Name == c.Feature {
				d.Words = f.Say(c.Value, missing)
				return d
			}
		}
	}
	d.Words = (&feature.Feature{Name: c.Feature}).Say(c.Value, missing)
	return d
}
