package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/caresignal/caresignal/model"
)

func runInspect(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "inspect", "MODEL", `Print a model's summary: the coefficients on the original scale of the inputs (numeric covariates per
unit, levels against the reference level), their standard errors, odds ratios (logit) or hazard
ratios (cloglog) with 95% Wald intervals, p-values for unpenalised fits, the log-likelihood,
deviance, AIC and BIC, and the cross-validation curve that chose the penalty. --json prints
the same summary as JSON, the body of GET /api/models/{name}'s "summary".`)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	paths, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(paths) != 1 {
		fmt.Fprintln(e.stderr, "inspect: give exactly one model file")
		fs.Usage()
		return errUsage
	}
	m, err := model.LoadFile(paths[0])
	if err != nil {
		return err
	}
	s := m.Summary()
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	printSummary(e, m, s)
	return nil
}

func printSummary(e *env, m *model.Model, s model.Summary) {
	w := e.stdout
	if im := m.Imported; im != nil {
		fmt.Fprintf(w, "model %q version %s: imported %s\n", s.Name, s.Version, im.Describe)
		fmt.Fprintf(w, "from: %s file %s, scikit-learn %s, imported %s\n", im.Format, im.FileName, im.SklearnVersion, m.Training.TrainedAt.Format("2006-01-02 15:04 MST"))
		fmt.Fprintf(w, "period column: %s (set to each future month)\n", im.PeriodColumn)
		for _, in := range im.Inputs {
			switch {
			case in.Categorical:
				fmt.Fprintf(w, "input %s: categorical, levels %s\n", in.Name, strings.Join(in.Levels, ", "))
			default:
				fmt.Fprintf(w, "input %s: numeric\n", in.Name)
			}
		}
		for _, n := range s.Notes {
			fmt.Fprintln(w, "note: "+n)
		}
		return
	}
	fmt.Fprintf(w, "model %q version %s: %s, %s link (coefficients on the %s scale; exp = %s)\n", s.Name, s.Version, s.Kind, s.Link, s.Scale, s.Ratio)
	fmt.Fprintf(w, "baseline: %s\n", s.Baseline)
	switch {
	case s.Penalty.Type == model.PenaltyNone:
		fmt.Fprintln(w, "penalty: none (maximum likelihood)")
	case s.Penalty.Type == model.PenaltyElasticNet:
		fmt.Fprintf(w, "penalty: elastic net, λ = %.6g, L1 share α = %g\n", s.Penalty.Lambda, s.Penalty.Alpha)
	default:
		fmt.Fprintf(w, "penalty: %s, λ = %.6g\n", s.Penalty.Type, s.Penalty.Lambda)
	}
	fmt.Fprintf(w, "fit: %s rows, %s events, %s subjects; %d Newton iterations, converged %v, |gradient| %.1e\n",
		count(s.NRows), count(s.NEvents), count(s.NPatients), s.Iterations, s.Converged, s.GradNorm)
	fmt.Fprintf(w, "log-likelihood %.6f, deviance %.6f", s.LogLik, s.Deviance)
	if s.AIC != nil {
		fmt.Fprintf(w, ", AIC %.4f, BIC %.4f", *s.AIC, *s.BIC)
	}
	fmt.Fprintf(w, ", %.2f effective parameters\n\n", s.EDF)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	obs := s.Link == "cloglog"
	head := "term\testimate\tstd error\t"
	if obs {
		head += "se (observed)\t"
	}
	head += strings.ToLower(s.Ratio) + "\t95% interval\tz\tp\t"
	fmt.Fprintln(tw, head)
	for _, c := range s.Coefficients {
		line := fmt.Sprintf("%s\t%.6f\t", c.Name, c.Estimate)
		if c.StdError == nil {
			line += "—\t"
		} else {
			line += fmt.Sprintf("%.6f\t", *c.StdError)
		}
		if obs {
			if c.StdErrorObserved == nil {
				line += "—\t"
			} else {
				line += fmt.Sprintf("%.6f\t", *c.StdErrorObserved)
			}
		}
		line += fmt.Sprintf("%.4f\t", c.Ratio)
		if c.CILow != nil {
			line += fmt.Sprintf("[%.4f, %.4f]\t", *c.CILow, *c.CIHigh)
		} else {
			line += "—\t"
		}
		if c.Z != nil {
			line += fmt.Sprintf("%.3f\t%s\t", *c.Z, formatP(*c.P))
		} else {
			line += "—\t—\t"
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, n := range s.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	if cv := m.Training.Penalty.CV; cv != nil {
		fmt.Fprintf(w, "\ncross-validation (%d folds, grouped by patient): held-out deviance per row by λ\n", cv.Folds)
		printCVCurve(w, cv)
	}
}

// printCVCurve draws the cross-validation curve as horizontal bars, one
// line per λ, the chosen one marked.
func printCVCurve(w interface{ Write([]byte) (int, error) }, cv *model.CVCurve) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, d := range cv.Deviance {
		lo, hi = math.Min(lo, d), math.Max(hi, d)
	}
	const width = 40
	for i, l := range cv.Lambdas {
		n := 1
		if hi > lo {
			n = 1 + int(math.Round(float64(width-1)*(cv.Deviance[i]-lo)/(hi-lo)))
		}
		mark := ""
		switch l {
		case cv.Chosen:
			mark = "  ← chosen (lowest)"
		case cv.OneSE:
			mark = "  ← one-SE rule"
		}
		fmt.Fprintf(w, "  λ %-10.4g %.6f ± %.6f %s%s\n", l, cv.Deviance[i], cv.SE[i], strings.Repeat("█", n), mark)
	}
}
