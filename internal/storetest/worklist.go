package storetest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
)

// testWorklist checks the worklist's filters, orders, paging and search
// against the same selection made in Go, the comparison with the previous
// run, drivers and bands round-tripping, and contacts.
func testWorklist(t *testing.T, open Opener) {
	ctx := context.Background()
	s, c := loaded(t, open)
	if _, err := s.Worklist(ctx, caresignal.WorklistQuery{}); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		t.Fatalf("Worklist before any run: %v, want ENOTFOUND", err)
	}
	model := caresignal.ModelInfo{Name: "engagement", Version: "v1"}
	prevRun := caresignal.ScoreRun{Model: model, AsOf: c.Config.AsOf.AddDate(0, 0, -7), ScoredAt: time.Date(2026, 10, 25, 6, 0, 0, 0, time.UTC), Horizon: 12}
	run := caresignal.ScoreRun{Model: model, AsOf: c.Config.AsOf, ScoredAt: time.Date(2026, 11, 1, 6, 0, 0, 500_000, time.UTC), Horizon: 12}
	patients := c.Source.Patients[:200]
	byID := map[string]caresignal.Patient{}
	var prevScores, scores []caresignal.Score
	for i, p := range patients {
		byID[p.ID] = p
		sc := caresignal.Score{PatientID: p.ID, MonthsEnrolled: i % 9, HazardNext: float64((i*37)%200) / 1000, Risk30: float64((i*41)%200) / 999,
			SurvivalEnd: 0.5, ExpectedMonths: float64((i*53)%120) / 10}
		sc.Band = caresignal.BandOfRank((i*7)%200, 200) // any assignment: the store keeps what it is given
		if i%3 == 0 {
			sc.Drivers = []caresignal.Driver{{Feature: "days_since_last_session", Value: "45", Contribution: 0.61, Words: "no session for 45 days"},
				{Feature: "program", Value: "copd", Contribution: 0.2, Words: `in the "copd" program`}}
		}
		scores = append(scores, sc)
		if i%4 != 0 { // a quarter are new since the previous run
			ps := sc
			ps.HazardNext /= 2
			ps.Risk30 /= 3
			ps.Band = caresignal.Bands[(i/4)%3]
			ps.Drivers = nil
			prevScores = append(prevScores, ps)
		}
	}
	if err := s.ReplaceScores(ctx, prevRun, prevScores); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceScores(ctx, run, scores); err != nil {
		t.Fatal(err)
	}
	prevByID := map[string]caresignal.Score{}
	for _, ps := range prevScores {
		prevByID[ps.PatientID] = ps
	}
	// want applies q in Go.
	want := func(q caresignal.WorklistQuery) []string {
		var sel []caresignal.Score
		for _, sc := range scores {
			p := byID[sc.PatientID]
			prev, hadPrev := prevByID[sc.PatientID]
			isNew := !hadPrev || sc.Band.Level() < prev.Band.Level()
			if (q.Program != "" && p.Program != q.Program) || (q.Channel != "" && p.Channel != q.Channel) || (q.Band != "" && sc.Band != q.Band) ||
				(q.New && !isNew) || (q.PatientID != "" && !strings.Contains(strings.ToUpper(sc.PatientID), strings.ToUpper(q.PatientID))) {
				continue
			}
			sel = append(sel, sc)
		}
		slices.SortFunc(sel, func(a, b caresignal.Score) int {
			if q.Sort == caresignal.SortLost && a.ExpectedMonths != b.ExpectedMonths {
				return compare(a.ExpectedMonths, b.ExpectedMonths)
			}
			if a.Risk30 != b.Risk30 {
				return compare(b.Risk30, a.Risk30)
			}
			return strings.Compare(a.PatientID, b.PatientID)
		})
		var ids []string
		for _, sc := range sel {
			ids = append(ids, sc.PatientID)
		}
		return ids
	}
	program, channel := patients[0].Program, patients[1].Channel
	search := patients[17].ID[len(patients[17].ID)-3:]
	queries := []caresignal.WorklistQuery{
		{},
		{Sort: caresignal.SortLost},
		{Program: program},
		{Program: program, Channel: channel, Band: caresignal.BandMedium},
		{Band: caresignal.BandHigh, Sort: caresignal.SortLost},
		{New: true},
		{PatientID: strings.ToLower(search)},
		{Program: program, Offset: 10, Limit: 7},
		{Offset: 195, Limit: 50},
		{PatientID: "no such patient"},
	}
	for _, q := range queries {
		wl, err := s.Worklist(ctx, q)
		if err != nil {
			t.Fatalf("Worklist(%+v): %v", q, err)
		}
		all := want(q)
		page := all
		if q.Limit > 0 {
			page = all[min(q.Offset, len(all)):min(q.Offset+q.Limit, len(all))]
		}
		var got []string
		for _, r := range wl.Rows {
			got = append(got, r.PatientID)
		}
		if wl.Total != len(all) || !slices.Equal(got, page) {
			t.Errorf("Worklist(%+v): total %d, rows %v; want total %d, rows %v", q, wl.Total, got, len(all), page)
		}
	}
	wl, err := s.Worklist(ctx, caresignal.WorklistQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if wl.Previous == nil || !wl.Previous.AsOf.Equal(prevRun.AsOf) || !wl.Run.ScoredAt.Equal(run.ScoredAt) {
		t.Errorf("runs: %+v and previous %+v, want as of %s and %s", wl.Run, wl.Previous, run.AsOf, prevRun.AsOf)
	}
	if len(wl.Programs) < 2 || !slices.Contains(wl.Programs, program) || !slices.Contains(wl.Channels, channel) {
		t.Errorf("levels for the filters: %v and %v", wl.Programs, wl.Channels)
	}
	for _, r := range wl.Rows {
		sc := scores[slices.IndexFunc(scores, func(x caresignal.Score) bool { return x.PatientID == r.PatientID })]
		if r.Band != sc.Band || !slices.Equal(r.Drivers, sc.Drivers) || r.Program != byID[r.PatientID].Program || r.Channel != byID[r.PatientID].Channel {
			t.Fatalf("row %s = %+v, stored %+v", r.PatientID, r, sc)
		}
		prev, had := prevByID[r.PatientID]
		if had != (r.PreviousRisk != nil) || (had && (*r.PreviousRisk != prev.Risk30 || r.PreviousBand != prev.Band)) {
			t.Fatalf("row %s: previous risk %v band %q, want %v (%v) %q", r.PatientID, r.PreviousRisk, r.PreviousBand, prev.Risk30, had, prev.Band)
		}
		if r.HazardNext != sc.HazardNext || r.Risk30 != sc.Risk30 {
			t.Fatalf("row %s: hazard %v, risk %v; stored %v, %v", r.PatientID, r.HazardNext, r.Risk30, sc.HazardNext, sc.Risk30)
		}
	}
	for _, q := range []caresignal.WorklistQuery{{Sort: "oldest"}, {Band: "severe"}, {Offset: -1}} {
		if _, err := s.Worklist(ctx, q); caresignal.ErrorCode(err) != caresignal.EINVALID {
			t.Errorf("Worklist(%+v): %v, want EINVALID", q, err)
		}
	}

	// A patient's scores over time, oldest run first.
	id := patients[5].ID
	hist, err := s.PatientScores(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || !hist[0].Run.AsOf.Equal(prevRun.AsOf) || hist[1].HazardNext != scores[5].HazardNext || hist[0].HazardNext != prevByID[id].HazardNext || hist[1].Risk30 != scores[5].Risk30 {
		t.Errorf("PatientScores(%s) = %+v", id, hist)
	}
	if hist, err := s.PatientScores(ctx, "nobody"); err != nil || len(hist) != 0 {
		t.Errorf("PatientScores(nobody) = %v, %v; want none", hist, err)
	}

	// Contacts: recorded, listed newest first, the latest on the list.
	at := run.ScoredAt.Add(time.Hour)
	for i, outcome := range []string{caresignal.ContactNoAnswer, caresignal.ContactReached} {
		got, err := s.RecordContact(ctx, caresignal.Contact{PatientID: id, At: at.Add(time.Duration(i) * time.Minute), Outcome: outcome, Note: fmt.Sprintf("call %d, ünïcode ok", i+1), By: "nurse-a"})
		if err != nil || got.ID == 0 {
			t.Fatalf("RecordContact: %+v, %v", got, err)
		}
	}
	bad := []caresignal.Contact{
		{PatientID: id, At: at, Outcome: "maybe", By: "n"},
		{PatientID: id, At: at, Outcome: caresignal.ContactReached, Note: strings.Repeat("é", caresignal.MaxContactNote+1), By: "n"},
		{PatientID: id, At: at, Outcome: caresignal.ContactReached},
	}
	for _, b := range bad {
		if _, err := s.RecordContact(ctx, b); caresignal.ErrorCode(err) != caresignal.EINVALID {
			t.Errorf("RecordContact(%.60v): %v, want EINVALID", b, err)
		}
	}
	if _, err := s.RecordContact(ctx, caresignal.Contact{PatientID: "nobody", At: at, Outcome: caresignal.ContactReached, By: "n"}); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		t.Errorf("RecordContact for an unknown patient: %v, want ENOTFOUND", err)
	}
	if _, err := s.RecordContact(ctx, caresignal.Contact{PatientID: id, At: at, Outcome: caresignal.ContactReached, Note: strings.Repeat("é", caresignal.MaxContactNote), By: "n"}); err != nil {
		t.Errorf("a note of exactly %d characters: %v", caresignal.MaxContactNote, err)
	}
	cs, err := s.Contacts(ctx, id)
	if err != nil || len(cs) != 3 || cs[0].Outcome != caresignal.ContactReached || cs[1].Outcome != caresignal.ContactReached || cs[2].Outcome != caresignal.ContactNoAnswer ||
		cs[2].Note != "call 1, ünïcode ok" || !cs[2].At.Equal(at) || cs[0].By != "nurse-a" || cs[1].By != "n" {
		for _, c := range cs {
			t.Errorf("contact %d at %s: %s by %s, note of %d bytes", c.ID, c.At, c.Outcome, c.By, len(c.Note))
		}
		t.Errorf("Contacts: %v; want reached at %s and at %s (the later id first), no answer at %s", err, at.Add(time.Minute), at, at)
	}
	wl, err = s.Worklist(ctx, caresignal.WorklistQuery{PatientID: id})
	if err != nil || len(wl.Rows) == 0 {
		t.Fatal(err)
	}
	for _, r := range wl.Rows {
		if (r.PatientID == id) != (r.LastContact != nil) || (r.LastContact != nil && r.LastContact.ID != cs[0].ID) {
			t.Errorf("row %s: last contact %+v", r.PatientID, r.LastContact)
		}
	}
	all, err := s.Worklist(ctx, caresignal.WorklistQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all.Rows); n != len(scores) {
		t.Errorf("unpaged worklist: %d rows, want %d", n, len(scores))
	}

	// Within one second, contacts still come newest first (SQLite keeps
	// their times as text).
	other := patients[6].ID
	second := at.Truncate(time.Second).Add(time.Second)
	for _, ms := range []int{100, 120, 5} {
		if _, err := s.RecordContact(ctx, caresignal.Contact{PatientID: other, At: second.Add(time.Duration(ms) * time.Millisecond), Outcome: caresignal.ContactReached, Note: strconv.Itoa(ms), By: "n"}); err != nil {
			t.Fatal(err)
		}
	}
	if cs, err := s.Contacts(ctx, other); err != nil || len(cs) != 3 || cs[0].Note != "120" || cs[1].Note != "100" || cs[2].Note != "5" {
		t.Errorf("contacts at .100, .120 and .005 s: %+v, %v; want the .120 first", cs, err)
	}
	if wl, err := s.Worklist(ctx, caresignal.WorklistQuery{PatientID: other}); err != nil || len(wl.Rows) == 0 || wl.Rows[0].LastContact == nil || wl.Rows[0].LastContact.Note != "120" {
		t.Errorf("the worklist's last contact of %s: %v", other, err)
	}

	// Follow-up of the high band: the contacts after the run was scored.
	fu, err := s.ContactFollowUp(ctx, run.AsOf)
	if err != nil {
		t.Fatal(err)
	}
	highs, contacted := 0, 0
	for _, sc := range scores {
		if sc.Band == caresignal.BandHigh {
			highs++
			if sc.PatientID == id {
				contacted++
			}
		}
	}
	if fu.Flagged != highs || fu.Contacted != contacted || !fu.Run.AsOf.Equal(run.AsOf) || (contacted == 1 && fu.ByOutcome[caresignal.ContactReached] != 1) {
		t.Errorf("ContactFollowUp = %+v; want %d flagged, %d contacted", fu, highs, contacted)
	}
	if fu, err := s.ContactFollowUp(ctx, prevRun.AsOf); err != nil || !fu.Run.AsOf.Equal(prevRun.AsOf) || fu.Contacted != 0 {
		t.Errorf("ContactFollowUp of the previous run = %+v, %v; want that run, its contacts counted once per patient", fu, err)
	}
	if _, err := s.ContactFollowUp(ctx, prevRun.AsOf.AddDate(0, 0, -1)); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		t.Errorf("ContactFollowUp before any run: %v, want ENOTFOUND", err)
	}

	// Contacts outlive a load that replaces the source tables.
	load(t, s, c)
	if cs, err := s.Contacts(ctx, id); err != nil || len(cs) != 3 {
		t.Errorf("contacts after a load: %d, %v; want 3 kept", len(cs), err)
	}
}

