package monitor

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
)

// OutreachRun says what followed the contacts with one scoring run's high
// band (its top tenth by risk): how many were contacted after the run was
// scored, what came of the latest contact, and how many dropped off since,
// contacted or not. Outreach is an intervention: a patient reached may
// stay because of the call, so the contacted patients' drop-offs no longer
// measure the model alone.
type OutreachRun struct {
	AsOf             time.Time      `json:"as_of"`
	Flagged          int            `json:"flagged"`
	Contacted        int            `json:"contacted"`
	ByOutcome        map[string]int `json:"by_outcome"`
	DroppedContacted int            `json:"dropped_contacted"`
	DroppedOthers    int            `json:"dropped_others"`
}

// outreach follows up the contacts of each run's high band in the scores
// table, one row per as-of date of the report's runs, newest first. Runs
// the scores table no longer holds (a load clears it) are left out.
func outreach(ctx context.Context, store caresignal.WorklistStore, runs []RunInfo) ([]OutreachRun, error) {
	var out []OutreachRun
	seen := map[time.Time]bool{}
	for i := len(runs) - 1; i >= 0; i-- {
		asOf := runs[i].AsOf
		if seen[asOf] {
			continue
		}
		seen[asOf] = true
		fu, err := store.ContactFollowUp(ctx, asOf)
		if caresignal.ErrorCode(err) == caresignal.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("following up contacts: %w", err)
		}
		if !fu.Run.AsOf.Equal(asOf) {
			continue // the scores table holds another run for that date
		}
		out = append(out, OutreachRun{AsOf: asOf, Flagged: fu.Flagged, Contacted: fu.Contacted, ByOutcome: fu.ByOutcome,
			DroppedContacted: fu.DroppedContacted, DroppedOthers: fu.DroppedOthers})
	}
	return out, nil
}

// Outcomes reads ByOutcome in words, in the order of
// caresignal.ContactOutcomes: "reached 2, no answer 1"; "—" for none.
func (o OutreachRun) Outcomes() string {
	var parts []string
	for _, k := range caresignal.ContactOutcomes {
		if n := o.ByOutcome[k]; n > 0 {
			parts = append(parts, caresignal.ContactOutcomeWords(k)+" "+strconv.Itoa(n))
		}
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ", ")
}
