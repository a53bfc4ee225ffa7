package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/model"
)

// checkedModelName is the registry name whose production model check-source
// compares the levels with when --model is not given: the engagement spec's.
const checkedModelName = "engagement"

func runCheckSource(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "check-source", "", `Report what the ELT would see in the source tables as of a date, without writing anything: each
table's rows and date range, patients without any event, the levels of the categorical columns (those
the model does not know flagged, with what its spec's unseen policy does with them), the person-period
rows the ELT would build by status, the rows it would leave out and why, and whether it would refuse the
data. Exits non-zero, with the reason, when the ELT would refuse the data.

Example:
  caresignal check-source --db postgres://caresignal@db.example.org/care && caresignal etl`)
	var d dataFlags
	d.register(fs, e)
	var asOf dateFlag
	fs.Var(&asOf, "as-of", "first day not in the data, YYYY-MM-DD (default: as the ELT's, the day after the latest source date)")
	ref := fs.String("model", "", "model whose levels to compare with: an artifact file, or NAME / NAME@VERSION from the registry (default: the registry's production "+checkedModelName+" model, if any)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	store, where, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	m, modelNote, err := checkedModel(ctx, store, *ref)
	if err != nil {
		return err
	}
	c, err := store.CheckSource(ctx, asOf.t)
	if err != nil {
		return err
	}
	r := newSourceReport(c, m, modelNote)
	if *asJSON {
		if err := writeIndented(e, r); err != nil {
			return err
		}
	} else {
		r.print(e.stdout, where)
	}
	if len(c.Refusals) > 0 {
		return caresignal.Errorf(caresignal.EINVALID, "the ELT would refuse the source data: %s", strings.Join(c.Refusals, "; "))
	}
	return nil
}

// checkedModel loads the model named by ref (a file, NAME or NAME@VERSION),
// or the registry's production engagement model when ref is empty; nil,
// with a note saying why, when there is none.
func checkedModel(ctx context.Context, store caresignal.Store, ref string) (*model.Model, string, error) {
	if ref == "" {
		v, err := store.ProductionModel(ctx, checkedModelName)
		if caresignal.ErrorCode(err) == caresignal.ENOTFOUND {
			return nil, "no production " + checkedModelName + " model in the registry: levels are not compared with a model (--model names one)", nil
		}
		if err != nil {
			return nil, "", err
		}
		m, err := model.FromRegistry(ctx, store, v.Name, v.Version)
		if err != nil {
			return nil, "", err
		}
		return m, "the registry's production model", nil
	}
	if isModelFile(ref) {
		m, err := model.LoadFile(ref)
		return m, "--model " + ref, err
	}
	m, err := registryModel(ctx, store, ref)
	return m, "--model " + ref, err
}

// sourceReport is check-source's report, as printed with --json.
type sourceReport struct {
	AsOf             string         `json:"as_of"`
	DefaultAsOf      bool           `json:"as_of_is_default"`
	SourceEnd        string         `json:"source_end,omitempty"` // the day after the latest source date
	Views            []string       `json:"views,omitempty"`
	Tables           []tableReport  `json:"tables"`
	PatientsNoEvents int            `json:"patients_without_events"`
	Model            string         `json:"model,omitempty"` // name@version compared with
	ModelNote        string         `json:"model_note"`
	Levels           []levelsReport `json:"levels"`
	PersonPeriod     map[string]int `json:"person_period"`
	PersonPeriodRows int            `json:"person_period_rows"`
	Ignored          []ignoredRows  `json:"ignored"`
	Warnings         []string       `json:"warnings"`
	Refusals         []string       `json:"refusals"`
}

type tableReport struct {
	Table string `json:"table"`
	Rows  int    `json:"rows"`
	First string `json:"first,omitempty"`
	Last  string `json:"last,omitempty"`
}

type levelsReport struct {
	Table  string        `json:"table"`
	Column string        `json:"column"`
	Levels []levelReport `json:"levels"`
}

type levelReport struct {
	Level   *string `json:"level"` // null for a missing value
	Rows    int     `json:"rows"`
	Unknown bool    `json:"unknown,omitempty"` // not a level the model knows
	// Note says what happens to these rows: the spec's unseen policy for a
	// level the model does not know, the ELT's rule for kind and reason.
	Note string `json:"note,omitempty"`
}

type ignoredRows struct {
	Table  string `json:"table"`
	Rows   int    `json:"rows"`
	Reason string `json:"reason"`
}

func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

