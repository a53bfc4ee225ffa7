package monitor

import (
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
)

// TestReadSubjects: a good file reads, and each kind of bad one is refused
// naming its line and column, without quoting the value.
func TestReadSubjects(t *testing.T) {
	m, _ := testModel(t)
	header := "id,t,e,age,sex,program,channel,baseline_score,prior_no_shows,enrolled_via,sessions_last_month,days_since_last_session,messages_last_month\n"
	row := func(id, dur, ev, age string) string {
		return id + "," + dur + "," + ev + "," + age + ",F,diabetes,app,0.5,1,referral,3,6,4\n"
	}
	cols := SubjectColumns{ID: "id", Duration: "t", Event: "e", PeriodLength: 30}
	subs, err := ReadSubjects(strings.NewReader("\ufeff"+header+row("A", "90", "1", "50")+row("B", "15", "0", "NA")), cols, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 2 || subs[0].Time != 3 || !subs[0].Event || subs[1].Time != 0.5 || subs[1].Event || subs[1].Features["age"].Kind != caresignal.Null ||
		subs[0].Features["program"].Str != "diabetes" || subs[0].Features["age"].Num != 50 {
		t.Errorf("subjects %+v", subs)
	}
	for body, want := range map[string]string{
		"":                                 "empty",
		header:                             "no subjects",
		header + row("A", "-1", "1", "50"): `line 2, column "t"`,
		header + row("A", "3", "2", "50"):  `line 2, column "e"`,
		header + row("A", "3", "1", "old"): `line 2, column "age"`,
		header + row("", "3", "1", "50"):   "the id is empty",
		header + row("A", "3", "1", "50") + row("A", "4", "0", "51"): "repeats line 2",
		"id,t,e\nA,1,1\n": `"age"`,
		header + "A,1\n":  "wrong number of fields",
	} {
		_, err := ReadSubjects(strings.NewReader(body), cols, m)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.60q: %v, want %q", body, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "old") {
			t.Errorf("the error quotes the value: %v", err)
		}
	}
	if _, err := ReadSubjects(strings.NewReader(header), SubjectColumns{ID: "id", Duration: "t", Event: "e", PeriodLength: -1}, m); caresignal.ErrorCode(err) != caresignal.EINVALID {
		t.Errorf("a negative period length: %v", err)
	}
}

// FuzzReadSubjects: no input makes the reader panic, and what it accepts
// scores.
func FuzzReadSubjects(f *testing.F) {
	f.Add("id,t,e,age\nA,1,1,3\n")
	f.Add("id,t,e,age,sex,program,channel,baseline_score,prior_no_shows,enrolled_via,sessions_last_month,days_since_last_session,messages_last_month\nA,2,0,50,F,diabetes,app,0.5,1,referral,3,6,4\n")
	f.Add("\"id\",t,e\n\"A\"\"\",1e308,1\n")
	m, _ := testModel(f)
	f.Fuzz(func(t *testing.T, body string) {
		subs, err := ReadSubjects(strings.NewReader(body), SubjectColumns{ID: "id", Duration: "t", Event: "e"}, m)
		if err != nil {
			return
		}
		for _, s := range subs {
			if s.Time < 0 {
				t.Fatalf("negative time accepted: %v", s.Time)
			}
		}
		ScoreSubjects(m, subs, 3)
	})
}
