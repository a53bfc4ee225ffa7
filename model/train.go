package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/survival"
)

// Penalties.
const (
	PenaltyNone       = "none"       // plain maximum likelihood
	PenaltyL2         = "l2"         // ridge
	PenaltyElasticNet = "elasticnet" // L1 + L2
)

// TrainOptions tune Train. Start from DefaultTrainOptions.
type TrainOptions struct {
	// Link is the hazard model's link; "" is logit.
	Link survival.Link
	// Penalty is PenaltyNone, PenaltyL2 or PenaltyElasticNet. The penalty
	// applies to the encoded feature coefficients (per standard deviation
	// for standardised features); the baseline terms are never penalised.
	Penalty string
	// Lambda is the penalty strength λ: the fit maximises
	// ℓ(β) − λ·[(1−α)/2·Σβ² + α·Σ|β|]. With CV set it is ignored.
	Lambda float64
	// Alpha is the elastic net's L1 share α in (0, 1]; default 0.5.
	Alpha float64
	// CV chooses λ by cross-validation grouped by patient: every patient's
	// rows fall in one fold, the held-out deviance is computed for a grid
	// of Lambdas values, and the λ with the lowest mean is refitted on all
	// rows. The curve is kept in the model.
	CV      bool
	Folds   int // default 5
	Lambdas int // grid size, default 20
	// Holdout is the share of patients whose rows are kept out of the fit
	// to measure it; 0: none. Patients are assigned by a hash of their id,
	// so the split is stable across runs and databases.
	Holdout float64
	// Source and AsOf describe where the extract came from, for the record:
	// the kind of database (not its address) or file, and the as-of date.
	Source string
	AsOf   string
	// Now returns the training time; default time.Now.
	Now func() time.Time
	// OnIteration is told about every Newton iteration of the final fit.
	OnIteration func(survival.Iteration)
	// OnCV is told when each cross-validation fit is done.
	OnCV func(done, total int)
	// HorizonModel is HorizonCarryForward ("" too) or HorizonLandmark.
	HorizonModel string
	// Lags is the number of lags a landmark model stacks, 0..Lags−1;
	// default caresignal.DefaultHorizon. Later months are predicted with
	// the last lag group's terms.
	Lags int
}

// DefaultTrainOptions are a logit link, an L2 penalty with its strength
// chosen by 5-fold cross-validation, and a 20% holdout.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{Link: survival.Logit, Penalty: PenaltyL2, CV: true, Holdout: 0.2}
}

// Validate reports the first bad option, naming it, so a command can refuse
// a bad command line before it reads any data.
func (opt TrainOptions) Validate() error { return opt.validate() }

// validate checks the options and fills in the defaults.
func (opt *TrainOptions) validate() error {
	switch opt.HorizonModel {
	case "", HorizonCarryForward:
		opt.HorizonModel, opt.Lags = HorizonCarryForward, 0
	case HorizonLandmark:
		if opt.Lags == 0 {
			opt.Lags = caresignal.DefaultHorizon
		}
		if opt.Lags < 1 || opt.Lags > caresignal.MaxHorizon {
			return caresignal.Invalidf("lags", "a landmark model stacks between 1 and %d lags, got %d", caresignal.MaxHorizon, opt.Lags)
		}
	default:
		return caresignal.Invalidf("horizon-model", "unknown horizon model %q (want %q or %q)", opt.HorizonModel, HorizonCarryForward, HorizonLandmark)
	}
	if !(opt.Holdout >= 0 && opt.Holdout < 1) {
		return caresignal.Invalidf("holdout", "holdout share must be at least 0 and below 1, got %g", opt.Holdout)
	}
	link, err := survival.ParseLink(string(opt.Link))
	if err != nil {
		return caresignal.Invalidf("link", "%v", err)
	}
	opt.Link = link
	switch opt.Penalty {
	case "", PenaltyNone:
		opt.Penalty, opt.Lambda, opt.Alpha, opt.CV = PenaltyNone, 0, 0, false
		return nil
	case PenaltyL2:
		opt.Alpha = 0
	case PenaltyElasticNet:
		if opt.Alpha == 0 {
			opt.Alpha = 0.5
		}
		if !(opt.Alpha > 0 && opt.Alpha <= 1) {
			return caresignal.Invalidf("alpha", "the elastic net's L1 share alpha must be above 0 and at most 1, got %g", opt.Alpha)
		}
	default:
		return caresignal.Invalidf("penalty", "unknown penalty %q (want %q, %q or %q)", opt.Penalty, PenaltyNone, PenaltyL2, PenaltyElasticNet)
	}
	if opt.CV {
		if opt.Folds == 0 {
			opt.Folds = 5
		}
		if opt.Lambdas == 0 {
			opt.Lambdas = 20
		}
		if opt.Folds < 2 || opt.Folds > 50 {
			return caresignal.Invalidf("folds", "cross-validation needs between 2 and 50 folds, got %d", opt.Folds)
		}
		if opt.Lambdas < 2 || opt.Lambdas > 200 {
			return caresignal.Invalidf("lambdas", "the penalty grid needs between 2 and 200 values, got %d", opt.Lambdas)
		}
		return nil
	}
	if !(opt.Lambda > 0) || math.IsInf(opt.Lambda, 0) {
		return caresignal.Invalidf("lambda", "penalty %s needs a finite strength above 0 (or cross-validation), got %g", opt.Penalty, opt.Lambda)
	}
	return nil
}

