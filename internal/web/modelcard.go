package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/monitor"
)

// modelCard is the part of the model page that says which version
// serves, what it was trained on, how well it does held out and live, and
// what it cannot do.
type modelCard struct {
	// Serving names the versions the server answers with besides
	// production: "canary version … (10% of requests)", "shadow version …".
	Serving []string
	// Trained is when and on what, in one sentence.
	Trained string
	// Train and Holdout are the fit's metrics on person-period rows; Holdout
	// is nil without held-out patients.
	Train, Holdout *eval.Binary
	// Live holds the latest evaluation's headline figures when it is of
	// the version shown; LiveNote says why there are none otherwise.
	Live     []figure
	LiveNote string
	LiveAt   time.Time
	Verdict  *monitor.Verdict
	// Limits are what the model cannot do, in words.
	Limits []string
}

// liveFigures are the model card's live metrics, from the latest
// evaluation.
var liveFigures = []figure{
	{Name: "next_month.auc", Help: "AUC of the worklist's month"},
	{Name: "next_month.calibration.slope", Help: "calibration slope of the worklist's month (1 is ideal)"},
	{Name: "harrell_c", Help: "Harrell's concordance over the follow-up"},
	{Name: "calibration.slope", Help: "calibration slope over the follow-up (1 is ideal)"},
	{Name: "ibs", Help: "integrated Brier score (lower is better)"},
}

// newModelCard gathers the card of the model the page shows.
func (s *server) newModelCard(r *http.Request, m *model.Model) *modelCard {
	c := &modelCard{}
	if set := s.models.Load(); set != nil {
		if cm := set.Canary; cm != nil {
			c.Serving = append(c.Serving, fmt.Sprintf("canary version %s answers %g%% of requests", cm.Version, set.CanaryPercent))
		}
		if sm := set.Shadow; sm != nil {
			c.Serving = append(c.Serving, fmt.Sprintf("shadow version %s scores the same requests; its answers are logged, never returned", sm.Version))
		}
	}
	t := m.Training
	if m.Imported == nil {
		c.Trained = trainedOn(t)
		c.Train, c.Holdout = &t.Train, t.Test
		if t.Train.Rows == 0 {
			c.Train = nil
		}
	} else {
		c.Trained = fmt.Sprintf("Imported %s from the file %s; trained outside caresignal, on data this server knows nothing of.",
			t.TrainedAt.Format(time.DateOnly), m.Imported.FileName)
	}
	ev, note := s.latestEvaluation(r)
	switch {
	case ev == nil:
		c.LiveNote = note
	case ev.Version != m.Version:
		c.LiveNote = fmt.Sprintf("The latest evaluation is of version %s, not this one: run caresignal evaluate report once this version has scored.", ev.Version)
	default:
		c.LiveAt = ev.CreatedAt
		v := s.verdictOf(ev)
		c.Verdict = &v
		for _, f := range liveFigures {
			if x, ok := ev.Figures[f.Name]; ok {
				f.Value = x
				c.Live = append(c.Live, f)
			}
		}
		if len(c.Live) == 0 {
			c.LiveNote = "The latest evaluation has no outcome metric yet: no scored month is over."
		}
	}
	c.Limits = limits(m)
	return c
}

// trainedOn says when and on what a trained model was fitted.
func trainedOn(t model.TrainInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Trained %s UTC", t.TrainedAt.Format("2006-01-02 15:04"))
	if t.AsOf != "" {
		fmt.Fprintf(&b, " on the data as of %s (the first day not in it", t.AsOf)
		if t.Source != "" {
			fmt.Fprintf(&b, ", read from %s", t.Source)
		}
		b.WriteString(")")
	} else if t.Source != "" {
		fmt.Fprintf(&b, " on data read from %s", t.Source)
	}
	fmt.Fprintf(&b, ": %s person-period rows (one per patient and month at risk) of %s patients, with %s drop-offs",
		countInt(t.Rows), countInt(t.Patients), countInt(t.Events))
	if t.Holdout > 0 {
		fmt.Fprintf(&b, "; %.0f%% of the patients were held out of the fit to measure it", 100*t.Holdout)
	}
	b.WriteString(".")
	if t.CodeVersion != "" {
		fmt.Fprintf(&b, " Built by caresignal %s.", t.CodeVersion)
	}
	return b.String()
}

// limits are what the model cannot do, in words: what its intervals,
// curves and inputs mean and do not mean.
func limits(m *model.Model) []string {
	if im := m.Imported; im != nil {
		out := []string{"The file holds no fit statistics, standard errors or intervals: its ratios and their uncertainty are unknown here."}
		if !im.Explains() {
			out = append(out, "Its classifier is neither linear nor a tree ensemble: its predictions come without drivers.")
		}
		out = append(out, "It keeps no training reference, so inputs outside its training range are not flagged and drift cannot be measured.")
		for _, w := range im.Warnings() {
			out = append(out, "From the file: "+w)
		}
		return out
	}
	var out []string
	switch p := m.Training.Penalty.Type; p {
	case model.PenaltyNone, "":
	default:
		s := "The fit is penalised (" + p + "): estimates are shrunk towards zero and their intervals, from the penalised information, are approximate; there are no p-values."
		if p == model.PenaltyElasticNet {
			s += " Coefficients the penalty set to zero have no interval at all."
		}
		out = append(out, s)
	}
	var tv, unseen []string
	for _, f := range m.Features.Features {
		if f.TimeVarying {
			tv = append(tv, f.Name)
		}
		if f.Type == feature.Categorical && f.UnseenBatch == feature.UnseenReference {
			unseen = append(unseen, f.Name)
		}
	}
	if len(tv) > 0 {
		out = append(out, fmt.Sprintf("Months after the next hold the time-varying inputs (%s) at today's values: the curve assumes nothing changes, so it is surest for next month and blunter further out (the follow-up's calibration slope on the monitoring page measures this).",
			strings.Join(tv, ", ")))
	}
	if len(unseen) > 0 {
		out = append(out, fmt.Sprintf("A level it never saw in training (of %s) is refused by the API and scored as the reference level in batch scoring, which counts such patients.", strings.Join(unseen, ", ")))
	}
	if m.Reference() != nil {
		out = append(out, "Values outside the training range are scored by extrapolation; the what-if page says when an input is outside it.")
	} else {
		out = append(out, "This artifact keeps no training reference (saved by an older build): drift cannot be measured and inputs outside the training range are not flagged. Retrain to get both.")
	}
	if m.Training.Test == nil {
		out = append(out, "No patient was held out of the fit, so there are no held-out metrics: the figures on the fitted rows flatter the model.")
	}
	out = append(out, "The model learns associations, not causes: a driver says what raised the predicted risk, not what would lower it.")
	return out
}

// countInt writes a whole number with thousands separators.
func countInt(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
