package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
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
	fs.StringVar(&c.name, "name", "", "with --csv: the model's name (default: the spec's name with --spec, else the file name without extension)")
	fs.StringVar(&c.id, "id", "", "with --csv: the subject id column, which groups rows for cross-validation and the holdout (default: each row its own subject)")
	fs.StringVar(&c.event, "event", "", "with --csv: the event column, 0/1 (or false/true): 1 in the period the subject dropped off")
	fs.StringVar(&c.period, "period", "", "with --csv: the period column, a whole number ≥ 1 (one baseline term per period)")
	fs.StringVar(&c.numeric, "numeric", "", "with --csv and no --spec: comma-separated numeric covariate columns, used as given (standardised when penalised)")
	fs.StringVar(&c.categorical, "categorical", "", "with --csv and no --spec: comma-separated categorical covariate columns, one-hot with the first level (sorted) as reference")
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

// table returns the columns the flags name.
func (c *csvColumns) table() feature.Table {
	name := c.name
	if name == "" {
		name = feature.NameFromPath(c.path)
	}
	return feature.Table{Name: name, ID: c.id, Event: c.event, Period: c.period,
		Numeric: splitList(c.numeric), Categorical: splitList(c.categorical)}
}

func trainFromCSV(ctx context.Context, e *env, c *csvColumns, t *trainFlags, opt model.TrainOptions) error {
	tab := c.table()
	var spec *feature.Spec
	var err error
	if t.spec != "" {
		// The spec names the features and how to prepare them (imputation,
		// scaling, bounds, references), as for a fit from the database.
		if tab.Event == "" || tab.Period == "" {
			return caresignal.Invalidf("event", "--csv with --spec needs --event and --period naming those columns (for an extract: --id patient_id --event event --period month)")
		}
		if spec, err = t.loadSpec(); err != nil {
			return err
		}
		if c.name != "" {
			spec.Name = c.name
		}
	} else {
		if spec, err = tab.Spec(); err != nil {
			return err
		}
		spec.Description = "fitted from " + filepath.Base(c.path)
		if opt.Penalty != model.PenaltyNone {
			// A penalty weighs coefficients against each other, so it needs
			// columns on comparable scales: standardised, as glmnet does by
			// default. Coefficients are still reported per unit of each input.
			for i := range spec.Features {
				if spec.Features[i].Type == feature.Numeric {
					spec.Features[i].Transform = feature.Standardize
				}
			}
		}
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
	x, err := feature.ReadTable(f, tab, spec)
	el := p.Finish()
	if err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	}
	if t.spec == "" {
		feature.SortedReferences(spec, x)
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "read %s person-period rows from %s in %s\n", count(len(x.Rows)), c.path, seconds(el))
	if c.id == "" && (opt.CV || opt.Holdout > 0) {
		fmt.Fprintln(e.stderr, "warning: no --id column, so every row counts as its own subject: cross-validation folds and the holdout split rows, and a subject's rows can fall on both sides")
	}
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
