package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/synth"
)

// The pipeline steps, shared by the single-step commands and demo. Each
// prints one result line (prefixed, e.g. "[2/6] ") to stdout and shows its
// progress on stderr while it runs.

func stepGenerate(ctx context.Context, e *env, prefix string, store caresignal.Store, where string, cfg synth.Config) (*synth.Cohort, error) {
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
	p = newProgress(e.stderr, "loading", "rows")
	err = store.ReplaceSource(ctx, src, p.Set)
	el = p.Finish()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(e.stdout, "%sloaded %s source rows into %s in %s\n", prefix,
		count(len(src.Patients)+len(src.Events)+len(src.Disenrolments)), where, seconds(el))
	return c, nil
}

func stepETL(ctx context.Context, e *env, prefix string, store caresignal.Store, asOf time.Time) (caresignal.ELTResult, error) {
	p := newProgress(e.stderr, "ELT", "")
	p.Tick("building person_period")
	res, err := store.RunELT(ctx, asOf)
	el := p.Finish()
	if err != nil {
		return res, err
	}
	var parts []string
	for _, st := range []caresignal.Status{caresignal.StatusSurvived, caresignal.StatusEvent, caresignal.StatusCensored, caresignal.StatusCurrent, caresignal.StatusIncomplete} {
		parts = append(parts, fmt.Sprintf("%s %s", count(res.ByStatus[st]), st))
	}
	fmt.Fprintf(e.stdout, "%sELT as of %s: person_period has %s rows (%s) in %s\n", prefix,
		res.AsOf.Format(time.DateOnly), count(res.Rows), strings.Join(parts, ", "), seconds(el))
	return res, nil
}

func stepTrain(ctx context.Context, e *env, prefix string, store caresignal.Store, kind string, spec *feature.Spec, opt model.TrainOptions, out string) (*model.Model, error) {
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
	fmt.Fprintf(e.stdout, "%sread the training extract: %s person-period rows in %s\n", prefix, count(len(x.Rows)), seconds(el))
	opt.Source, opt.AsOf = kind, asOf.Format(time.DateOnly)
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
	fmt.Fprintf(e.stdout, "%strained %q (%s link) on %s rows (%s drop-offs, %s patients; %s held out%s) in %s: %d Newton iterations, |gradient| %.1e\n",
		prefix, m.Name, m.Link, count(t.Fit.Rows), count(t.Fit.Events), count(t.Fit.Patients), count(t.Patients-t.Fit.Patients),
		compressed, seconds(el), t.Fit.Iterations, t.Fit.GradNorm)
	fmt.Fprintf(e.stdout, "      baseline: %s\n", ft.Baseline.Describe())
	switch pen := t.Penalty; {
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

// stepScore scores every enrolled patient with m (serving.ScoreBatch),
// writes the CSV in full before the database changes and puts it in place
// only once the database has committed, and prints the run's summary.
func stepScore(ctx context.Context, e *env, prefix string, store caresignal.Store, m *model.Model, horizon int, csvPath string) error {
	key, err := pseudonymKey(e)
	if err != nil {
		return err
	}
	p := newProgress(e.stderr, "scoring", "patients")
	b, err := serving.ScoreBatch(ctx, store, m, serving.BatchOptions{Horizon: horizon, PseudonymKey: key, KeepPredictions: csvPath != "", Progress: p.Set})
	if err != nil {
		p.Finish()
		return err
	}
	var csvFile *pendingFile
	if csvPath != "" {
		if csvFile, err = writeScoresCSV(csvPath, b.Scores, b.Predictions); err != nil {
			p.Finish()
			return fmt.Errorf("writing %s: %w", csvPath, err)
		}
		defer csvFile.discard()
	}
	if err := b.Store(ctx, store); err != nil {
		p.Finish()
		return err
	}
	el := p.Finish()
	high := 0
	mean := 0.0
	for _, s := range b.Scores {
		mean += s.HazardNext
		if s.HazardNext >= 0.10 {
			high++
		}
	}
	if len(b.Scores) > 0 {
		mean /= float64(len(b.Scores))
	}
	fmt.Fprintf(e.stdout, "%sscored %s enrolled patients (as of %s, %d-month horizon) into the scores table in %s: mean risk this month %.1f%%, %s at 10%% or more\n",
		prefix, count(len(b.Scores)), b.Run.AsOf.Format(time.DateOnly), b.Run.Horizon, seconds(el), 100*mean, count(high))
	if len(b.Refused) > 0 {
		reasons := make([]string, 0, len(b.Refused))
		for field, n := range b.Refused {
			reasons = append(reasons, fmt.Sprintf("%s (%d)", field, n))
		}
		sort.Strings(reasons)
		fmt.Fprintf(e.stderr, "warning: %d patients could not be scored and are not in the scores table; the model refused their %s\n",
			b.Enrolled-len(b.Scores), strings.Join(reasons, ", "))
	}
	if csvFile != nil {
		if err := csvFile.commit(); err != nil {
			return fmt.Errorf("the scores table is written, but %s is not: %w", csvPath, err)
		}
		fmt.Fprintf(e.stdout, "%swrote %s\n", prefix, csvPath)
	}
	return nil
}
