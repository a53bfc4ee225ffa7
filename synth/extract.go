package synth

import "github.com/caresignal/caresignal"

// Columns are the feature columns of the person-period extracts, as the
// generator names them and the database extracts return them.
var Columns = []string{
	"age", "sex", "program", "channel", "baseline_score", "prior_no_shows", "enrolled_via",
	"sessions_last_month", "days_since_last_session", "messages_last_month",
}

// PersonPeriod returns the generator's own person-period table, in the shape
// the data layer's PersonPeriod extract returns, for checking the ELT.
func (c *Cohort) PersonPeriod() *caresignal.Extract {
	x := &caresignal.Extract{Columns: Columns, Rows: make([]caresignal.ExtractRow, len(c.Truth))}
	for i, r := range c.Truth {
		x.Rows[i] = c.row(r)
	}
	return x
}

// Training returns the rows of PersonPeriod with a known outcome, as the
// training extract does, with each row's true hazard alongside.
func (c *Cohort) Training() (*caresignal.Extract, []float64) {
	x := &caresignal.Extract{Columns: Columns}
	var hazard []float64
	for _, r := range c.Truth {
		switch r.Status {
		case caresignal.StatusEvent, caresignal.StatusSurvived, caresignal.StatusCensored:
			x.Rows = append(x.Rows, c.row(r))
			hazard = append(hazard, r.Hazard)
		}
	}
	return x, hazard
}

func (c *Cohort) row(r TruthRow) caresignal.ExtractRow {
	p := c.Source.Patients[r.patient]
	score := caresignal.NullValue()
	if p.BaselineScore.Valid {
		score = caresignal.Num(p.BaselineScore.Float)
	}
	return caresignal.ExtractRow{
		PatientID: r.PatientID,
		Month:     r.Month,
		Status:    r.Status,
		Event:     r.Status == caresignal.StatusEvent,
		Values: []caresignal.Value{
			caresignal.Num(float64(p.Age)), caresignal.Str(p.Sex), caresignal.Str(p.Program),
			caresignal.Str(p.Channel), score, caresignal.Num(float64(p.PriorNoShows)),
			caresignal.Str(p.EnrolledVia),
			caresignal.Num(float64(r.SessionsLastMonth)), caresignal.Num(float64(r.DaysSinceLastSession)),
			caresignal.Num(float64(r.MessagesLastMonth)),
		},
	}
}
