// Package sourcecsv reads and writes the three source tables (patients,
// engagement_events, disenrolments) as CSV files, one file a table, with
// the tables' column names as the header rows (docs/data.md): the way a
// care organisation's own data comes in ("caresignal load"), and the way
// the synthetic cohort goes out ("caresignal generate --csv").
//
// Reading validates every row before anything is returned, and every
// problem names the file, the line and the column.
package sourcecsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/internal/atomicfile"
	"github.com/caresignal/caresignal/wire"
)

// The files, in the order they are read (events and disenrolments name
// patients of the first), and their columns.
const (
	PatientsFile      = "patients.csv"
	EventsFile        = "engagement_events.csv"
	DisenrolmentsFile = "disenrolments.csv"
)

var (
	patientColumns      = []string{"patient_id", "enrolled_on", "age", "sex", "program", "channel", "baseline_score", "prior_no_shows", "enrolled_via"}
	eventColumns        = []string{"patient_id", "occurred_on", "kind"}
	disenrolmentColumns = []string{"patient_id", "disenrolled_on", "reason"}
)

// Files lists the three files' names.
func Files() []string { return []string{PatientsFile, EventsFile, DisenrolmentsFile} }

// Write writes src as the three files in dir (created if need be), each
// written under a temporary name and renamed into place. Dates are
// YYYY-MM-DD; a missing baseline score is an empty cell.
func Write(dir string, src *caresignal.Source) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	date := func(t time.Time) string { return t.Format(time.DateOnly) }
	files := []struct {
		name string
		head []string
		n    int
		row  func(i int, rec []string)
	}{
		{PatientsFile, patientColumns, len(src.Patients), func(i int, rec []string) {
			p := &src.Patients[i]
			score := ""
			if p.BaselineScore.Valid {
				score = strconv.FormatFloat(p.BaselineScore.Float, 'g', -1, 64)
			}
			copy(rec, []string{p.ID, date(p.EnrolledOn), strconv.Itoa(p.Age), p.Sex, p.Program, p.Channel, score, strconv.Itoa(p.PriorNoShows), p.EnrolledVia})
		}},
		{EventsFile, eventColumns, len(src.Events), func(i int, rec []string) {
			e := &src.Events[i]
			copy(rec, []string{e.PatientID, date(e.OccurredOn), e.Kind})
		}},
		{DisenrolmentsFile, disenrolmentColumns, len(src.Disenrolments), func(i int, rec []string) {
			d := &src.Disenrolments[i]
			copy(rec, []string{d.PatientID, date(d.DisenrolledOn), d.Reason})
		}},
	}
	for _, f := range files {
		err := atomicfile.Write(filepath.Join(dir, f.name), func(out io.Writer) error {
			w := csv.NewWriter(out)
			if err := w.Write(f.head); err != nil {
				return err
			}
			rec := make([]string, len(f.head))
			for i := range f.n {
				f.row(i, rec)
				if err := w.Write(rec); err != nil {
					return err
				}
			}
			w.Flush()
			return w.Error()
		})
		if err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	return nil
}

// Read reads and validates the three files in dir. Nothing is returned
// unless every row of every file is valid: the first problem found is
// the error, naming the file, line and column (as "file:line: column
// "name": …"). progress, if not nil, is told the rows read (total is
// unknown: 0).
func Read(dir string, progress caresignal.Progress) (*caresignal.Source, error) {
	return ReadAppend(dir, nil, progress)
}

