package monitor

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
)

func ppRow(id string, month int, st caresignal.Status) caresignal.ExtractRow {
	return caresignal.ExtractRow{PatientID: id, Month: month, Status: st, Event: st == caresignal.StatusEvent}
}

// TestFollowUp walks each kind of ending through the ELT's statuses.
func TestFollowUp(t *testing.T) {
	const (
		ev  = caresignal.StatusEvent
		sv  = caresignal.StatusSurvived
		ce  = caresignal.StatusCensored
		cur = caresignal.StatusCurrent
		inc = caresignal.StatusIncomplete
	)
	pp := &caresignal.Extract{Rows: []caresignal.ExtractRow{
		ppRow("A", 1, sv), ppRow("A", 2, sv), ppRow("A", 3, ev), // scored in month 2: drop in its 2nd month
		ppRow("B", 4, sv), ppRow("B", 5, ce), // scored in month 4: transfer at the end of its 2nd
		ppRow("C", 3, sv), ppRow("C", 4, cur), // scored in month 3: one month complete, the next in progress
		ppRow("D", 7, cur), // scored in month 7: still in progress
		ppRow("E", 2, ev),  // scored in month 2: drop in its first
		ppRow("F", 1, inc), // left during a month in progress
	}}
	// Rows arrive in any order.
	pp.Rows[0], pp.Rows[2] = pp.Rows[2], pp.Rows[0]
	patients := []Scored{{PatientID: "A", MonthsEnrolled: 1}, {PatientID: "B", MonthsEnrolled: 3}, {PatientID: "C", MonthsEnrolled: 2},
		{PatientID: "D", MonthsEnrolled: 6}, {PatientID: "E", MonthsEnrolled: 1}, {PatientID: "F", MonthsEnrolled: 0}, {PatientID: "G", MonthsEnrolled: 0}}
	got, err := FollowUp(pp, patients, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Outcome{{Time: 2, Event: true}, {Time: 2}, {Time: 1, Open: true}, {Time: 0, Open: true}, {Time: 1, Event: true}, {Time: 0, Open: true}, {}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("patient %s: %+v, want %+v", patients[i].PatientID, got[i], want[i])
		}
	}
	status := func(o Outcome, k int) MonthStatus { return o.Month(k) }
	for _, c := range []struct {
		o    Outcome
		k    int
		want MonthStatus
	}{
		{want[0], 1, Stayed}, {want[0], 2, Dropped}, {want[0], 3, NotAtRisk},
		{want[1], 2, Stayed}, {want[1], 3, NotAtRisk},
		{want[2], 1, Stayed}, {want[2], 2, Pending}, {want[2], 3, NotAtRisk},
		{want[3], 1, Pending}, {want[4], 1, Dropped}, {want[4], 2, NotAtRisk}, {want[6], 1, NotAtRisk},
	} {
		if s := status(c.o, c.k); s != c.want {
			t.Errorf("%+v month %d: %d, want %d", c.o, c.k, s, c.want)
		}
	}

	// A gap in a scored patient's months is an error, not a guess.
	gap := &caresignal.Extract{Rows: []caresignal.ExtractRow{ppRow("A", 2, sv), ppRow("A", 4, ev)}}
	if _, err := FollowUp(gap, patients[:1], nil); caresignal.ErrorCode(err) != caresignal.EINVALID {
		t.Errorf("a gap: %v", err)
	}

	// Pseudonymised logs match through the key.
	key := []byte("a-key-of-some-length")
	pseudo := []Scored{{PatientID: "h:" + "x"}}
	if o, _ := FollowUp(pp, pseudo, key); o[0] != (Outcome{}) {
		t.Errorf("an unknown pseudonym matched: %+v", o[0])
	}
}

// TestExpectedCoverage: when outcomes are drawn from the predicted
// hazards, the realised count falls outside the 95% Poisson-binomial
// interval in at most about 5% of months; when the true hazard is 1.5
// times the predicted one, nearly always.
func TestExpectedCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const patients, months = 2000, 6
	run := &ScoreRun{ID: "r", AsOf: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	for i := range patients {
		h := make([]float64, months)
		for k := range h {
			h[k] = 0.01 + 0.1*rng.Float64()
		}
		prog := "a"
		if i%3 == 0 {
			prog = "b"
		}
		run.Patients = append(run.Patients, Scored{PatientID: "P", Hazard: h, Features: map[string]caresignal.Value{"program": caresignal.Str(prog)}})
	}
	simulate := func(mult float64) []Outcome {
		out := make([]Outcome, patients)
		for i, p := range run.Patients {
			o := Outcome{Time: months, Open: true}
			for k, h := range p.Hazard {
				if rng.Float64() < math.Min(1, mult*h) {
					o = Outcome{Time: k + 1, Event: true}
					break
				}
			}
			out[i] = o
		}
		return out
	}
	flagged, rows := 0, 0
	for range 40 {
		rs, err := ExpectedVsRealised(run, simulate(1), months, "", 0.95)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			rows++
			if r.Flag {
				flagged++
			}
			if r.Pending != 0 || r.Realised == nil || r.Resolved != r.AtRisk {
				t.Fatalf("row %+v", r)
			}
		}
	}
	if rate := float64(flagged) / float64(rows); rate > 0.09 {
		t.Errorf("calibrated hazards flagged in %.1f%% of %d months", 100*rate, rows)
	}
	rs, err := ExpectedVsRealised(run, simulate(1.5), months, "program", 0.95)
	if err != nil {
		t.Fatal(err)
	}
	flagged = 0
	groups := map[string]bool{}
	for _, r := range rs {
		groups[r.Group] = true
		if r.Group == "all" && r.Flag {
			flagged++
		}
		if *r.Realised <= int(r.ExpectedResolved) && r.Group == "all" {
			t.Errorf("month %d: realised %d not above expected %.1f", r.Month, *r.Realised, r.ExpectedResolved)
		}
	}
	if flagged < months-1 || len(groups) != 3 || !groups["program=a"] || !groups["program=b"] {
		t.Errorf("a 1.5× hazard flagged in %d of %d months; groups %v", flagged, months, groups)
	}

	// Before follow-up: the first month's expected count, nothing realised.
	rs, err = ExpectedVsRealised(run, nil, months, "", 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Realised != nil || rs[0].Pending != patients || rs[0].Flag || rs[0].Expected <= 0 {
		t.Errorf("without follow-up: %+v", rs)
	}
	if _, err := ExpectedVsRealised(run, nil, 1, "", 1.5); caresignal.ErrorCode(err) != caresignal.EINVALID {
		t.Errorf("level 1.5: %v", err)
	}
}
