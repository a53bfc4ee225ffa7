package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/internal/atomicfile"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/monitor"
)

func runEvaluate(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "evaluate", "The evaluation layer: rescore the prediction log offline (parity), measure a model against observed\noutcomes, and write the monitoring report (accuracy, calibration, expected vs realised drop-offs, drift).", args, []command{
		{"parity", "rescore every logged prediction with its model version and list any difference", runEvaluateParity},
		{"outcomes", "score subjects from a CSV at time zero and measure against their observed durations", runEvaluateOutcomes},
		{"report", "write the HTML and JSON monitoring report from the database", runEvaluateReport},
	})
}

// timeFlag takes a date (YYYY-MM-DD, midnight UTC) or an RFC 3339 time.
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f == nil || f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(s string) error {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		f.t = t
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("want a date YYYY-MM-DD or a time like 2026-11-28T09:30:00Z, got %q", s)
	}
	f.t = t.UTC()
	return nil
}

// logFilterFlags select prediction-log records.
type logFilterFlags struct {
	name, version string
	since, until  timeFlag
}

func (l *logFilterFlags) filter() caresignal.PredictionFilter {
	return caresignal.PredictionFilter{Model: l.name, Version: l.version, From: l.since.t, To: l.until.t}
}

func runEvaluateParity(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "evaluate parity", "", "Rescore every prediction in the prediction log offline, from the inputs as received, with the model\nversion that served it (loaded from the registry and verified), and compare: any hazard or expected-\nmonths difference above --tolerance is a mismatch, listed with its cause. Exits 1 when any differs.")
	var d dataFlags
	d.register(fs, e)
	var lf logFilterFlags
	fs.StringVar(&lf.name, "model", "", "only this model name")
	fs.StringVar(&lf.version, "version", "", "only this model version")
	fs.Var(&lf.since, "since", "only records at or after this date or time")
	fs.Var(&lf.until, "until", "only records before this date or time")
	tol := fs.Float64("tolerance", monitor.DefaultTolerance, "largest absolute difference that counts as equal")
	list := fs.Int("list", 20, "mismatches to list in full")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	return withStore(ctx, fs, &d, args, 0, func(store caresignal.Store, _ []string) error {
		if *list < 1 {
			return caresignal.Invalidf("list", "--list must be at least 1")
		}
		start := time.Now()
		rep, err := monitor.Parity(ctx, store, monitor.RegistryLoader(store), monitor.ParityOptions{Filter: lf.filter(), Tolerance: *tol, MaxListed: *list})
		if err != nil {
			return err
		}
		if *asJSON {
			if err := writeIndented(e, rep); err != nil {
				return err
			}
		} else {
			printParity(e, rep, time.Since(start))
		}
		if !rep.OK() {
			return fmt.Errorf("%d of %d logged predictions differ when rescored", rep.Mismatched, rep.Checked)
		}
		return nil
	})
}

func printParity(e *env, rep *monitor.ParityReport, took time.Duration) {
	fmt.Fprintf(e.stdout, "%s (%s)\n", rep.Summary(), seconds(took))
	if len(rep.Groups) > 0 {
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "\nMODEL\tVERSION\tROUTE\tCHECKED\tDIFFER\tLARGEST DIFFERENCE")
		for _, g := range rep.Groups {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%.3g\n", g.Model, g.Version, g.Route, g.Checked, g.Mismatched, g.MaxAbsDiff)
		}
		tw.Flush()
	}
	if len(rep.Mismatches) > 0 {
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "\nRECORD\tAT\tVERSION\tCAUSE\tMONTH\tDIFFERENCE\tDETAIL")
		for _, m := range rep.Mismatches {
			month, diff := "", ""
			if m.Month > 0 {
				month = fmt.Sprint(m.Month)
			}
			if m.AbsDiff > 0 {
				diff = fmt.Sprintf("%.3g", m.AbsDiff)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.At, m.Version, m.Cause, month, diff, strings.ReplaceAll(m.Detail, "\t", " "))
		}
		tw.Flush()
		if rep.Unlisted > 0 {
			fmt.Fprintf(e.stdout, "… and %d more (--list N shows more, --json all fields)\n", rep.Unlisted)
		}
	}
}

// intList parses "3,6,12".
type intList struct{ v []int }

