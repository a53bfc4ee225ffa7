package synth

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
)

func TestDeterministic(t *testing.T) {
	a, err := Generate(Sized(300, 8), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(Sized(300, 8), nil)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same config gave different cohorts")
	}
	c, _ := Generate(Sized(300, 9), nil)
	if reflect.DeepEqual(a.Source, c.Source) {
		t.Fatal("different seeds gave the same cohort")
	}
}

// TestTruthConsistent checks the generator's own bookkeeping: rows run
// month 1, 2, … per patient; each patient ends with one status that is not
// "survived" unless they were followed to a completed month; drop-offs are
// disenrolments with the disengaged reason; features are in range.
func TestTruthConsistent(t *testing.T) {
	cfg := Sized(2000, 4)
	cfg.TransferRate = 0.05
	c, err := Generate(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, d := range c.Source.Disenrolments {
		reasons[d.PatientID] = d.Reason
	}
	last := map[string]TruthRow{}
	for i, r := range c.Truth {
		if i > 0 && c.Truth[i-1].PatientID == r.PatientID && c.Truth[i-1].Month != r.Month-1 {
			t.Fatalf("%s: month %d follows %d", r.PatientID, r.Month, c.Truth[i-1].Month)
		}
		if r.Hazard <= 0 || r.Hazard >= 1 || r.SessionsLastMonth < 0 || r.DaysSinceLastSession < 1 || r.MessagesLastMonth < 0 {
			t.Fatalf("row out of range: %+v", r)
		}
		last[r.PatientID] = r
	}
	counts := map[caresignal.Status]int{}
	for id, r := range last {
		counts[r.Status]++
		switch r.Status {
		case caresignal.StatusEvent:
			if reasons[id] != caresignal.ReasonDisengaged {
				t.Fatalf("%s dropped off without a disengaged disenrolment", id)
			}
		case caresignal.StatusCensored:
			if reasons[id] != caresignal.ReasonTransferred {
				t.Fatalf("%s censored without a transfer", id)
			}
		case caresignal.StatusSurvived:
			t.Fatalf("%s's last row is survived: every patient ends current, event, censored or incomplete", id)
		}
	}
	if len(last) != 2000 || counts[caresignal.StatusCurrent] == 0 || counts[caresignal.StatusEvent] == 0 || counts[caresignal.StatusCensored] == 0 {
		t.Fatalf("final statuses %v over %d patients", counts, len(last))
	}
	// The mean true hazard of month-1 rows is near its expectation under
	// the truth: a check that the hazard formula uses the features.
	var sum, n float64
	for _, r := range c.Truth {
		if r.Month == 1 {
			sum += r.Hazard
			n++
		}
	}
	if m := sum / n; m < 0.02 || m > 0.2 || math.IsNaN(m) {
		t.Fatalf("mean month-1 hazard %v is implausible", m)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := func(edit func(*Config)) Config {
		c := DefaultConfig()
		edit(&c)
		return c
	}
	for _, c := range []Config{
		bad(func(c *Config) { c.Patients = 0 }),
		bad(func(c *Config) { c.Patients = MaxPatients + 1 }),
		bad(func(c *Config) { c.EnrolmentMonths = 0 }),
		bad(func(c *Config) { c.TransferRate = 1 }),
		bad(func(c *Config) { c.TransferRate = math.NaN() }),
		bad(func(c *Config) { c.MissingBaseline = -0.1 }),
		bad(func(c *Config) { c.AsOf = time.Time{} }),
	} {
		if _, err := Generate(c, nil); caresignal.ErrorCode(err) != caresignal.EINVALID {
			t.Errorf("Generate(%+v) error = %v, want EINVALID", c, err)
		}
	}
}
