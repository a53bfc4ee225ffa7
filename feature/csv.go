package feature

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/caresignal/caresignal"
)

// Table names the columns of a person-period table brought from elsewhere:
// a header row, then one row per subject per period at risk.
type Table struct {
	Name        string   // the model's name
	ID          string   // subject id column; "": each row its own subject
	Event       string   // 0/1 (or false/true): 1 in the period of the event
	Period      string   // whole number ≥ 1
	Numeric     []string // used as given
	Categorical []string // one-hot, first sorted level as reference
}

// Spec builds the feature spec of a table fit: numeric columns
// untransformed, categorical ones with the first sorted level as reference
// (filled in by SortedReferences), no imputation, one baseline term per period.
func (t Table) Spec() (*Spec, error) {
	s := &Spec{Name: t.Name, Baseline: Baseline{Type: BaselinePeriods}}
	for _, n := range t.Numeric {
		s.Features = append(s.Features, Feature{Name: n, Type: Numeric, Transform: Identity})
	}
	for _, n := range t.Categorical {
		s.Features = append(s.Features, Feature{Name: n, Type: Categorical})
	}
	if t.Event == "" || t.Period == "" {
		return nil, caresignal.Invalidf("event", "a person-period table needs its event and period columns named")
	}
	if len(s.Features) == 0 {
		return nil, caresignal.Invalidf("numeric", "a person-period table needs at least one numeric or categorical covariate column")
	}
	return s, nil
}

// NameFromPath is a model name from a file name: its base without the
// extension.
func NameFromPath(path string) string {
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

// OpenCSV reads the header row of a CSV file (a leading byte-order mark
// dropped) and returns the reader positioned at the first data row. rows
// names what should follow the header, for the message on an empty file.
func OpenCSV(r io.Reader, rows string) (*csv.Reader, []string, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, caresignal.Errorf(caresignal.EINVALID, "the file is empty: want a header row and %s", rows)
		}
		return nil, nil, caresignal.Errorf(caresignal.EINVALID, "reading the header: %v", err)
	}
	header = slices.Clone(header)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	return cr, header, nil
}

// ParseEvent reads an event cell: 1 or true (any common case) is an
// event, 0 or false is none; ok is false for anything else.
func ParseEvent(cell string) (event, ok bool) {
	switch strings.TrimSpace(cell) {
	case "1", "true", "TRUE", "True":
		return true, true
	case "0", "false", "FALSE", "False":
		return false, true
	}
	return false, false
}

// ParseCell reads a covariate cell: empty or NA is a missing value, a
// categorical cell is its label, and a numeric cell must be a finite
// number (ok is false when it is not). Surrounding spaces are dropped.
func ParseCell(cell string, categorical bool) (v caresignal.Value, ok bool) {
	s := strings.TrimSpace(cell)
	switch {
	case s == "" || s == "NA":
		return caresignal.NullValue(), true
	case categorical:
		return caresignal.Str(s), true
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return caresignal.Value{}, false
	}
	return caresignal.Num(x), true
}

// HeaderColumn returns the index of the column name in header, or an
// error naming role (the flag that names it) and the columns there are.
func HeaderColumn(header []string, role, name string) (int, error) {
	if name == "" {
		return -1, caresignal.Invalidf(role, "name the %s column (--%s)", role, role)
	}
	i := slices.Index(header, name)
	if i < 0 {
		return -1, caresignal.Invalidf(role, "%s column %q is not in the header (columns: %s)", role, name, strings.Join(header, ", "))
	}
	return i, nil
}

// ReadTable reads a person-period CSV table into an extract with one
// column per spec feature, in spec order; every problem names the line and
// column. Empty cells and NA are missing values. Rows are grouped by
// subject and ordered by period, as the database extracts are.
func ReadTable(r io.Reader, t Table, spec *Spec) (*caresignal.Extract, error) {
	cr, header, err := OpenCSV(r, "data rows")
	if err != nil {
		return nil, err
	}
	cr.ReuseRecord = true
	col := func(role, name string) (int, error) { return HeaderColumn(header, role, name) }
	idCol := -1
	if t.ID != "" {
		if idCol, err = col("id", t.ID); err != nil {
			return nil, err
		}
	}
	eventCol, err := col("event", t.Event)
	if err != nil {
		return nil, err
	}
	periodCol, err := col("period", t.Period)
	if err != nil {
		return nil, err
	}
	x := &caresignal.Extract{}
	featCols := make([]int, len(spec.Features))
	for i, f := range spec.Features {
		if featCols[i], err = col(f.Type, f.Name); err != nil {
			return nil, err
		}
		if featCols[i] == eventCol || featCols[i] == periodCol || featCols[i] == idCol {
			return nil, caresignal.Invalidf(f.Name, "column %q is also the id, event or period column", f.Name)
		}
		x.Columns = append(x.Columns, f.Name)
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, caresignal.Errorf(caresignal.EINVALID, "%v", err)
		}
		where := func(name string) string { return fmt.Sprintf("line %d, column %q", line, name) }
		row := caresignal.ExtractRow{PatientID: "row " + strconv.Itoa(line), Values: make([]caresignal.Value, len(featCols))}
		if idCol >= 0 {
			if row.PatientID = rec[idCol]; row.PatientID == "" {
				return nil, caresignal.Invalidf("id", "%s: the id is empty", where(t.ID))
			}
		}
		event, ok := ParseEvent(rec[eventCol])
		if !ok {
			return nil, caresignal.Invalidf("event", "%s: %q is not 0 or 1", where(t.Event), rec[eventCol])
		}
		row.Event, row.Status = event, caresignal.StatusSurvived
		if event {
			row.Status = caresignal.StatusEvent
		}
		p, err := strconv.Atoi(strings.TrimSpace(rec[periodCol]))
		if err != nil || p < 1 || p > caresignal.MaxMonthsEnrolled {
			return nil, caresignal.Invalidf("period", "%s: %q is not a whole number between 1 and %d", where(t.Period), rec[periodCol], caresignal.MaxMonthsEnrolled)
		}
		row.Month = p
		for i, f := range spec.Features {
			var ok bool
			if row.Values[i], ok = ParseCell(rec[featCols[i]], f.Type == Categorical); !ok {
				return nil, caresignal.Invalidf(f.Name, "%s: %q is not a finite number", where(f.Name), strings.TrimSpace(rec[featCols[i]]))
			}
		}
		x.Rows = append(x.Rows, row)
	}
	if len(x.Rows) == 0 {
		return nil, caresignal.Errorf(caresignal.EINVALID, "the file has a header but no data rows")
	}
	slices.SortStableFunc(x.Rows, func(a, b caresignal.ExtractRow) int {
		if c := strings.Compare(a.PatientID, b.PatientID); c != 0 {
			return c
		}
		return a.Month - b.Month
	})
	return x, nil
}

// SortedReferences gives each categorical feature of spec without a
// reference level the first of its levels in x, in sorted order, as R's
// factor() and scikit-learn's OneHotEncoder order levels (byte order):
// the reference of a table fit (a spec file's features
// without one take the commonest training level instead).
func SortedReferences(spec *Spec, x *caresignal.Extract) {
	for i := range spec.Features {
		f := &spec.Features[i]
		if f.Type != Categorical || f.Reference != "" {
			continue
		}
		for _, r := range x.Rows {
			if v := r.Values[i]; !v.Missing() && (f.Reference == "" || v.Str < f.Reference) {
				f.Reference = v.Str
			}
		}
	}
}