// testPatientNow checks one patient's row against the prediction extract.
func testPatientNow(t *testing.T, open Opener) {
	ctx := context.Background()
	s, c := loaded(t, open)
	if _, err := s.RunELT(ctx, c.Config.AsOf); err != nil {
		t.Fatal(err)
	}
	x, err := s.PredictionExtract(ctx)
	if err != nil {
		t.Fatal(err)
	}
	enrolled := map[string]time.Time{}
	for _, p := range c.Source.Patients {
		enrolled[p.ID] = p.EnrolledOn
	}
	for _, i := range []int{0, len(x.Rows) / 2, len(x.Rows) - 1} {
		want := x.Rows[i]
		got, err := s.PatientNow(ctx, want.PatientID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Columns, x.Columns) || got.Row.Month != want.Month || !slices.Equal(got.Row.Values, want.Values) ||
			!got.EnrolledOn.Equal(enrolled[want.PatientID]) || !got.AsOf.Equal(c.Config.AsOf) {
			t.Errorf("PatientNow(%s) = %+v, want %+v enrolled %s", want.PatientID, got, want, enrolled[want.PatientID])
		}
	}
	if _, err := s.PatientNow(ctx, "nobody"); caresignal.ErrorCode(err) != caresignal.ENOTFOUND {
		t.Errorf("PatientNow(nobody): %v, want ENOTFOUND", err)
	}
}

func compare(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
