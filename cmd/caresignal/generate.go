package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/sourcecsv"
	"github.com/caresignal/caresignal/synth"
)

// synthFlags size and seed a synthetic cohort, starting from the defaults.
func synthFlags(fs *flag.FlagSet, cfg *synth.Config, asOf *dateFlag) {
	*cfg = synth.DefaultConfig()
	asOf.t = cfg.AsOf
	fs.IntVar(&cfg.Patients, "patients", cfg.Patients, "number of patients")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed: the same seed and sizes give the same cohort")
	fs.Var(asOf, "as-of", "first day not in the data, YYYY-MM-DD")
	fs.IntVar(&cfg.EnrolmentMonths, "enrolment-months", cfg.EnrolmentMonths, "enrolments spread over this many months before the as-of date")
	fs.Float64Var(&cfg.TransferRate, "transfer-rate", cfg.TransferRate, "monthly probability of a transfer out (random censoring)")
	fs.Float64Var(&cfg.MissingBaseline, "missing-baseline", cfg.MissingBaseline, "share of patients with no baseline score recorded")
}

// driftFlags inject an optional drift into a synthetic cohort.
type driftFlags struct {
	from     dateFlag
	shift    float64
	unseen   bool
	covShift bool
}

func (d *driftFlags) register(fs *flag.FlagSet, fromHelp string) {
	fs.Var(&d.from, "drift-from", fromHelp)
	fs.Float64Var(&d.shift, "drift-hazard-shift", synth.DefaultDriftHazardShift, "log-odds added to the true drop-off hazard of every month starting on or after --drift-from")
	fs.BoolVar(&d.covShift, "drift-covariates", true, "patients enrolled on or after --drift-from come from an older, sicker population")
	fs.BoolVar(&d.unseen, "drift-unseen-program", false, "and some of them join a program the earlier data never had")
}

// apply sets cfg's drift when a start date was given (or from is not
// zero).
func (d *driftFlags) apply(cfg *synth.Config, from time.Time) {
	if !d.from.t.IsZero() {
		from = d.from.t
	}
	if from.IsZero() {
		return
	}
	cfg.Drift = &synth.Drift{From: from, HazardShift: d.shift, Covariates: d.covShift, UnseenProgram: d.unseen}
}

func runGenerate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "generate", "", "Fill the source tables (patients, engagement_events, disenrolments) with a deterministic synthetic\ncohort whose drop-off follows a known discrete-time hazard. Replaces what the tables held.\nWith --csv DIR it writes the cohort as the CSV files \"caresignal load DIR\" reads instead, and leaves the\ndatabase alone.")
	var d dataFlags
	d.register(fs, e)
	csvDir := fs.String("csv", "", "write the cohort to this directory as patients.csv, engagement_events.csv and disenrolments.csv\n(the format of \"caresignal load\") instead of filling the database")
	var cfg synth.Config
	var asOf dateFlag
	synthFlags(fs, &cfg, &asOf)
	var drift driftFlags
	drift.register(fs, "inject a drift from this date on, YYYY-MM-DD (default: none)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg.AsOf = asOf.t
	drift.apply(&cfg, time.Time{})
	if *csvDir != "" {
		c, err := generateCohort(e, "", cfg)
		if err != nil {
			return err
		}
		if err := sourcecsv.Write(*csvDir, &c.Source); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s, %s and %s to %s\n", sourcecsv.PatientsFile, sourcecsv.EventsFile, sourcecsv.DisenrolmentsFile, *csvDir)
		return nil
	}
	store, where, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	_, err = stepGenerate(ctx, e, "", store, where, cfg)
	return err
}

func stepGenerate(ctx context.Context, e *env, prefix string, store caresignal.Store, where string, cfg synth.Config) (*synth.Cohort, error) {
	c, err := generateCohort(e, prefix, cfg)
	if err != nil {
		return nil, err
	}
	p := newProgress(e.stderr, "loading", "rows")
	err = store.ReplaceSource(ctx, &c.Source, p.Set)
	el := p.Finish()
	if err != nil {
		return nil, err
	}
	src := &c.Source
	fmt.Fprintf(e.stdout, "%sloaded %s source rows into %s in %s\n", prefix,
		count(len(src.Patients)+len(src.Events)+len(src.Disenrolments)), where, seconds(el))
	return c, nil
}

// generateCohort makes the synthetic cohort of cfg, with progress, and
// says what it made.
func generateCohort(e *env, prefix string, cfg synth.Config) (*synth.Cohort, error) {
	p := newProgress(e.stderr, "generating", "patients")
	c, err := synth.Generate(cfg, p.Set)
	el := p.Finish()
	if err != nil {
		return nil, err
	}
	src := &c.Source
	fmt.Fprintf(e.stdout, "%sgenerated %s patients, %s engagement events, %s disenrolments (seed %d, data up to %s) in %s\n",
		prefix, count(len(src.Patients)), count(len(src.Events)), count(len(src.Disenrolments)),
		c.Config.Seed, c.Config.AsOf.AddDate(0, 0, -1).Format(time.DateOnly), seconds(el))
	if d := c.Config.Drift; d != nil {
		what := fmt.Sprintf("drop-off log-odds %+g", d.HazardShift)
		if d.Covariates {
			what += ", an older and sicker enrolee mix"
		}
		if d.UnseenProgram {
			what += fmt.Sprintf(", a new program %q", synth.UnseenProgramLevel)
		}
		fmt.Fprintf(e.stdout, "%sdrift injected from %s: %s\n", indent(prefix), d.From.Format(time.DateOnly), what)
	}
	return c, nil
}