func newSourceReport(c caresignal.SourceCheck, m *model.Model, modelNote string) *sourceReport {
	r := &sourceReport{
		AsOf:             dateOrEmpty(c.AsOf),
		DefaultAsOf:      c.DefaultAsOf,
		SourceEnd:        dateOrEmpty(c.End),
		Views:            c.Views,
		PatientsNoEvents: c.PatientsWithoutEvents,
		ModelNote:        modelNote,
		PersonPeriod:     map[string]int{},
		PersonPeriodRows: c.PersonPeriodRows,
		Ignored:          []ignoredRows{},
		Warnings:         append([]string{}, c.Warnings...),
		Refusals:         append([]string{}, c.Refusals...),
	}
	for _, t := range []struct {
		name string
		t    caresignal.SourceTable
	}{{"patients", c.Patients}, {"engagement_events", c.Events}, {"disenrolments", c.Disenrolments}} {
		r.Tables = append(r.Tables, tableReport{Table: t.name, Rows: t.t.Rows, First: dateOrEmpty(t.t.First), Last: dateOrEmpty(t.t.Last)})
	}
	for _, st := range statusOrder {
		r.PersonPeriod[string(st)] = c.PersonPeriod[st]
	}
	for _, ig := range c.Ignored {
		r.Ignored = append(r.Ignored, ignoredRows(ig))
	}
	var features map[string]*feature.FittedFeature
	if m != nil {
		r.Model = m.Name + "@" + m.Version
		features = map[string]*feature.FittedFeature{}
		if m.Features != nil {
			for i := range m.Features.Features {
				if f := &m.Features.Features[i]; f.Type == feature.Categorical {
					features[f.Name] = f
				}
			}
		} else {
			r.ModelNote += "; an imported model: its levels are not compared"
		}
	}
	for _, l := range c.Levels {
		lr := levelsReport{Table: l.Table, Column: l.Column, Levels: []levelReport{}}
		f := features[l.Column]
		for _, lc := range l.Levels {
			x := levelReport{Rows: lc.Rows}
			if !lc.Missing {
				x.Level = &lc.Level
			}
			switch {
			case lc.Missing:
				x.Note = "missing"
			case l.Column == "kind":
				if lc.Level != caresignal.EventSession && lc.Level != caresignal.EventMessage {
					x.Note = "ignored by the ELT: neither session nor message"
				}
			case l.Column == "reason":
				if lc.Level == caresignal.ReasonDisengaged {
					x.Note = "a drop-off (event)"
				} else {
					x.Note = "ends observation without a drop-off (censored)"
				}
			case f != nil && lc.Level != f.Reference && !slices.Contains(f.Levels, lc.Level):
				x.Unknown = true
				x.Note = unseenNote(f)
			}
			lr.Levels = append(lr.Levels, x)
		}
		r.Levels = append(r.Levels, lr)
	}
	return r
}

var statusOrder = []caresignal.Status{caresignal.StatusSurvived, caresignal.StatusEvent, caresignal.StatusCensored, caresignal.StatusCurrent, caresignal.StatusIncomplete}

// rowsWord is "1 row" or "n rows".
func rowsWord(n int) string {
	if n == 1 {
		return "1 row"
	}
	return count(n) + " rows"
}

// unseenNote says what the spec's unseen policies do with a level the
// model does not know, on batch scoring and on the API.
func unseenNote(f *feature.FittedFeature) string {
	batch := f.UnseenBatch
	if batch == "" {
		batch = f.Unseen
	}
	var b strings.Builder
	b.WriteString("not a level the model knows: batch scoring ")
	if batch == feature.UnseenReference {
		b.WriteString("scores these patients as the reference level " + strconv.Quote(f.Reference) + " and counts them")
	} else {
		b.WriteString("leaves these patients out and counts them")
	}
	if f.Unseen == feature.UnseenReference {
		b.WriteString("; the API scores them as the reference level, with a warning")
	} else {
		b.WriteString("; the API refuses them")
	}
	b.WriteString(" (the spec's unseen policy; retraining on this data adds the level)")
	return b.String()
}

func (r *sourceReport) print(w io.Writer, where string) {
	how := ""
	if r.DefaultAsOf {
		how = " (the ELT's default: the day after the latest source date)"
	}
	fmt.Fprintf(w, "source tables in %s, as of %s%s\n", where, orNone(r.AsOf), how)
	if len(r.Views) > 0 {
		fmt.Fprintf(w, "  views onto other tables: %s\n", strings.Join(r.Views, ", "))
	}
	dates := map[string]string{"patients": "enrolled", "engagement_events": "occurred", "disenrolments": "disenrolled"}
	for _, t := range r.Tables {
		fmt.Fprintf(w, "  %-18s %16s", t.Table, rowsWord(t.Rows))
		if t.First != "" {
			fmt.Fprintf(w, ", %s %s to %s", dates[t.Table], t.First, t.Last)
		}
		if t.Table == "patients" {
			fmt.Fprintf(w, "; %s without any engagement event", count(r.PatientsNoEvents))
		}
		fmt.Fprintln(w)
	}
	if r.Model != "" {
		fmt.Fprintf(w, "levels, compared with %s (%s):\n", r.Model, r.ModelNote)
	} else {
		fmt.Fprintf(w, "levels (%s):\n", r.ModelNote)
	}
	for _, l := range r.Levels {
		var parts []string
		for _, x := range l.Levels {
			name := "(missing)"
			if x.Level != nil {
				name = strconv.Quote(*x.Level)
			}
			s := name + " " + count(x.Rows)
			if x.Note != "" && x.Note != "missing" {
				s += " [" + x.Note + "]"
			}
			parts = append(parts, s)
		}
		fmt.Fprintf(w, "  %s.%s: %s\n", l.Table, l.Column, strings.Join(parts, ", "))
	}
	var st []string
	for _, s := range statusOrder {
		st = append(st, count(r.PersonPeriod[string(s)])+" "+string(s))
	}
	fmt.Fprintf(w, "person_period would have %s rows (%s), counted by the ELT's own query, read-only\n", count(r.PersonPeriodRows), strings.Join(st, ", "))
	if len(r.Ignored) == 0 {
		fmt.Fprintln(w, "the ELT would leave out no source rows")
	} else {
		fmt.Fprintln(w, "the ELT would leave out:")
		for _, ig := range r.Ignored {
			fmt.Fprintf(w, "  %-18s %16s: %s\n", ig.Table, rowsWord(ig.Rows), ig.Reason)
		}
	}
	for _, s := range r.Warnings {
		fmt.Fprintln(w, "warning: "+s)
	}
	if len(r.Refusals) == 0 {
		fmt.Fprintln(w, "the ELT would run: nothing was written")
		return
	}
	fmt.Fprintln(w, "the ELT would refuse the data:")
	for _, s := range r.Refusals {
		fmt.Fprintln(w, "  "+s)
	}
}
