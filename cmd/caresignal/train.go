package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/survival"
)

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
	horizon  string
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
	fs.StringVar(&t.spec, "spec", envDefault(e, "CARESIGNAL_SPEC", ""), "feature spec JSON file (default: the built-in engagement spec, as specs/engagement.json); with --csv it names the file's features and how to prepare them (env CARESIGNAL_SPEC)")
	fs.StringVar(&t.link, "link", "logit", "link: logit (coefficients are log odds ratios) or cloglog (grouped-time proportional hazards: log hazard ratios)")
	fs.StringVar(&t.penalty, "penalty", "", "none, l2 or elasticnet (default l2 on a database or with --csv and --spec, none for a --csv table); the baseline terms are never penalised")
	fs.StringVar(&t.lambda, "lambda", "cv", "penalty strength λ in ℓ(β) − λ·[(1−α)/2·Σβ² + α·Σ|β|], or cv to choose it by cross-validation grouped by patient")
	fs.Float64Var(&t.alpha, "alpha", 0.5, "elastic net: the L1 share α of the penalty, in (0, 1]")
	fs.IntVar(&t.folds, "folds", 5, "cross-validation folds (patients, never rows, are split between them)")
	fs.StringVar(&t.baseline, "baseline", "", "baseline hazard, overriding the spec's: months (one term per month, sparse tail pooled), periods (one term\nper period seen), piecewise:1,2,4,7 (intervals starting at those months), spline:DF (natural cubic spline, DF−1\ninterior knots at quantiles), or intercept (one constant hazard)")
	fs.Var(&t.holdout, "holdout", "`share` of patients held out to measure the model (default 0.2 on a database or with --csv and --spec, 0 for a --csv table)")
	fs.StringVar(&t.out, "out", "", "where to save the model (default <data-dir>/"+modelFileName+"; required with --csv)")
	fs.StringVar(&t.horizon, "horizon-model", model.HorizonCarryForward, "how months after the next are predicted: carry-forward (one set of coefficients, time-varying features held at\ntoday's values) or landmark (month t+k fitted directly on the features known at t, with a term and\ncoefficients per lag group up to "+strconv.Itoa(caresignal.DefaultHorizon)+" months; standard errors cluster-robust by patient); see docs/model.md")
}