func (l *intList) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(l.v))
	for i, x := range l.v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(s string) error {
	l.v = nil
	for _, part := range strings.Split(s, ",") {
		x, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || x < 1 || x > caresignal.MaxHorizon {
			return fmt.Errorf("want whole months from 1 to %d separated by commas, got %q", caresignal.MaxHorizon, part)
		}
		l.v = append(l.v, x)
	}
	slices.Sort(l.v)
	l.v = slices.Compact(l.v)
	return nil
}

// loadModelRef loads a model from a file, or from the registry as NAME
// (its production version) or NAME@VERSION. The database is opened only
// for the registry.
func loadModelRef(ctx context.Context, d *dataFlags, ref string) (*model.Model, error) {
	if isModelFile(ref) {
		return model.LoadFile(ref)
	}
	store, _, err := d.open(ctx)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	return registryModel(ctx, store, ref)
}

// isModelFile says a --model reference names an artifact file rather than
// a model in the registry: an existing file, a path, or a .json name.
func isModelFile(ref string) bool {
	_, err := os.Stat(ref)
	return err == nil || strings.ContainsAny(ref, `/\`) || strings.HasSuffix(ref, ".json")
}

// registryModel loads the model ref names in store's registry: NAME (its
// production version) or NAME@VERSION.
func registryModel(ctx context.Context, store caresignal.Store, ref string) (*model.Model, error) {
	name, version, found := strings.Cut(ref, "@")
	if !found {
		v, err := store.ProductionModel(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("--model %s is neither a file nor a model name with a production version: %w", ref, err)
		}
		version = v.Version
	}
	return model.FromRegistry(ctx, store, name, version)
}

func runEvaluateOutcomes(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "evaluate outcomes", "", "Score every subject of a CSV at time zero (covariates from the columns named like the model's inputs)\nand measure the predictions against the observed durations and events, with censoring handled: Harrell's\nand Uno's concordance, time-dependent AUC and IPCW Brier scores at --at months, the integrated Brier\nscore, calibration per month, with bootstrap intervals. Durations are on the model's scale (months;\n--period-length 30 for days).")
	var d dataFlags
	d.register(fs, e)
	ref := fs.String("model", envDefault(e, "CARESIGNAL_MODEL", ""), "model artifact file, or NAME / NAME@VERSION from the registry (required)")
	csvPath := fs.String("csv", "", "subjects CSV: a header row, one row per subject (required)")
	var cols monitor.SubjectColumns
	fs.StringVar(&cols.ID, "id", "id", "subject id column")
	fs.StringVar(&cols.Duration, "duration", "duration", "observed duration column")
	fs.StringVar(&cols.Event, "event", "event", "event column: 1 for a drop-off at the duration, 0 when censored")
	fs.Float64Var(&cols.PeriodLength, "period-length", 1, "duration units per model period (1: months; 30: days)")
	var at intList
	at.v = []int{3, 6, 12}
	fs.Var(&at, "at", "months of the Brier score and time-dependent AUC")
	boot := fs.Int("bootstrap", 200, "bootstrap replicates for the intervals (0: none)")
	seed := fs.Uint64("seed", 1, "bootstrap seed")
	level := fs.Float64("level", 0.95, "interval level")
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	htmlOut := fs.String("report", "", "also write an HTML report with plots to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *ref == "" || *csvPath == "" {
		fmt.Fprintln(e.stderr, "evaluate outcomes: --model and --csv are required")
		fs.Usage()
		return errUsage
	}
	if *boot < 0 {
		return caresignal.Invalidf("bootstrap", "--bootstrap must be 0 or more")
	}
	m, err := loadModelRef(ctx, &d, *ref)
	if err != nil {
		return err
	}
	f, err := os.Open(*csvPath)
	if err != nil {
		return &caresignal.Error{Code: caresignal.ENOTFOUND, Message: "cannot read " + *csvPath, Err: err}
	}
	defer f.Close()
	subjects, err := monitor.ReadSubjects(f, cols, m)
	if err != nil {
		return fmt.Errorf("%s: %w", *csvPath, err)
	}
	horizon := max(at.v[len(at.v)-1], caresignal.DefaultHorizon)
	start := time.Now()
	sec, err := monitor.SubjectOutcomes(m, subjects, horizon, eval.SurvivalOptions{At: at.v, Bootstrap: *boot, Seed: *seed, Level: *level})
	if err != nil {
		return err
	}
	if *htmlOut != "" {
		rep := &monitor.Report{GeneratedAt: time.Now().UTC(), Model: m.Name, Version: m.Version, Outcomes: sec,
			Flags: []string{}, Figures: map[string]float64{}, Notes: []string{fmt.Sprintf("subjects from %s, scored at time zero", filepath.Base(*csvPath))}}
		if err := atomicfile.WriteBytes(*htmlOut, []byte(monitor.RenderHTML(rep))); err != nil {
			return err
		}
	}
	if *asJSON {
		return writeIndented(e, sec.Metrics)
	}
	printOutcomes(e, m, sec, time.Since(start))
	if *htmlOut != "" {
		fmt.Fprintf(e.stdout, "report written to %s\n", *htmlOut)
	}
	return nil
}

// reportFlags configure evaluate report (and the demo's report step).
type reportFlags struct {
	opt         monitor.ReportOptions
	paritySince timeFlag
	driftSince  timeFlag
	at          intList
	htmlPath    string
	jsonPath    string
	noStore     bool
	failOn      bool
	compare     string
}

func (r *reportFlags) register(fs *flag.FlagSet, e *env, withModel bool) {
	if withModel {
		fs.StringVar(&r.opt.Model, "model", "", "model name (default: that of the newest scoring run)")
		fs.StringVar(&r.opt.Run, "run", "", "scoring run to follow up for the outcome metrics (default: the one with the longest follow-up)")
	}
	fs.Var(&r.at, "at", "months of the Brier score and time-dependent AUC (default 3,6,12 within the follow-up)")
	fs.IntVar(&r.opt.Bootstrap, "bootstrap", 200, "bootstrap replicates for the intervals (0: none)")
	fs.Uint64Var(&r.opt.Seed, "bootstrap-seed", 1, "bootstrap seed")
	fs.Float64Var(&r.opt.Level, "level", 0.95, "level of the intervals, and of the expected drop-off interval")
	fs.StringVar(&r.opt.GroupBy, "group-by", "", `feature to break expected vs realised drop-offs down by (default "program" when the model has it; "-": none)`)
	fs.Float64Var(&r.opt.Drift.PSIWarn, "psi-warn", 0.1, "population stability index at which an input's drift warns")
	fs.Float64Var(&r.opt.Drift.PSIBreach, "psi-breach", 0.25, "population stability index at which an input's drift is a breach")
	fs.Float64Var(&r.opt.Drift.PValue, "drift-p", 0.01, "KS / chi-square p-value below which an input's drift warns")
	fs.Float64Var(&r.opt.Drift.TestMinPSI, "drift-test-min-psi", 0.05, "PSI below which a significant KS or chi-square test raises no alarm (-1: any significant test warns)")
	fs.IntVar(&r.opt.Drift.MinCount, "drift-min-rows", 50, "fewest live rows for a drift verdict")
	fs.Var(&r.driftSince, "drift-since", "compare the API requests logged at or after this date or time with the training reference, instead of the newest scoring run")
	fs.Var(&r.paritySince, "parity-since", "rescore only the predictions logged at or after this date or time (default: all)")
	fs.BoolVar(&r.noStore, "no-store", false, "do not keep the report in the database (the server's monitoring page and metrics read it there)")
	fs.BoolVar(&r.failOn, "fail-on-flags", false, "exit with status 1 when any check fails (for scheduled runs)")
	if withModel {
		fs.StringVar(&r.compare, "compare", "", "another model to measure month by month ahead on the outcome run's patients beside the run's own\n(a model file, or NAME@VERSION from the registry): e.g. the other horizon model trained on the same data")
	}
}

func runEvaluateReport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "evaluate report", "", "Write the monitoring report from the database: parity of the prediction log, outcome metrics of the\nscored patients followed up in the latest ELT (concordance, time-dependent AUC, Brier, calibration), expected\nvs realised drop-offs per month and program with Poisson-binomial intervals, and input and prediction\ndrift against the training reference. Writes a self-contained HTML page with plots and the same numbers\nas JSON, and keeps both in the database for the server's /monitoring page and /metrics.")
	var d dataFlags
	d.register(fs, e)
	var r reportFlags
	r.register(fs, e, true)
	fs.StringVar(&r.htmlPath, "html", "", "HTML report file (default <data-dir>/report.html)")
	fs.StringVar(&r.jsonPath, "json", "", "JSON report file (default <data-dir>/report.json)")
	return withStore(ctx, fs, &d, args, 0, func(store caresignal.Store, _ []string) error {
		if r.htmlPath == "" {
			r.htmlPath = filepath.Join(d.dataDir, "report.html")
		}
		if r.jsonPath == "" {
			r.jsonPath = filepath.Join(d.dataDir, "report.json")
		}
		if r.compare != "" {
			m, err := loadModelRef(ctx, &d, r.compare)
			if err != nil {
				return fmt.Errorf("--compare: %w", err)
			}
			r.opt.Compare = []*model.Model{m}
		}
		_, err := stepReport(ctx, e, "", store, &r)
		return err
	})
}

// stepReport builds, writes and stores the monitoring report.
func stepReport(ctx context.Context, e *env, prefix string, store caresignal.Store, r *reportFlags) (*monitor.Report, error) {
	opt := r.opt
	opt.At = r.at.v
	opt.ParitySince = r.paritySince.t
	opt.DriftSince = r.driftSince.t
	if opt.Bootstrap == 0 {
		opt.Bootstrap = -1
	}
	key, err := pseudonymKey(e)
	if err != nil {
		return nil, err
	}
	opt.PseudonymKey = key
	p := newProgress(e.stderr, "evaluating", "stages")
	opt.Progress = func(stage string) { p.Note(stage) }
	rep, err := monitor.BuildReport(ctx, store, opt)
	p.Finish()
	if err != nil {
		return nil, err
	}
	var saver monitor.EvaluationSaver
	if !r.noStore {
		saver = store
	}
	if err := rep.Save(ctx, saver, r.jsonPath, r.htmlPath); err != nil {
		return nil, err
	}
	printReport(e, prefix, rep)
	fmt.Fprintf(e.stdout, "%swrote %s and %s%s\n", indent(prefix), r.htmlPath, r.jsonPath, map[bool]string{false: "; kept in the database for /monitoring and /metrics", true: ""}[r.noStore])
	if r.failOn && len(rep.Flags) > 0 {
		return rep, fmt.Errorf("%d check(s) failed: %s", len(rep.Flags), strings.Join(rep.Flags, ", "))
	}
	return rep, nil
}

// indent is spaces as wide as a step prefix, for continuation lines.
func indent(prefix string) string { return strings.Repeat(" ", len(prefix)) }

func fmtOpt(x *float64) string {
	if x == nil {
		return "—"
	}
	return strconv.FormatFloat(*x, 'f', 4, 64)
}

func fmtCI(m *eval.SurvivalMetrics, key string) string {
	if iv, ok := m.CI[key]; ok {
		return fmt.Sprintf("[%.4f, %.4f]", iv[0], iv[1])
	}
	return ""
}

// printMetrics writes the outcome metrics as a table.
func printMetrics(e *env, m *eval.SurvivalMetrics) {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tVALUE\tINTERVAL")
	fmt.Fprintf(tw, "Harrell's C\t%s\t%s\n", fmtOpt(m.HarrellC), fmtCI(m, "harrell_c"))
	fmt.Fprintf(tw, "Uno's C (τ = %s)\t%s\t%s\n", fmtOpt(m.UnoTau), fmtOpt(m.UnoC), fmtCI(m, "uno_c"))
	for _, t := range m.At {
		k := strconv.Itoa(t)
		if a, ok := m.TDAUC[k]; ok {
			fmt.Fprintf(tw, "AUC at month %d\t%.4f\t%s\n", t, a, fmtCI(m, "td_auc."+k))
		}
		if b, ok := m.Brier[k]; ok {
			fmt.Fprintf(tw, "Brier at month %d\t%.4f\t%s\n", t, b, fmtCI(m, "brier."+k))
		}
	}
	fmt.Fprintf(tw, "integrated Brier (1–%d)\t%s\t%s\n", m.IBSMax, fmtOpt(m.IBS), fmtCI(m, "ibs"))
	fmt.Fprintf(tw, "calibration slope\t%s\t%s\n", fmtOpt(m.CalibrationSlope), fmtCI(m, "calibration_slope"))
	fmt.Fprintf(tw, "calibration intercept\t%s\t%s\n", fmtOpt(m.CalibrationIntercept), fmtCI(m, "calibration_intercept"))
	tw.Flush()
	for _, n := range m.Notes {
		fmt.Fprintln(e.stdout, "note:", n)
	}
}

func printOutcomes(e *env, m *model.Model, sec *monitor.OutcomeSection, took time.Duration) {
	fmt.Fprintf(e.stdout, "%s@%s against %d subjects (%d drop-offs) in %s\n\n", m.Name, m.Version, sec.Metrics.N, sec.Metrics.Events, seconds(took))
	printMetrics(e, &sec.Metrics)
}

// printReport summarises a monitoring report for a terminal.
func printReport(e *env, prefix string, rep *monitor.Report) {
	pad := indent(prefix)
	fmt.Fprintf(e.stdout, "%sevaluated %s@%s in %.1fs: %s\n", prefix, rep.Model, rep.Version, rep.ElapsedSec, rep.Parity.Summary())
	if o := rep.Outcomes; o != nil {
		m := &o.Metrics
		line := fmt.Sprintf("%soutcomes of the %s run: %d patients followed up, %d drop-offs; Harrell's C %s, Uno's C %s, IBS %s, calibration slope %s",
			pad, o.AsOf.Format(time.DateOnly), m.N, m.Events, fmtOpt(m.HarrellC), fmtOpt(m.UnoC), fmtOpt(m.IBS), fmtOpt(m.CalibrationSlope))
		for _, t := range []int{3, 6} {
			if a, ok := m.TDAUC[strconv.Itoa(t)]; ok {
				line += fmt.Sprintf(", AUC(%d) %.4f", t, a)
			}
		}
		fmt.Fprintln(e.stdout, line)
	}
	if nm := rep.NextMonth; nm != nil {
		auc := "—"
		if a, ok := nm.TDAUC["1"]; ok {
			auc = strconv.FormatFloat(a, 'f', 4, 64)
		}
		fmt.Fprintf(e.stdout, "%sthe worklist's month (%d patient-runs, %d drop-offs): AUC %s, calibration slope %s\n", pad, nm.N, nm.Events, auc, fmtOpt(nm.CalibrationSlope))
	}
	if h := rep.Horizons; h != nil {
		fmt.Fprintf(e.stdout, "%smonth by month ahead on the %s run (%d patients; calibration slope by month, integrated Brier score over months 1–%d):\n", pad, h.AsOf.Format(time.DateOnly), h.Patients, h.Horizon)
		for _, m := range h.Models {
			slopes := make([]string, len(m.ByHorizon))
			for i, b := range m.ByHorizon {
				slopes[i] = fmtOpt(b.CalibrationSlope)
				if i < len(m.SlopeCI) && m.SlopeCI[i] != nil {
					slopes[i] += fmt.Sprintf(" [%.2f, %.2f]", m.SlopeCI[i][0], m.SlopeCI[i][1])
				}
			}
			fmt.Fprintf(e.stdout, "%s  %-13s %s  slopes %s; IBS %.4f\n", pad, m.HorizonModel, m.Version, strings.Join(slopes, ", "), m.ByHorizon[len(m.ByHorizon)-1].IBS)
		}
		if h.Verdict != "" {
			fmt.Fprintf(e.stdout, "%s  default by the rule: %s\n", pad, h.Verdict)
		}
	}
	flagged, months := 0, 0
	for _, x := range rep.Expected {
		if x.Group == "all" && x.Realised != nil {
			months++
			if x.Flag {
				flagged++
			}
		}
	}
	if months > 0 {
		fmt.Fprintf(e.stdout, "%sexpected vs realised drop-offs: %d of %d months outside the %.0f%% interval\n", pad, flagged, months, 100*rep.Expected[0].Level)
	}
	if d := rep.Drift; d != nil {
		var bad []string
		for _, f := range d.Features {
			if f.Status == "warn" || f.Status == "breach" {
				bad = append(bad, f.Name+" ("+f.Status+")")
			}
		}
		if d.Prediction != nil && (d.Prediction.Status == "warn" || d.Prediction.Status == "breach") {
			bad = append(bad, "next-month hazard ("+d.Prediction.Status+")")
		}
		if len(bad) == 0 {
			fmt.Fprintf(e.stdout, "%sdrift: none of %d inputs nor the prediction drifted\n", pad, len(d.Features))
		} else {
			fmt.Fprintf(e.stdout, "%sdrift: %s\n", pad, strings.Join(bad, ", "))
		}
	}
	if len(rep.Flags) == 0 {
		fmt.Fprintf(e.stdout, "%severy check passed\n", pad)
	} else {
		fmt.Fprintf(e.stdout, "%s%d check(s) failed\n", pad, len(rep.Flags))
	}
}