// Train fits the feature spec and the hazard model to a training extract
// (person-period rows with known outcomes), evaluates it on the held-out
// patients, and returns the model, not yet saved.
//
// Where every feature is categorical, rows with the same covariate pattern
// and month are merged into binomial counts before fitting: the fit is the
// same, on far fewer rows.
func Train(ctx context.Context, spec *feature.Spec, x *caresignal.Extract, opt TrainOptions) (*Model, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	info := TrainInfo{
		TrainedAt:   opt.Now().UTC().Truncate(time.Second),
		CodeVersion: CodeVersion(),
		Source:      opt.Source,
		AsOf:        opt.AsOf,
		DataHash:    HashExtract(x),
		Rows:        len(x.Rows),
		Holdout:     opt.Holdout,
		Penalty:     PenaltyInfo{Type: opt.Penalty, Alpha: opt.Alpha, Lambda: opt.Lambda},
	}
	fitX, testX := splitByPatient(x, opt.Holdout)
	info.Patients = countPatients(x)
	for _, r := range x.Rows {
		if r.Event {
			info.Events++
		}
	}
	fitted, err := feature.Fit(spec, fitX)
	if err != nil {
		return nil, err
	}
	d, err := fitted.Design(fitX)
	if err != nil {
		return nil, fmt.Errorf("encoding the training rows: %w", err)
	}
	penalised := make([]bool, fitted.Width())
	for j := fitted.Baseline.Width(); j < len(penalised); j++ {
		penalised[j] = true
	}
	prob := survival.Problem{X: d.X, Y: d.Y, Link: opt.Link, Alpha: opt.Alpha,
		Penalised: penalised, Names: fitted.Columns, References: referenceLevels(fitted)}
	var folds []int
	if opt.CV {
		folds = foldsByPatient(fitX, opt.Folds)
	}
	// A landmark model fits the stacked rows instead: one per lag of each
	// person-period row, each patient's rows in its fold.
	var ld *landmarkDesign
	if opt.HorizonModel == HorizonLandmark {
		if ld, err = stackLandmark(fitted, fitX, d, opt.Lags, folds); err != nil {
			return nil, err
		}
		prob = ld.prob
		prob.Link, prob.Alpha = opt.Link, opt.Alpha
		folds = ld.fold
	}
	compress := fitted.AllCategorical()
	// whole is the problem the final fit solves: the rows merged into
	// binomial counts once, when every feature is categorical.
	whole := prob
	if compress {
		whole.X, whole.Y, whole.Trials = survival.Compress(prob.X, prob.Y, nil)
	}

	start := time.Now()
	if opt.CV {
		cv, err := crossValidate(ctx, prob, whole, folds, compress, opt)
		if err != nil {
			return nil, fmt.Errorf("cross-validating the penalty: %w", err)
		}
		info.Penalty.CV = cv
		info.Penalty.Lambda = cv.Chosen
	}
	whole.Lambda = info.Penalty.Lambda
	fit, err := survival.FitModel(ctx, whole, survival.Options{OnIteration: opt.OnIteration})
	if err != nil {
		return nil, fmt.Errorf("fitting the hazard model: %w", err)
	}
	info.FitSeconds = time.Since(start).Seconds()
	info.Fit = FitInfo{
		Rows: int(fit.Trials), Events: int(fit.Events), Patients: countPatients(fitX),
		Iterations: fit.Iterations, Converged: fit.Converged, GradNorm: fit.GradNorm,
		LogLik: fit.LogLik, PenalisedLogLik: fit.PenalisedLogLik, Deviance: -2 * fit.LogLik,
		EDF: fit.EDF, Path: fit.Path,
	}
	if compress {
		info.Fit.CompressedRows = fit.Rows
	}
	m := &Model{Name: spec.Name, Kind: KindDiscreteHazard, Link: opt.Link,
		Features: fitted, Coef: fit.Coef, StdErr: fit.StdErr, Cov: fit.Cov,
		StdErrObserved: fit.StdErrObserved, CovObserved: fit.CovObserved}
	if ld != nil {
		// A patient's stacked rows share their features and overlap in
		// time: the model-based standard errors would be too small. The
		// sandwich by patient is kept instead, and the model's own
		// coefficients are those of the month in progress (lag 0).
		// The bread is the expected information's inverse under either
		// link, as R's sandwich::vcovCL takes it for a glm.
		cov, se, err := survival.ClusterCovariance(prob, fit.Coef, fit.Cov, ld.cluster)
		if err != nil {
			return nil, fmt.Errorf("the landmark model's cluster-robust covariance: %w", err)
		}
		m.Landmark = ld.lm
		m.Coef, m.StdErr, m.Cov = ld.lm.setCoefficients(fitted, fit.Coef, se, cov)
		m.StdErrObserved, m.CovObserved = nil, nil
	}

	// Training metrics and the drift reference are of the person-period
	// rows' own months (a landmark model's lag 0).
	p := make([]float64, d.X.Rows())
	for i := range p {
		p[i] = opt.Link.Inverse(d.X.Dot(i, m.Coef))
	}
	info.Train = eval.EvaluateBinary(p, d.Y)
	// The reference for drift: the fitted rows' inputs and hazards.
	if m.reference, err = newReference(fitted, fitX, p); err != nil {
		return nil, err
	}
	if len(testX.Rows) > 0 {
		t, skipped, err := m.evaluate(testX)
		if err != nil {
			return nil, fmt.Errorf("evaluating on held-out patients: %w", err)
		}
		info.Test, info.HoldoutSkipped = &t, skipped
	}
	m.Training = info
	return m, nil
}