// options turns the flags into training options; fromCSV picks the
// defaults of a fit from a file.
func (t *trainFlags) options(fromCSV bool) (model.TrainOptions, error) {
	opt := model.TrainOptions{Link: survival.Link(t.link), Penalty: t.penalty, Alpha: t.alpha, Folds: t.folds, Holdout: t.holdout.v, HorizonModel: t.horizon}
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
		return feature.Baseline{Type: feature.BaselinePeriods}, nil
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
held-out patients. With --csv it fits a person-period CSV file instead: with --spec, the spec's
features, prepared as the spec says, as from a database (an extract written by "caresignal extract"
gives the very model "train" gives from the database); without it, a table from any source with the
columns named by flags: numeric columns as given (standardised when penalised), categorical ones
one-hot with the first level (in sorted order) as reference, one baseline term per period, no penalty
unless asked.

Examples:
  caresignal train --link cloglog
  caresignal extract --out pp.csv && caresignal train --csv pp.csv --spec specs/engagement.json \
      --id patient_id --event event --period month --out engagement.model.json
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
	// A table fit (columns named by flags) defaults to R's glm: no penalty,
	// no holdout; with a spec file, a file fits as the database does.
	opt, err := t.options(fromCSV && t.spec == "")
	if err != nil {
		return err
	}
	if fromCSV {
		if t.out == "" {
			fmt.Fprintln(e.stderr, "train: --out is required with --csv")
			fs.Usage()
			return errUsage
		}
		if t.spec != "" && (c.numeric != "" || c.categorical != "") {
			return caresignal.Invalidf("spec", "--spec names the features to fit: --numeric and --categorical go without it")
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

func stepTrain(ctx context.Context, e *env, prefix string, store caresignal.Store, kind string, spec *feature.Spec, opt model.TrainOptions, out string) (*model.Model, error) {
	td, err := readTraining(ctx, e, store)
	if err != nil {
		return nil, err
	}
	return td.train(ctx, e, prefix, kind, spec, opt, out)
}

// trainingData is the training extract as read from the store, with the
// ELT's as-of date and the time the read took: what the demo's second
// model is fitted on without reading it again.
type trainingData struct {
	x    *caresignal.Extract
	asOf time.Time
	read time.Duration
}

// readTraining reads the training extract and the ELT's as-of date,
// refusing an empty extract.
func readTraining(ctx context.Context, e *env, store caresignal.Store) (*trainingData, error) {
	p := newProgress(e.stderr, "reading training extract", "")
	p.Tick("querying")
	x, err := store.TrainingExtract(ctx)
	el := p.Finish()
	if err != nil {
		return nil, err
	}
	asOf, err := store.LastELT(ctx)
	if err != nil {
		return nil, err
	}
	if len(x.Rows) == 0 {
		return nil, caresignal.Errorf(caresignal.EINVALID, "the training extract is empty: no person-period month has ended by the ELT's as-of date (%s)", asOf.Format(time.DateOnly))
	}
	return &trainingData{x: x, asOf: asOf, read: el}, nil
}

// train reports the read, fits a model on the extract and saves it to out.
func (td *trainingData) train(ctx context.Context, e *env, prefix string, kind string, spec *feature.Spec, opt model.TrainOptions, out string) (*model.Model, error) {
	x := td.x
	fmt.Fprintf(e.stdout, "%sread the training extract: %s person-period rows in %s\n", prefix, count(len(x.Rows)), seconds(td.read))
	opt.Source, opt.AsOf = kind, td.asOf.Format(time.DateOnly)
	m, el, err := fitWithProgress(ctx, e, spec, x, opt)
	if err != nil {
		return nil, err
	}
	if err := m.SaveFile(out); err != nil {
		return nil, fmt.Errorf("saving the model: %w", err)
	}
	printTraining(e, prefix, m, el)
	fmt.Fprintf(e.stdout, "%ssaved the model to %s (version %s)\n", prefix, out, m.Version)
	return m, nil
}

// printTraining summarises a fit: data, penalty, convergence, held-out
// metrics and the feature coefficients.
func printTraining(e *env, prefix string, m *model.Model, el time.Duration) {
	t := m.Training
	ft := m.Features
	compressed := ""
	if t.Fit.CompressedRows > 0 {
		compressed = fmt.Sprintf(", merged into %s binomial rows", count(t.Fit.CompressedRows))
	}
	rows := "rows"
	if m.Landmark != nil {
		rows = "stacked landmark rows"
	}
	fmt.Fprintf(e.stdout, "%strained %q (%s link) on %s %s (%s drop-offs, %s patients; %s held out%s) in %s: %d Newton iterations, |gradient| %.1e\n",
		prefix, m.Name, m.Link, count(t.Fit.Rows), rows, count(t.Fit.Events), count(t.Fit.Patients), count(t.Patients-t.Fit.Patients),
		compressed, seconds(el), t.Fit.Iterations, t.Fit.GradNorm)
	fmt.Fprintf(e.stdout, "      baseline: %s\n", ft.Baseline.Describe())
	if l := m.Landmark; l != nil {
		fmt.Fprintf(e.stdout, "      horizon model: %s; standard errors %s; the coefficients below are the month in progress's (lag 0)\n", l.Describe(), l.Variance)
	}
	switch pen := t.Penalty; {
	case pen.Type == model.PenaltyNone && m.Landmark != nil:
		fmt.Fprintf(e.stdout, "      penalty: none (maximum likelihood); log-likelihood of the stacked rows %.4f (no AIC: a patient's stacked rows are not independent)\n", t.Fit.LogLik)
	case pen.Type == model.PenaltyNone:
		fmt.Fprintf(e.stdout, "      penalty: none (maximum likelihood); log-likelihood %.4f, AIC %.2f\n", t.Fit.LogLik, t.Fit.Deviance+2*float64(len(m.Coef)))
	case pen.CV != nil:
		fmt.Fprintf(e.stdout, "      penalty: %s, λ = %.4g chosen by %d-fold cross-validation grouped by patient (held-out deviance %.5f per row; %d effective parameters)\n",
			pen.Type, pen.Lambda, pen.CV.Folds, minOf(pen.CV.Deviance), int(math.Round(t.Fit.EDF)))
	default:
		fmt.Fprintf(e.stdout, "      penalty: %s, λ = %.4g (%d effective parameters)\n", pen.Type, pen.Lambda, int(math.Round(t.Fit.EDF)))
	}
	if h := t.Test; h != nil {
		auc := "n/a"
		if h.AUC != nil {
			auc = fmt.Sprintf("%.3f", *h.AUC)
		}
		fmt.Fprintf(e.stdout, "      held-out rows: %s, AUC %s, log loss %.4f, Brier %.4f, observed rate %.2f%%, mean predicted %.2f%%\n",
			count(h.Rows), auc, h.LogLoss, h.Brier, 100*h.ObservedRate, 100*h.MeanPredicted)
		if t.HoldoutSkipped > 0 {
			fmt.Fprintf(e.stdout, "      %s held-out rows were left out of these metrics: the model refuses their values (a category no training patient had)\n", count(t.HoldoutSkipped))
		}
	}
	s := m.Summary()
	fmt.Fprintf(e.stdout, "      coefficients (%s per unit of each input, levels against the reference; %s with 95%% interval):\n", s.Scale, s.Ratio)
	for _, c := range s.Coefficients[ft.Baseline.Width():] {
		fmt.Fprintf(e.stdout, "        %s\n", coefficientLine(c))
	}
}

// coefficientLine formats one summary coefficient for the terminal.
func coefficientLine(c model.SummaryCoefficient) string {
	if c.StdError == nil {
		return fmt.Sprintf("%-30s %+10.4f  (set to zero by the L1 penalty)", c.Name, c.Estimate)
	}
	line := fmt.Sprintf("%-30s %+10.4f ± %-8.4f ratio %8.4f [%.4f, %.4f]", c.Name, c.Estimate, *c.StdError, c.Ratio, *c.CILow, *c.CIHigh)
	if c.P != nil {
		line += "  p " + formatP(*c.P)
	}
	return line
}

func formatP(p float64) string {
	if p < 1e-4 {
		return "<0.0001"
	}
	return strconv.FormatFloat(p, 'f', 4, 64)
}

func minOf(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
	}
	return m
}
