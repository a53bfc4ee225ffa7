package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/survival"
	"github.com/caresignal/caresignal/synth"
	"github.com/caresignal/caresignal/wire"
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
	fs := newFlagSet(e, "generate", "", "Fill the source tables (patients, engagement_events, disenrolments) with a deterministic synthetic\ncohort whose drop-off follows a known discrete-time hazard. Replaces what the tables held.")
	var d dataFlags
	d.register(fs, e)
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
	store, where, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	_, err = stepGenerate(ctx, e, "", store, where, cfg)
	return err
}

func runETL(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "etl", "", "Build the person-period table inside the database from the source tables: one row per patient per\nmonth at risk, with the features known at the start of the month.")
	var d dataFlags
	d.register(fs, e)
	var asOf dateFlag
	fs.Var(&asOf, "as-of", "first day not in the data, YYYY-MM-DD (default: the day after the latest source date)")
	if err := parse(fs, args); err != nil {
		return err
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	_, err = stepETL(ctx, e, "", store, asOf.t)
	return err
}

// trainFlags configure a fit.
type trainFlags struct {
	spec     string
	link     string
	penalty  string
	lambda   string
	alpha    float64
	folds    int
	baseline string
	holdout  optionalFloat
	out      string
}

// optionalFloat is a float flag that knows whether it was given, for
// defaults that depend on other flags.
type optionalFloat struct {
	v   float64
	set bool
}

func (o *optionalFloat) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.FormatFloat(o.v, 'g', -1, 64)
}

func (o *optionalFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("want a number")
	}
	o.v, o.set = v, true
	return nil
}

func (t *trainFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&t.spec, "spec", envDefault(e, "CARESIGNAL_SPEC", ""), "feature spec JSON file (default: the built-in engagement spec) (env CARESIGNAL_SPEC)")
	fs.StringVar(&t.link, "link", "logit", "link: logit (coefficients are log odds ratios) or cloglog (grouped-time proportional hazards: log hazard ratios)")
	fs.StringVar(&t.penalty, "penalty", "", "none, l2 or elasticnet (default l2 on a database, none with --csv); the baseline terms are never penalised")
	fs.StringVar(&t.lambda, "lambda", "cv", "penalty strength λ in ℓ(β) − λ·[(1−α)/2·Σβ² + α·Σ|β|], or cv to choose it by cross-validation grouped by patient")
	fs.Float64Var(&t.alpha, "alpha", 0.5, "elastic net: the L1 share α of the penalty, in (0, 1]")
	fs.IntVar(&t.folds, "folds", 5, "cross-validation folds (patients, never rows, are split between them)")
	fs.StringVar(&t.baseline, "baseline", "", "baseline hazard, overriding the spec's: months (one term per month, sparse tail pooled), periods (one term\nper period seen), piecewise:1,2,4,7 (intervals starting at those months), spline:DF (natural cubic spline, DF−1\ninterior knots at quantiles), or intercept (one constant hazard)")
	fs.Var(&t.holdout, "holdout", "`share` of patients held out to measure the model (default 0.2 on a database, 0 with --csv)")
	fs.StringVar(&t.out, "out", "", "where to save the model (default <data-dir>/"+modelFileName+"; required with --csv)")
}

// options turns the flags into training options; fromCSV picks the
// defaults of a fit from a file.
func (t *trainFlags) options(fromCSV bool) (model.TrainOptions, error) {
	opt := model.TrainOptions{Link: survival.Link(t.link), Penalty: t.penalty, Alpha: t.alpha, Folds: t.folds, Holdout: t.holdout.v}
	if opt.Penalty == "" {
		opt.Penalty = model.PenaltyL2
		if fromCSV {
			opt.Penalty = model.PenaltyNone
		}
	}
	if !t.holdout.set {
		opt.Holdout = 0.2
		if fromCSV {
			opt.Holdout = 0
		}
	}
	if t.lambda == "cv" {
		opt.CV = opt.Penalty != model.PenaltyNone
	} else if opt.Penalty == model.PenaltyNone {
		return opt, caresignal.Invalidf("lambda", "--lambda %s sets a penalty's strength, but the penalty is none; add --penalty l2 or elasticnet", t.lambda)
	} else {
		v, err := strconv.ParseFloat(t.lambda, 64)
		if err != nil {
			return opt, caresignal.Invalidf("lambda", "--lambda must be a number or cv, got %q", t.lambda)
		}
		opt.Lambda = v
	}
	return opt, opt.Validate()
}

