package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
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
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/survival"
)

// csvColumns name the columns of a person-period CSV file.
type csvColumns struct {
	path        string
	name        string
	id          string
	event       string
	period      string
	numeric     string
	categorical string
}

func (c *csvColumns) register(fs *flag.FlagSet) {
	fs.StringVar(&c.path, "csv", "", "fit from this person-period CSV file (a header row, one row per subject per period at risk) instead of the database")
	fs.StringVar(&c.name, "name", "", "with --csv: the model's name (default: the file name without extension)")
	fs.StringVar(&c.id, "id", "", "with --csv: the subject id column, which groups rows for cross-validation and the holdout (default: each row its own subject)")
	fs.StringVar(&c.event, "event", "", "with --csv: the event column, 0/1 (or false/true): 1 in the period the subject dropped off")
	fs.StringVar(&c.period, "period", "", "with --csv: the period column, a whole number ≥ 1 (one baseline term per period)")
	fs.StringVar(&c.numeric, "numeric", "", "with --csv: comma-separated numeric covariate columns, used as given")
	fs.StringVar(&c.categorical, "categorical", "", "with --csv: comma-separated categorical covariate columns, one-hot with the first level (sorted) as reference")
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// spec builds the feature spec of a CSV fit: numeric columns untransformed,
// categorical ones with the first sorted level as reference (filled in by
// readPersonPeriodCSV), no imputation, and one baseline term per period.
func (c *csvColumns) spec() (*feature.Spec, error) {
	name := c.name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(c.path), filepath.Ext(c.path))
	}
	s := &feature.Spec{Name: name, Description: "fitted from " + filepath.Base(c.path),
		Baseline: feature.Baseline{Type: feature.BaselineMonths, MinEvents: 1}}
	for _, n := range splitList(c.numeric) {
		s.Features = append(s.Features, feature.Feature{Name: n, Type: feature.Numeric, Transform: feature.Identity})
	}
	for _, n := range splitList(c.categorical) {
		s.Features = append(s.Features, feature.Feature{Name: n, Type: feature.Categorical})
	}
	if c.event == "" || c.period == "" {
		return nil, caresignal.Invalidf("event", "--csv needs --event and --period to name the event and period columns")
	}
	if len(s.Features) == 0 {
		return nil, caresignal.Invalidf("numeric", "--csv needs at least one covariate column: --numeric or --categorical")
	}
	return s, nil
}

