package feature

import "testing"

func TestSay(t *testing.T) {
	days := Feature{Name: "days_since_last_session", Words: &Words{Value: "no session for {value} day{s}", Missing: "no session yet"}}
	bare := Feature{Name: "prior_no_shows"}
	for _, c := range []struct {
		f       Feature
		value   string
		missing bool
		want    string
	}{
		{days, "45", false, "no session for 45 days"},
		{days, "1", false, "no session for 1 day"},
		{days, "null", true, "no session yet"},
		{bare, "3", false, "prior no shows 3"},
		{bare, "null", true, "prior no shows not recorded"},
		{Feature{Name: "x", Words: &Words{Value: "x is {value}"}}, "", true, "x not recorded"},
		{Feature{Name: "days", Words: &Words{Missing: "no session yet"}}, "null", true, "no session yet"},
		{Feature{Name: "days", Words: &Words{Missing: "no session yet"}}, "4", false, "days 4"},
	} {
		if got := c.f.Say(c.value, c.missing); got != c.want {
			t.Errorf("%s.Say(%q, %v) = %q, want %q", c.f.Name, c.value, c.missing, got, c.want)
		}
	}
}