// ReadAppend is Read for files that add to source tables already loaded:
// events and disenrolments may also name the patients of known (their
// enrolment dates by id), which patients.csv then need not list.
func ReadAppend(dir string, known map[string]time.Time, progress caresignal.Progress) (*caresignal.Source, error) {
	src := &caresignal.Source{}
	rows := 0
	tick := func() {
		if rows++; progress != nil && rows%4096 == 0 {
			progress(rows, 0)
		}
	}
	patients := map[string]time.Time{}
	err := readFile(dir, PatientsFile, patientColumns, func(c *cells) error {
		id := c.text("patient_id")
		on := c.date("enrolled_on")
		p := caresignal.Patient{ID: id, EnrolledOn: on, Age: c.int("age", 0, 130), Sex: c.text("sex"), Program: c.text("program"),
			Channel: c.text("channel"), PriorNoShows: c.int("prior_no_shows", 0, math.MaxInt32), EnrolledVia: c.text("enrolled_via")}
		if v, ok := c.optionalFloat("baseline_score"); ok {
			p.BaselineScore = caresignal.NullFloat{Float: v, Valid: true}
		}
		if c.err != nil {
			return c.err
		}
		if _, dup := patients[id]; dup {
			return c.problem("patient_id", "patient %q is listed twice", id)
		}
		patients[id] = on
		src.Patients = append(src.Patients, p)
		tick()
		return nil
	})
	if err != nil {
		return nil, err
	}
	enrolled := func(c *cells, column string) (time.Time, bool) {
		id := c.text(column)
		on, ok := patients[id]
		if !ok {
			on, ok = known[id]
		}
		if c.err == nil && !ok {
			if known != nil {
				c.err = c.problem(column, "patient %q is neither in %s nor loaded before", id, PatientsFile)
			} else {
				c.err = c.problem(column, "patient %q is not in %s", id, PatientsFile)
			}
		}
		return on, ok
	}
	err = readFile(dir, EventsFile, eventColumns, func(c *cells) error {
		e := caresignal.Event{PatientID: c.get("patient_id"), OccurredOn: c.date("occurred_on"), Kind: c.get("kind")}
		enrolled(c, "patient_id")
		if c.err == nil && e.Kind != caresignal.EventSession && e.Kind != caresignal.EventMessage {
			return c.problem("kind", "%q is not %s or %s", e.Kind, caresignal.EventSession, caresignal.EventMessage)
		}
		if c.err != nil {
			return c.err
		}
		src.Events = append(src.Events, e)
		tick()
		return nil
	})
	if err != nil {
		return nil, err
	}
	left := map[string]bool{}
	err = readFile(dir, DisenrolmentsFile, disenrolmentColumns, func(c *cells) error {
		d := caresignal.Disenrolment{PatientID: c.get("patient_id"), DisenrolledOn: c.date("disenrolled_on"), Reason: c.text("reason")}
		on, _ := enrolled(c, "patient_id")
		if c.err != nil {
			return c.err
		}
		if d.DisenrolledOn.Before(on) {
			return c.problem("disenrolled_on", "%s is before the patient's enrolment (%s)", d.DisenrolledOn.Format(time.DateOnly), on.Format(time.DateOnly))
		}
		if left[d.PatientID] {
			return c.problem("patient_id", "patient %q has a second disenrolment: one per patient", d.PatientID)
		}
		left[d.PatientID] = true
		src.Disenrolments = append(src.Disenrolments, d)
		tick()
		return nil
	})
	if err != nil {
		return nil, err
	}
	if progress != nil {
		progress(rows, rows)
	}
	return src, nil
}

// readFile reads one file: its header must hold every column (in any
// order; other columns are refused, so that a misspelt one is caught),
// and row is called with each data row.
func readFile(dir, name string, columns []string, row func(*cells) error) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return caresignal.Invalidf(name, "%s is missing from %s: want %s (columns as in docs/data.md)", name, dir, strings.Join(Files(), ", "))
		}
		return err
	}
	defer f.Close()
	cr, header, err := feature.OpenCSV(f, "one row per "+strings.TrimSuffix(strings.TrimSuffix(name, ".csv"), "s"))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	cr.ReuseRecord = true
	index := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if !slices.Contains(columns, h) {
			return caresignal.Invalidf(name, "%s:1: column %q is not one of the table's (%s)", name, h, strings.Join(columns, ", "))
		}
		if _, dup := index[h]; dup {
			return caresignal.Invalidf(name, "%s:1: column %q appears twice", name, h)
		}
		index[h] = i
	}
	for _, c := range columns {
		if _, ok := index[c]; !ok {
			return caresignal.Invalidf(name, "%s:1: the header lacks column %q (want %s)", name, c, strings.Join(columns, ", "))
		}
	}
	c := &cells{file: name, index: index}
	for c.line = 2; ; c.line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return caresignal.Invalidf(name, "%s:%d: %v", name, pe.Line, pe.Err)
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		c.rec, c.err = rec, nil
		if err := row(c); err != nil {
			return err
		}
	}
}

// cells reads one row's cells by column; the first problem is kept in err
// and later reads return zero values.
type cells struct {
	file  string
	line  int
	index map[string]int
	rec   []string
	err   error
}

func (c *cells) problem(column, format string, args ...any) error {
	return caresignal.Invalidf(c.file, "%s:%d: column %q: %s", c.file, c.line, column, fmt.Sprintf(format, args...))
}

func (c *cells) fail(column, format string, args ...any) {
	if c.err == nil {
		c.err = c.problem(column, format, args...)
	}
}

func (c *cells) get(column string) string { return strings.TrimSpace(c.rec[c.index[column]]) }

// text is a required text cell: valid UTF-8, no control characters, at
// most wire.MaxStringBytes bytes (as the API accepts).
func (c *cells) text(column string) string {
	v := c.get(column)
	if v == "" {
		c.fail(column, "empty; a value is required")
	} else if p := wire.TextProblem(v); p != "" {
		c.fail(column, "%s", p)
	}
	return v
}

func (c *cells) date(column string) time.Time {
	v := c.get(column)
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		c.fail(column, "%q is not a date (YYYY-MM-DD)", v)
	}
	return t
}

func (c *cells) int(column string, lo, hi int) int {
	v := c.get(column)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		c.fail(column, "%q is not a whole number from %d to %d", v, lo, hi)
	}
	return n
}

// optionalFloat is a number, or an empty cell or NA (false).
func (c *cells) optionalFloat(column string) (float64, bool) {
	v := c.get(column)
	if v == "" || v == "NA" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		c.fail(column, "%q is not a finite number (leave the cell empty for none)", v)
		return 0, false
	}
	return f, true
}