// applyBaseline overrides the spec's baseline with --baseline.
func (t *trainFlags) applyBaseline(spec *feature.Spec) error {
	if t.baseline == "" {
		return nil
	}
	b, err := parseBaseline(t.baseline)
	if err != nil {
		return err
	}
	spec.Baseline = b
	return spec.Validate()
}

// parseBaseline reads the --baseline flag.
func parseBaseline(s string) (feature.Baseline, error) {
	kind, arg, _ := strings.Cut(s, ":")
	bad := caresignal.Invalidf("baseline", "--baseline %q: want months, periods, piecewise:1,2,4,7, spline:DF or intercept", s)
	switch kind {
	case "months":
		if arg != "" {
			return feature.Baseline{}, bad
		}
		return feature.Baseline{Type: feature.BaselineMonths}, nil
	case "periods":
		if arg != "" {
			return feature.Baseline{}, bad
		}
		return feature.Baseline{Type: feature.BaselineMonths, MinEvents: 1}, nil
	case "intercept":
		if arg != "" {
			return feature.Baseline{}, bad
		}
		return feature.Baseline{Type: feature.BaselinePiecewise, Breaks: []int{1}}, nil
	case "piecewise":
		var breaks []int
		for _, f := range strings.Split(arg, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return feature.Baseline{}, bad
			}
			breaks = append(breaks, v)
		}
		return feature.Baseline{Type: feature.BaselinePiecewise, Breaks: breaks}, nil
	case "spline":
		df := 4
		if arg != "" {
			v, err := strconv.Atoi(arg)
			if err != nil || v < 1 {
				return feature.Baseline{}, bad
			}
			df = v
		}
		return feature.Baseline{Type: feature.BaselineSpline, DF: df}, nil
	}
	return feature.Baseline{}, bad
}

func (t *trainFlags) loadSpec() (*feature.Spec, error) {
	if t.spec == "" {
		return feature.ParseSpecBytes(caresignal.EngagementSpec)
	}
	b, err := os.ReadFile(t.spec)
	if err != nil {
		return nil, err
	}
	s, err := feature.ParseSpecBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.spec, err)
	}
	return s, nil
}

func runTrain(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "train", "", `Fit the discrete-time hazard model — a binomial regression on person-period rows, by Newton's method —
and save the artifact. By default it reads the training extract from the database, fits the feature
spec with an L2 penalty chosen by cross-validation grouped by patient, and measures the model on
held-out patients. With --csv it fits a person-period table from any source instead, with the
columns named by flags and no spec file: numeric columns as given, categorical ones one-hot with the
first level (in sorted order) as reference, one baseline term per period, no penalty unless asked.

Examples:
  caresignal train --link cloglog
  caresignal train --csv pp.csv --id id --event event --period period --numeric age,karno \
      --categorical celltype --link cloglog --out cells.model.json`)
	var d dataFlags
	d.register(fs, e)
	var t trainFlags
	t.register(fs, e)
	var c csvColumns
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	fromCSV := c.path != ""
	opt, err := t.options(fromCSV)
	if err != nil {
		return err
	}
	if fromCSV {
		if t.out == "" {
			fmt.Fprintln(e.stderr, "train: --out is required with --csv")
			fs.Usage()
			return errUsage
		}
		if t.spec != "" {
			return caresignal.Invalidf("spec", "--spec and --csv do not go together: with --csv the columns are named by --numeric and --categorical")
		}
		return trainFromCSV(ctx, e, &c, &t, opt)
	}
	if c.event != "" || c.period != "" || c.id != "" || c.numeric != "" || c.categorical != "" {
		return caresignal.Invalidf("csv", "--event, --period, --id, --numeric and --categorical name the columns of a --csv file; give --csv too")
	}
	spec, err := t.loadSpec()
	if err != nil {
		return err
	}
	if err := t.applyBaseline(spec); err != nil {
		return err
	}
	if t.out == "" {
		t.out = d.modelPath()
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	_, err = stepTrain(ctx, e, "", store, d.kind(), spec, opt, t.out)
	return err
}

