package monitor

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/model"
)

// ReportOptions configure BuildReport. Zero fields take the defaults.
type ReportOptions struct {
	// Model is the model name (default: the name of the newest scoring
	// run in the prediction log).
	Model string
	// Run is the scoring run whose patients are followed up for the
	// outcome metrics (default: the oldest run at least one month before
	// the follow-up's as-of date, i.e. the longest follow-up).
	Run string
	// At are the months of the Brier score and time-dependent AUC
	// (default 3, 6, 12, those within the follow-up).
	At []int
	// Bootstrap replicates for confidence intervals (default 200; -1 for
	// none) and their seed.
	Bootstrap int
	Seed      uint64
	// Level of the intervals (default 0.95).
	Level float64
	// GroupBy is the feature expected and realised drop-offs are also
	// broken down by (default "program" when the model has it; "-" for
	// none).
	GroupBy string
	// Drift thresholds (defaults: eval.DefaultDriftThresholds).
	Drift eval.DriftThresholds
	// DriftSince, when set, makes the drift section compare the API
	// requests (not batch scores) logged since then instead of the newest
	// scoring run's patients.
	DriftSince time.Time
	// PseudonymKey matches source ids to a pseudonymised prediction log.
	PseudonymKey []byte
	// Tolerance of the parity check (default DefaultTolerance), and the
	// first time it covers (default: the whole log; a large log wants a
	// window, such as the time since the last report).
	Tolerance   float64
	ParitySince time.Time
	// Now stamps the report (default time.Now).
	Now func() time.Time
	// Progress, if not nil, is told each stage as it starts.
	Progress func(stage string)
	// Compare are models to measure month by month ahead beside the
	// outcome run's own, on its patients (see CompareHorizons): another
	// horizon model trained on the same data, say. None: no such section.
	Compare []*model.Model
}

// Report is the monitoring report: parity, outcomes, expected against
// realised drop-offs and drift, with the checks that failed.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	Model       string    `json:"model"`
	Version     string    `json:"version"`
	// FollowUpAsOf is the as-of date of the database's person-period
	// table, which the outcomes come from.
	FollowUpAsOf time.Time     `json:"follow_up_as_of"`
	Parity       *ParityReport `json:"parity"`
	Runs         []RunInfo     `json:"runs"`
	// Outcomes are the metrics of the followed-up run; nil when no run
	// has a complete month of follow-up.
	Outcomes *OutcomeSection `json:"outcomes"`
	// Horizons compares the outcome run's model with ReportOptions.Compare
	// month by month ahead; nil without models to compare.
	Horizons *HorizonComparison `json:"horizons,omitempty"`
	// NextMonth measures the hazard the worklist ranks by, that of the
	// month in progress at scoring, pooled over the runs whose month is
	// over (one row per patient and run; nil before any). Its ranking
	// (AUC) and calibration slope are meaningful; its level is not: the
	// month was partly over when scored, so fewer drop-offs remain in it
	// than its hazard counts (the intercept is negative for that reason,
	// and FullMonths explains why the other sections start after it).
	NextMonth *eval.SurvivalMetrics `json:"next_month"`
	Expected  []ExpectedMonth       `json:"expected"`
	// Shadows compare each shadow version's answers with production's on
	// the same requests (empty without a shadow in the log).
	Shadows []ShadowComparison `json:"shadows"`
	// Drift compares the newest run's patients with the model's training
	// reference; nil when the model has none.
	Drift *eval.DriftReport `json:"drift"`
	// DriftWindow says which live rows the drift section compares: a
	// scoring run, or the API requests of a time window.
	DriftWindow string `json:"drift_window,omitempty"`
	// Outreach says what followed the care team's contacts with each
	// run's high band, newest run first (OutreachRun).
	Outreach   []OutreachRun      `json:"outreach"`
	Flags      []string           `json:"flags"`
	Figures    map[string]float64 `json:"figures"`
	Notes      []string           `json:"notes"`
	ElapsedSec float64            `json:"elapsed_seconds"`
}

// RunInfo describes one scoring run in the prediction log.
type RunInfo struct {
	ID       string    `json:"id"`
	AsOf     time.Time `json:"as_of"`
	Version  string    `json:"version"`
	Patients int       `json:"patients"`
}

