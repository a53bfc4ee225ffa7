package sourcecsv

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal/synth"
)

// TestRoundTrip: the synthetic cohort written and read back is the same
// source, row for row (a missing baseline score included).
func TestRoundTrip(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.Patients = 300
	c, err := synth.Generate(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Write(dir, &c.Source); err != nil {
		t.Fatal(err)
	}
	var calls int
	got, err := Read(dir, func(done, total int) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, p := range got.Patients {
		if !p.BaselineScore.Valid {
			missing++
		}
	}
	if missing == 0 {
		t.Error("no patient without a baseline score: the empty cell is not tested")
	}
	want := c.Source
	want.Patients = slices.Clone(want.Patients)
	for i := range want.Patients {
		if !want.Patients[i].BaselineScore.Valid {
			want.Patients[i].BaselineScore.Float = 0 // what a NULL holds
		}
	}
	if !reflect.DeepEqual(got, &want) {
		t.Error("the source read back differs from the one written")
	}
	if calls == 0 {
		t.Error("no progress reported")
	}
}

const (
	patientsOK = "patient_id,enrolled_on,age,sex,program,channel,baseline_score,prior_no_shows,enrolled_via\n" +
		"P1,2026-01-05,54,F,diabetes,app,0.5,1,referral\nP2,2026-02-01,61,M,copd,sms,,0,self\n"
	eventsOK        = "patient_id,occurred_on,kind\nP1,2026-01-10,session\nP2,2026-02-03,message\n"
	disenrolmentsOK = "patient_id,disenrolled_on,reason\nP1,2026-03-01,disengaged\n"
)

// TestRefused: every kind of bad row is refused, naming the file, line
// and column, and nothing is returned.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"bad date", PatientsFile, strings.Replace(patientsOK, "2026-02-01", "01/02/2026", 1), `patients.csv:3: column "enrolled_on": "01/02/2026" is not a date`},
		{"bad age", PatientsFile, strings.Replace(patientsOK, ",54,", ",old,", 1), `patients.csv:2: column "age": "old" is not a whole number`},
		{"bad score", PatientsFile, strings.Replace(patientsOK, ",0.5,", ",high,", 1), `patients.csv:2: column "baseline_score": "high" is not a finite number`},
		{"empty sex", PatientsFile, strings.Replace(patientsOK, ",F,", ",,", 1), `patients.csv:2: column "sex": empty`},
		{"control character", PatientsFile, strings.Replace(patientsOK, "diabetes", "dia\x01betes", 1), `patients.csv:2: column "program": holds a control character`},
		{"invalid UTF-8", PatientsFile, strings.Replace(patientsOK, "copd", "co\xffpd", 1), `patients.csv:3: column "program": is not valid UTF-8`},
		{"duplicate patient", PatientsFile, patientsOK + "P1,2026-01-05,54,F,diabetes,app,0.5,1,referral\n", `patients.csv:4: column "patient_id": patient "P1" is listed twice`},
		{"missing column", PatientsFile, strings.Replace(patientsOK, ",enrolled_via", "", 1), `patients.csv:1: the header lacks column "enrolled_via"`},
		{"misspelt column", EventsFile, strings.Replace(eventsOK, "kind", "type", 1), `engagement_events.csv:1: column "type" is not one of the table's`},
		{"bad kind", EventsFile, strings.Replace(eventsOK, "message", "call", 1), `engagement_events.csv:3: column "kind": "call" is not session or message`},
		{"unknown patient", EventsFile, eventsOK + "P9,2026-02-03,session\n", `engagement_events.csv:4: column "patient_id": patient "P9" is not in patients.csv`},
		{"ragged row", EventsFile, eventsOK + "P1,2026-02-03\n", `engagement_events.csv:4: wrong number of fields`},
		{"before enrolment", DisenrolmentsFile, strings.Replace(disenrolmentsOK, "2026-03-01", "2025-12-31", 1), `disenrolments.csv:2: column "disenrolled_on": 2025-12-31 is before the patient's enrolment (2026-01-05)`},
		{"second disenrolment", DisenrolmentsFile, disenrolmentsOK + "P1,2026-04-01,transferred\n", `disenrolments.csv:3: column "patient_id": patient "P1" has a second disenrolment`},
		{"empty file", DisenrolmentsFile, "", "disenrolments.csv: the file is empty"},
		{"missing file", EventsFile, "", "engagement_events.csv is missing from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{PatientsFile: patientsOK, EventsFile: eventsOK, DisenrolmentsFile: disenrolmentsOK}
			files[tc.file] = tc.content
			for name, content := range files {
				if tc.name == "missing file" && name == tc.file {
					continue
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			src, err := Read(dir, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || src != nil {
				t.Errorf("got %v (source %v), want an error containing %q", err, src != nil, tc.want)
			}
		})
	}
}

// TestReadGood: the small files read as written; columns may come in any
// order; an empty score and NA are none.
func TestReadGood(t *testing.T) {
	dir := t.TempDir()
	reordered := "kind,patient_id,occurred_on\nsession,P1,2026-01-10\nmessage,P2,2026-02-03\n"
	for name, content := range map[string]string{PatientsFile: strings.Replace(patientsOK, ",,0,", ",NA,0,", 1), EventsFile: reordered, DisenrolmentsFile: disenrolmentsOK} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	src, err := Read(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Patients) != 2 || src.Patients[1].BaselineScore.Valid || src.Patients[0].BaselineScore.Float != 0.5 ||
		len(src.Events) != 2 || src.Events[1].Kind != "message" || !src.Events[0].OccurredOn.Equal(time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)) ||
		len(src.Disenrolments) != 1 || src.Disenrolments[0].Reason != "disengaged" {
		t.Errorf("read %+v", src)
	}
}