func runExtract(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "extract", "", "Write the training extract that train reads — one row per patient per complete month at risk,\nwith its status, 0/1 event and features — to a CSV file, to fit or check the model elsewhere.\nThe file holds patient ids: treat it as health data.")
	var d dataFlags
	d.register(fs, e)
	out := fs.String("out", "", "CSV file to write (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(e.stderr, "extract: --out is required")
		fs.Usage()
		return errUsage
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	x, err := store.TrainingExtract(ctx)
	if err != nil {
		return err
	}
	if err := writeExtractCSV(*out, x); err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	fmt.Fprintf(e.stdout, "wrote %s person-period rows with %d feature columns to %s\n", count(len(x.Rows)), len(x.Columns), *out)
	return nil
}

func runScore(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "score", "", "Score every currently enrolled patient (the prediction extract) with a saved model and write the\nresults to the scores table, replacing an earlier run of the same model and as-of date.")
	var d dataFlags
	d.register(fs, e)
	modelPath := fs.String("model", envDefault(e, "CARESIGNAL_MODEL", ""), "model artifact (default <data-dir>/"+modelFileName+") (env CARESIGNAL_MODEL)")
	horizon := fs.Int("horizon", caresignal.DefaultHorizon, "months to predict")
	csvPath := fs.String("csv", "", "also write the scores, with each patient's hazard curve, to this CSV file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *modelPath == "" {
		*modelPath = d.modelPath()
	}
	m, err := model.LoadFile(*modelPath)
	if err != nil {
		return err
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := ensurePublished(ctx, e, store, *modelPath, m, "caresignal score"); err != nil {
		return err
	}
	return stepScore(ctx, e, "", store, m, *horizon, *csvPath)
}

func runPredict(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "predict", "", "Read one POST /api/engagement request body (one patient, or {\"instances\": [...]}) from stdin or\n--in and print exactly the API's response. Bad input prints the API's JSON error and exits 1.")
	modelPath := fs.String("model", envDefault(e, "CARESIGNAL_MODEL", ""), "model artifact (required) (env CARESIGNAL_MODEL)")
	in := fs.String("in", "", "read the request from this file instead of stdin")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *modelPath == "" {
		fmt.Fprintln(e.stderr, "predict: --model is required")
		fs.Usage()
		return errUsage
	}
	m, err := model.LoadFile(*modelPath)
	if err != nil {
		return err
	}
	var r io.Reader = e.stdin
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	body, err := io.ReadAll(io.LimitReader(r, wire.MaxBodyBytes+1))
	if err != nil {
		return err
	}
	var out any
	var failure error
	if len(body) > wire.MaxBodyBytes {
		failure = caresignal.Errorf(caresignal.ETOOLARGE, "request body exceeds %d bytes", wire.MaxBodyBytes)
	} else if req, err := wire.DecodeRequest(body, nil); err != nil {
		failure = err
	} else if out, err = serving.Score(m, req.Instances, req.Batch); err != nil {
		failure = err
	}
	if failure != nil {
		out = wire.NewErrorBody(failure)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(out); err != nil {
		return err
	}
	if _, err := e.stdout.Write(buf.Bytes()); err != nil {
		return err
	}
	if failure != nil {
		return fmt.Errorf("bad request: %s", caresignal.ErrorMessage(failure))
	}
	return nil
}