// OutcomeSection holds the outcome metrics of one run.
type OutcomeSection struct {
	Run  string    `json:"run"`
	AsOf time.Time `json:"as_of"`
	// Patients scored; Followed, those with at least one complete month
	// (the rest are excluded: nothing is known of them yet).
	Patients int                  `json:"patients"`
	Followed int                  `json:"followed"`
	Metrics  eval.SurvivalMetrics `json:"metrics"`
	// PredictedSurvival is the mean predicted S(t) of the followed
	// patients, t = 1..horizon, beside the metrics' Kaplan–Meier.
	PredictedSurvival []float64 `json:"predicted_survival"`
}

// BuildReport gathers the monitoring report from a database: it rescores
// the prediction log (parity), follows the scoring runs' patients up in
// the person-period table of the latest ELT, and compares the newest
// run's inputs with the training reference.
func BuildReport(ctx context.Context, store caresignal.Store, opt ReportOptions) (*Report, error) {
	start := time.Now()
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Level == 0 {
		opt.Level = 0.95
	}
	if !(opt.Level > 0 && opt.Level < 1) {
		return nil, caresignal.Invalidf("level", "the interval level must be between 0 and 1, got %g", opt.Level)
	}
	if opt.Bootstrap == 0 {
		opt.Bootstrap = 200
	}
	progress := func(s string) {
		if opt.Progress != nil {
			opt.Progress(s)
		}
	}
	rep := &Report{GeneratedAt: opt.Now().UTC(), Flags: []string{}, Figures: map[string]float64{}, Notes: []string{}, Expected: []ExpectedMonth{}, Runs: []RunInfo{}, Shadows: []ShadowComparison{}}

	progress("reading the scoring runs")
	runs, skipped, err := ScoreRuns(ctx, store, caresignal.PredictionFilter{Model: opt.Model})
	if err != nil {
		return nil, err
	}
	if skipped > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d scoring records could not be read and were left out", skipped))
	}
	if len(runs) == 0 {
		what := "the prediction log holds no scoring run"
		if opt.Model != "" {
			what += " of " + opt.Model
		}
		return nil, caresignal.Errorf(caresignal.ENOTFOUND, "%s: run caresignal score first", what)
	}
	if opt.Model == "" {
		opt.Model = runs[len(runs)-1].Model
		runs = slices.DeleteFunc(runs, func(r *ScoreRun) bool { return r.Model != opt.Model })
	}
	newest := runs[len(runs)-1]
	rep.Model, rep.Version = newest.Model, newest.Version
	// The report is of one version: the newest run's.
	all := len(runs)
	runs = slices.DeleteFunc(runs, func(r *ScoreRun) bool { return r.Version != newest.Version })
	if left := all - len(runs); left > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d scoring runs of other versions of %s are left out", left, newest.Model))
	}
	for _, r := range runs {
		rep.Runs = append(rep.Runs, RunInfo{ID: r.ID, AsOf: r.AsOf, Version: r.Version, Patients: len(r.Patients)})
	}

	progress("rescoring the prediction log (parity)")
	rep.Parity, err = Parity(ctx, store, RegistryLoader(store), ParityOptions{Filter: caresignal.PredictionFilter{Model: opt.Model, From: opt.ParitySince}, Tolerance: opt.Tolerance})
	if err != nil {
		return nil, err
	}
	rep.Figures["parity.checked"] = float64(rep.Parity.Checked)
	rep.Figures["parity.mismatched"] = float64(rep.Parity.Mismatched)

	rep.Shadows, err = CompareShadows(ctx, store, caresignal.PredictionFilter{Model: opt.Model, From: opt.ParitySince})
	if err != nil {
		return nil, err
	}
	for _, c := range rep.Shadows {
		rep.Figures["shadow."+c.Shadow+".mean_abs_diff"] = c.MeanAbsDiff
		if c.TopDecileAgreement != nil {
			rep.Figures["shadow."+c.Shadow+".top_decile_agreement"] = *c.TopDecileAgreement
		}
	}

	progress("following the scored patients up")
	followAsOf, err := store.LastELT(ctx)
	if err != nil {
		return nil, err
	}
	rep.FollowUpAsOf = followAsOf
	pp, err := store.PersonPeriod(ctx)
	if err != nil {
		return nil, err
	}
	m, err := model.FromRegistry(ctx, store, newest.Model, newest.Version)
	if err != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the newest run's model version %s could not be loaded from the registry, so there is no drift section: %v", newest.Version, err))
		m = nil
	}
	groupBy := opt.GroupBy
	if groupBy == "-" {
		groupBy = ""
	} else if groupBy == "" && m != nil && hasCategorical(m, "program") {
		groupBy = "program"
	}

	var outcomeRun *ScoreRun
	for _, r := range runs {
		if opt.Run != "" && r.ID == opt.Run {
			outcomeRun = r
		}
	}
	if opt.Run != "" && outcomeRun == nil {
		return nil, caresignal.Errorf(caresignal.ENOTFOUND, "no scoring run %q of %s in the prediction log", opt.Run, opt.Model)
	}
	if outcomeRun == nil {
		for _, r := range runs {
			if !r.AsOf.AddDate(0, 1, 0).After(followAsOf) {
				outcomeRun = r
				break
			}
		}
	}

	var next struct {
		obs  []eval.Outcome
		surv [][]float64
	}
	for _, r := range runs {
		if r.AsOf.After(followAsOf) {
			rep.Notes = append(rep.Notes, fmt.Sprintf("run %s is dated after the person-period table (%s) and is not followed up", r.ID, followAsOf.Format(time.DateOnly)))
			continue
		}
		outcomes, err := FollowUp(pp, r.Patients, opt.PseudonymKey)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", describeRun(r), err)
		}
		// Counted from the end of the month in progress at scoring: see
		// FullMonths.
		full, fullOutcomes := FullMonths(r, outcomes)
		for i := range r.Patients {
			// The month in progress at scoring, which the worklist ranks
			// by: a drop-off in it at 1, or engaged past it (censored
			// later, at 2).
			var o eval.Outcome
			switch outcomes[i].Month(1) {
			case Dropped:
				o = eval.Outcome{Time: 1, Event: true}
			case Stayed:
				o = eval.Outcome{Time: 2}
			default:
				continue
			}
			next.obs = append(next.obs, o)
			next.surv = append(next.surv, []float64{1 - r.Patients[i].Hazard[0]})
		}
		// Expected against realised drop-offs in the first month counted:
		// the month in progress from the scoring date when the run scored
		// its rest (MidMonth), else the first whole month after it.
		expRun, expOutcomes := full, fullOutcomes
		if r.MidMonth() {
			expRun, expOutcomes = r, outcomes
		}
		rows, err := ExpectedVsRealised(expRun, expOutcomes, 1, groupBy, opt.Level)
		if err != nil {
			return nil, err
		}
		rep.Expected = append(rep.Expected, rows...)
		if r == outcomeRun {
			progress("measuring the outcomes")
			sec, err := outcomeSection(full, fullOutcomes, opt)
			if err != nil {
				return nil, err
			}
			rep.Outcomes = sec
			if len(opt.Compare) > 0 && m != nil {
				progress("comparing models by horizon")
				if rep.Horizons, err = CompareHorizons(r, outcomes, append([]*model.Model{m}, opt.Compare...),
					HorizonOptions{Bootstrap: max(opt.Bootstrap, 0), Seed: opt.Seed, Level: opt.Level}); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(next.obs) > 0 {
		progress("measuring next-month hazards")
		met, err := eval.EvaluateSurvival(next.obs, next.surv, eval.SurvivalOptions{At: []int{1}, Level: opt.Level})
		if err != nil {
			return nil, err
		}
		rep.NextMonth = &met
		put := func(name string, v *float64) {
			if v != nil {
				rep.Figures[name] = *v
			}
		}
		if a, ok := met.TDAUC["1"]; ok {
			rep.Figures["next_month.auc"] = a
		}
		put("next_month.calibration.slope", met.CalibrationSlope)
		put("next_month.calibration.intercept", met.CalibrationIntercept)
	}
	// Over every run's group rows, not one run's.
	FlagGroups(rep.Expected, opt.Level)
	if rep.Outcomes == nil {
		rep.Notes = append(rep.Notes, "no scoring run has a complete month of follow-up yet, so there are no outcome metrics: they need a run scored at least a month before the latest ELT")
	} else {
		addOutcomeFigures(rep.Figures, &rep.Outcomes.Metrics)
	}

	if m != nil {
		progress("comparing inputs with the training reference (drift)")
		if ref := m.Reference(); ref == nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("model version %s keeps no training reference (imported, or saved by an older build), so there is no drift section", m.Version))
		} else {
			window, patients := "scoring run "+newest.ID, newest.Patients
			if !opt.DriftSince.IsZero() {
				patients, err = APIRequests(ctx, store, caresignal.PredictionFilter{Model: newest.Model, Version: newest.Version, From: opt.DriftSince})
				if err != nil {
					return nil, err
				}
				window = fmt.Sprintf("API requests since %s", opt.DriftSince.UTC().Format(time.RFC3339))
			}
			live := make([]map[string]caresignal.Value, len(patients))
			hazards := make([]float64, len(patients))
			for i := range patients {
				live[i] = patients[i].Features
				// The training reference holds whole months' hazards; a
				// patient scored part-way through a month has the
				// rest's (caresignal.MonthInProgress), which would read
				// as a drift down.
				hazards[i] = caresignal.WholeMonth(patients[i].Hazard[0], patients[i].DaysElapsed)
			}
			d := ref.Compare(live, hazards, opt.Drift)
			rep.Drift, rep.DriftWindow = &d, window
			for _, f := range append(slices.Clone(d.Features), derefDrift(d.Prediction)...) {
				if f.PSI != nil {
					rep.Figures["drift.psi."+f.Name] = *f.PSI
				}
				if f.Type == eval.TypeCategorical {
					// Patients with a level training never saw: batch
					// scoring scored them by the spec's batch policy (the
					// reference level, for the engagement model's).
					rep.Figures["unseen."+f.Name] = float64(f.OtherLevels)
				}
			}
		}
	}
	progress("following up the care team's contacts")
	if rep.Outreach, err = outreach(ctx, store, rep.Runs); err != nil {
		return nil, err
	}
	if len(rep.Outreach) > 0 {
		rep.Figures["outreach.flagged"] = float64(rep.Outreach[0].Flagged)
		rep.Figures["outreach.contacted"] = float64(rep.Outreach[0].Contacted)
	}
	// The failed checks, as Assess reads them from the same data.
	rep.Flags = flags(rep.checks())
	rep.Figures["flags"] = float64(len(rep.Flags))
	rep.ElapsedSec = time.Since(start).Seconds()
	return rep, nil
}