// evaluate scores person-period rows and compares them with their
// outcomes. Rows the model refuses — a level that only held-out patients
// have, under the "error" policy — are left out and counted.
func (m *Model) evaluate(x *caresignal.Extract) (b eval.Binary, skipped int, err error) {
	ft := m.Features
	cols, err := ft.Bind(x.Columns)
	if err != nil {
		return b, 0, err
	}
	vals := make([]caresignal.Value, len(cols))
	row := make([]float64, ft.Width())
	p := make([]float64, 0, len(x.Rows))
	y := make([]float64, 0, len(x.Rows))
	for _, r := range x.Rows {
		for j, c := range cols {
			vals[j] = r.Values[c]
		}
		if err := ft.Encode(vals, row, nil); err != nil {
			skipped++
			continue
		}
		p = append(p, m.Link.Inverse(ft.Baseline.Eta(r.Month, m.Coef)+m.featureEta(row)))
		y = append(y, b2f(r.Event))
	}
	return eval.EvaluateBinary(p, y), skipped, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// splitByPatient puts each patient's rows wholly in the fit part or the
// held-out part: a patient is held out when a hash of their id, as a
// fraction of 2⁶⁴, falls below share.
func splitByPatient(x *caresignal.Extract, share float64) (fit, test *caresignal.Extract) {
	fit = &caresignal.Extract{Columns: x.Columns, Rows: make([]caresignal.ExtractRow, 0, len(x.Rows))}
	test = &caresignal.Extract{Columns: x.Columns}
	if share <= 0 {
		fit.Rows = x.Rows
		return fit, test
	}
	cut := uint64(share * math.MaxUint64)
	last, held := "", false
	for _, r := range x.Rows {
		if r.PatientID != last || last == "" {
			h := fnv.New64a()
			h.Write([]byte(r.PatientID))
			held, last = h.Sum64() < cut, r.PatientID
		}
		if held {
			test.Rows = append(test.Rows, r)
		} else {
			fit.Rows = append(fit.Rows, r)
		}
	}
	return fit, test
}

func countPatients(x *caresignal.Extract) int {
	n, last := 0, ""
	for i, r := range x.Rows {
		if i == 0 || r.PatientID != last {
			n++
			last = r.PatientID
		}
	}
	return n
}

// HashExtract returns the hex SHA-256 of an extract in a canonical text form
// (columns, then one line per row: patient, month, status, event, values),
// so the same rows give the same hash whichever database they came from.
func HashExtract(x *caresignal.Extract) string {
	h := sha256.New()
	buf := make([]byte, 0, 256)
	for _, c := range x.Columns {
		buf = append(append(buf, c...), '\t')
	}
	h.Write(append(buf, '\n'))
	for _, r := range x.Rows {
		buf = append(buf[:0], r.PatientID...)
		buf = append(buf, '\t')
		buf = strconv.AppendInt(buf, int64(r.Month), 10)
		buf = append(buf, '\t')
		buf = append(buf, r.Status...)
		buf = append(buf, '\t')
		buf = strconv.AppendBool(buf, r.Event)
		for _, v := range r.Values {
			buf = append(buf, '\t')
			switch v.Kind {
			case caresignal.Number:
				buf = strconv.AppendFloat(buf, v.Num, 'g', -1, 64)
			case caresignal.String:
				buf = strconv.AppendQuote(buf, v.Str)
			default:
				buf = append(buf, "null"...)
			}
		}
		h.Write(append(buf, '\n'))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// referenceLevels lists the reference level of every categorical feature
// with the columns of its other levels, so that the fitter names a
// separation by a reference level as it does one by any other level.
func referenceLevels(ft *feature.Fitted) []survival.Reference {
	var refs []survival.Reference
	for _, f := range ft.Features {
		if f.Type != feature.Categorical || f.Width == 0 {
			continue
		}
		r := survival.Reference{Name: f.Name + "=" + f.Reference}
		for j := f.Column; j < f.Column+f.Width; j++ {
			r.Columns = append(r.Columns, j)
		}
		refs = append(refs, r)
	}
	return refs
}