// readPersonPeriodCSV reads a person-period table. Every problem names the
// line and column. Categorical features get their first sorted level as
// the reference.
func readPersonPeriodCSV(r io.Reader, c *csvColumns, spec *feature.Spec) (*caresignal.Extract, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, caresignal.Errorf(caresignal.EINVALID, "the file is empty: want a header row and data rows")
		}
		return nil, caresignal.Errorf(caresignal.EINVALID, "reading the header: %v", err)
	}
	header = slices.Clone(header)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	col := func(flagName, name string) (int, error) {
		i := slices.Index(header, name)
		if i < 0 {
			return -1, caresignal.Invalidf(flagName, "--%s: no column %q in the header (columns: %s)", flagName, name, strings.Join(header, ", "))
		}
		return i, nil
	}
	idCol := -1
	if c.id != "" {
		if idCol, err = col("id", c.id); err != nil {
			return nil, err
		}
	}
	eventCol, err := col("event", c.event)
	if err != nil {
		return nil, err
	}
	periodCol, err := col("period", c.period)
	if err != nil {
		return nil, err
	}
	x := &caresignal.Extract{}
	featCols := make([]int, len(spec.Features))
	for i, f := range spec.Features {
		flagName := "numeric"
		if f.Type == feature.Categorical {
			flagName = "categorical"
		}
		if featCols[i], err = col(flagName, f.Name); err != nil {
			return nil, err
		}
		if featCols[i] == eventCol || featCols[i] == periodCol || featCols[i] == idCol {
			return nil, caresignal.Invalidf(flagName, "--%s: column %q is also the id, event or period column", flagName, f.Name)
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
				return nil, caresignal.Invalidf("id", "%s: the id is empty", where(c.id))
			}
		}
		switch strings.TrimSpace(rec[eventCol]) {
		case "1", "true", "TRUE", "True":
			row.Event, row.Status = true, caresignal.StatusEvent
		case "0", "false", "FALSE", "False":
			row.Status = caresignal.StatusSurvived
		default:
			return nil, caresignal.Invalidf("event", "%s: %q is not 0 or 1", where(c.event), rec[eventCol])
		}
		p, err := strconv.Atoi(strings.TrimSpace(rec[periodCol]))
		if err != nil || p < 1 || p > caresignal.MaxMonthsEnrolled {
			return nil, caresignal.Invalidf("period", "%s: %q is not a whole number between 1 and %d", where(c.period), rec[periodCol], caresignal.MaxMonthsEnrolled)
		}
		row.Month = p
		for i, f := range spec.Features {
			s := strings.TrimSpace(rec[featCols[i]])
			switch {
			case s == "" || s == "NA":
				row.Values[i] = caresignal.NullValue()
			case f.Type == feature.Categorical:
				row.Values[i] = caresignal.Str(s)
			default:
				v, err := strconv.ParseFloat(s, 64)
				if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, caresignal.Invalidf(f.Name, "%s: %q is not a finite number", where(f.Name), s)
				}
				row.Values[i] = caresignal.Num(v)
			}
		}
		x.Rows = append(x.Rows, row)
	}
	if len(x.Rows) == 0 {
		return nil, caresignal.Errorf(caresignal.EINVALID, "the file has a header but no data rows")
	}
	// Keep each subject's rows together, in period order, as the
	// database extracts are.
	slices.SortStableFunc(x.Rows, func(a, b caresignal.ExtractRow) int {
		if c := strings.Compare(a.PatientID, b.PatientID); c != 0 {
			return c
		}
		return a.Month - b.Month
	})
	for i := range spec.Features {
		f := &spec.Features[i]
		if f.Type != feature.Categorical {
			continue
		}
		for _, r := range x.Rows {
			if v := r.Values[i]; !v.Missing() && (f.Reference == "" || v.Str < f.Reference) {
				f.Reference = v.Str
			}
		}
	}
	return x, nil
}

func trainFromCSV(ctx context.Context, e *env, c *csvColumns, t *trainFlags, opt model.TrainOptions) error {
	spec, err := c.spec()
	if err != nil {
		return err
	}
	if err := t.applyBaseline(spec); err != nil {
		return err
	}
	f, err := os.Open(c.path)
	if err != nil {
		return err
	}
	defer f.Close()
	p := newProgress(e.stderr, "reading "+filepath.Base(c.path), "")
	p.Tick("parsing")
	x, err := readPersonPeriodCSV(f, c, spec)
	el := p.Finish()
	if err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "read %s person-period rows from %s in %s\n", count(len(x.Rows)), c.path, seconds(el))
	opt.Source = "csv"
	m, el, err := fitWithProgress(ctx, e, spec, x, opt)
	if err != nil {
		return err
	}
	if err := m.SaveFile(t.out); err != nil {
		return fmt.Errorf("saving the model: %w", err)
	}
	printTraining(e, "", m, el)
	fmt.Fprintf(e.stdout, "saved the model to %s (version %s); caresignal inspect %s shows its summary\n", t.out, m.Version, t.out)
	return nil
}

// fitWithProgress trains, showing cross-validation and Newton progress.
func fitWithProgress(ctx context.Context, e *env, spec *feature.Spec, x *caresignal.Extract, opt model.TrainOptions) (*model.Model, time.Duration, error) {
	p := newProgress(e.stderr, "fitting", "fits")
	opt.OnCV = func(done, total int) {
		p.mu.Lock()
		p.label = fmt.Sprintf("cross-validating λ (%d folds)", opt.Folds)
		p.mu.Unlock()
		p.Set(done, total)
	}
	opt.OnIteration = func(it survival.Iteration) {
		p.mu.Lock()
		p.label = fmt.Sprintf("Newton iteration %d: log-likelihood %.4f, step %.2g", it.Iter, it.LogLik, it.MaxStep)
		p.mu.Unlock()
	}
	p.Tick("")
	m, err := model.Train(ctx, spec, x, opt)
	return m, p.Finish(), err
}