func derefDrift(f *eval.FeatureDrift) []eval.FeatureDrift {
	if f == nil {
		return nil
	}
	return []eval.FeatureDrift{*f}
}

func hasCategorical(m *model.Model, name string) bool {
	for _, in := range m.Inputs() {
		if in.Name == name && in.Categorical {
			return true
		}
	}
	return false
}

// outcomeSection measures a run's predictions against its follow-up.
func outcomeSection(r *ScoreRun, outcomes []Outcome, opt ReportOptions) (*OutcomeSection, error) {
	sec := &OutcomeSection{Run: r.ID, AsOf: r.AsOf, Patients: len(r.Patients)}
	var obs []eval.Outcome
	var surv [][]float64
	for i := range r.Patients {
		if outcomes[i].Time < 1 {
			continue
		}
		obs = append(obs, eval.Outcome{Time: float64(outcomes[i].Time), Event: outcomes[i].Event})
		surv = append(surv, r.Patients[i].Survival())
	}
	sec.Followed = len(obs)
	if len(obs) == 0 {
		return nil, nil
	}
	h := len(surv[0])
	maxTime := 0.0
	for _, o := range obs {
		maxTime = max(maxTime, o.Time)
	}
	// Every month of the follow-up that someone is followed beyond (the
	// Brier score and AUC need them), for the plots, unless months are
	// named.
	at := opt.At
	if at == nil {
		for t := 1; t <= h && float64(t) < maxTime; t++ {
			at = append(at, t)
		}
		if at == nil {
			at = []int{1}
		}
	}
	bootstrap := opt.Bootstrap
	if bootstrap < 0 {
		bootstrap = 0
	}
	met, err := eval.EvaluateSurvival(obs, surv, eval.SurvivalOptions{At: at, Bootstrap: bootstrap, Seed: opt.Seed, Level: opt.Level})
	if err != nil {
		return nil, err
	}
	sec.Metrics = met
	sec.PredictedSurvival = meanCurve(surv)
	return sec, nil
}

// addOutcomeFigures copies the headline outcome metrics into figures.
func addOutcomeFigures(fig map[string]float64, m *eval.SurvivalMetrics) {
	put := func(name string, v *float64) {
		if v != nil && !math.IsNaN(*v) {
			fig[name] = *v
		}
	}
	fig["outcomes.n"] = float64(m.N)
	fig["outcomes.events"] = float64(m.Events)
	put("harrell_c", m.HarrellC)
	put("uno_c", m.UnoC)
	put("ibs", m.IBS)
	put("calibration.slope", m.CalibrationSlope)
	put("calibration.intercept", m.CalibrationIntercept)
	for k, v := range m.Brier {
		fig["brier."+k] = v
	}
	for k, v := range m.TDAUC {
		fig["td_auc."+k] = v
	}
}
