package monitor

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
)

// ExpectedMonth compares, for one predicted month of one scoring run (and
// one group of its patients), the drop-offs the model expected with those
// that happened.
//
// The patients counted are those at risk when the month began (enrolled
// at its start, known without any outcome of the month itself). Expected
// is the sum of their predicted hazards for the month: by linearity the
// mean of the number of drop-offs, whatever the dependence between
// patients. Under the model, with patients independent, that number
// follows a Poisson-binomial distribution with those hazards as its
// probabilities; the interval is its central interval at Level, computed
// over the patients whose month is complete (Resolved), and a realised
// count outside it is flagged. Hazards of months after the first hold
// time-varying features at their values at scoring, as every prediction
// does.
type ExpectedMonth struct {
	Run     string    `json:"run"`
	AsOf    time.Time `json:"as_of"`
	Month   int       `json:"month"` // predicted month of the run given (see FullMonths for the report's convention)
	Group   string    `json:"group"` // "all", or "feature=level"
	AtRisk  int       `json:"at_risk"`
	Pending int       `json:"pending"` // at risk, month not complete yet
	// Expected sums the hazards of every patient at risk: known as soon as
	// the month begins.
	Expected float64 `json:"expected"`
	// Resolved counts the patients at risk whose month is complete;
	// ExpectedResolved sums their hazards; Realised counts their drop-offs.
	Resolved         int     `json:"resolved"`
	ExpectedResolved float64 `json:"expected_resolved"`
	Realised         *int    `json:"realised"` // nil while no patient's month is complete
	// Lower and Upper bound the Poisson-binomial central interval of the
	// realised count at Level; PValue is its two-sided p-value.
	Lower  *int     `json:"lower,omitempty"`
	Upper  *int     `json:"upper,omitempty"`
	PValue *float64 `json:"p_value,omitempty"`
	Level  float64  `json:"level"`
	// Flag: the realised count is outside the interval; for a group, see
	// FlagGroups.
	Flag bool `json:"flag"`
}

// Label names the row for people: the run's date, the month when not the
// first, and the group.
func (e *ExpectedMonth) Label() string {
	l := "scored " + e.AsOf.Format(time.DateOnly)
	if e.Month > 1 {
		l += fmt.Sprintf(" · month %d", e.Month)
	}
	if e.Group != "all" {
		l += " · " + e.Group
	}
	return l
}

// ExpectedVsRealised compares expected and realised drop-offs for months
// 1..months of a run, overall and per level of the feature groupBy (when
// not empty). outcomes are the run's patients' follow-ups, in order; nil
// before any follow-up, when only the expected counts are known.
func ExpectedVsRealised(run *ScoreRun, outcomes []Outcome, months int, groupBy string, level float64) ([]ExpectedMonth, error) {
	if outcomes != nil && len(outcomes) != len(run.Patients) {
		return nil, fmt.Errorf("%d outcomes for %d patients", len(outcomes), len(run.Patients))
	}
	if !(level > 0 && level < 1) {
		return nil, caresignal.Invalidf("level", "the interval level must be between 0 and 1, got %g", level)
	}
	groups := []string{"all"}
	member := make([]string, len(run.Patients))
	if groupBy != "" {
		seen := map[string]bool{}
		for i := range run.Patients {
			member[i] = groupBy + "=" + valueLabel(run.Patients[i].Features[groupBy])
			if !seen[member[i]] {
				seen[member[i]] = true
				groups = append(groups, member[i])
			}
		}
		slices.Sort(groups[1:])
	}
	var out []ExpectedMonth
	for k := 1; k <= months; k++ {
		for _, g := range groups {
			row := ExpectedMonth{Run: run.ID, AsOf: run.AsOf, Month: k, Group: g, Level: level}
			var p []float64
			realised := 0
			for i := range run.Patients {
				if g != "all" && member[i] != g {
					continue
				}
				pt := &run.Patients[i]
				if k > len(pt.Hazard) {
					continue
				}
				status := Pending
				if outcomes != nil {
					status = outcomes[i].Month(k)
				} else if k > 1 {
					// Without follow-up, only the first month's population
					// is known.
					continue
				}
				if status == NotAtRisk {
					continue
				}
				h := pt.Hazard[k-1]
				row.AtRisk++
				row.Expected += h
				switch status {
				case Pending:
					row.Pending++
				case Dropped:
					realised++
					fallthrough
				case Stayed:
					row.Resolved++
					row.ExpectedResolved += h
					p = append(p, h)
				}
			}
			if row.AtRisk == 0 {
				continue
			}
			if row.Resolved > 0 {
				d, err := eval.NewPoissonBinomial(p)
				if err != nil {
					return nil, err
				}
				lo, hi, err := d.Interval(level)
				if err != nil {
					return nil, err
				}
				pv := d.PValue(realised)
				row.Realised, row.Lower, row.Upper, row.PValue = &realised, &lo, &hi, &pv
				row.Flag = realised < lo || realised > hi
			}
			out = append(out, row)
		}
	}
	FlagGroups(out, level)
	return out, nil
}

// FlagGroups sets the flag of every group row (not "all") with a realised
// count: a group is flagged only when its p-value is below 1 − level
// divided by the number of such rows (Bonferroni), so that many groups and
// months do not raise an alarm by chance.
func FlagGroups(rows []ExpectedMonth, level float64) {
	tests := 0
	for i := range rows {
		if rows[i].Group != "all" && rows[i].PValue != nil {
			tests++
		}
	}
	for i := range rows {
		if e := &rows[i]; e.Group != "all" && e.PValue != nil {
			e.Flag = *e.PValue < (1-level)/float64(tests)
		}
	}
}

// valueLabel is a feature value as a group label.
func valueLabel(v caresignal.Value) string {
	switch v.Kind {
	case caresignal.String:
		return v.Str
	case caresignal.Number:
		if v.Num == math.Trunc(v.Num) && math.Abs(v.Num) < 1e15 {
			return strconv.FormatInt(int64(v.Num), 10)
		}
		return strconv.FormatFloat(v.Num, 'g', 6, 64)
	default:
		return "(missing)"
	}
}
