// Package monitor applies models to recorded and observed data: it
// rescores the prediction log offline and compares (parity), follows scored
// patients up to their outcomes, compares shadow answers with production's,
// and gathers the metrics of package eval into one report. Package eval
// holds the arithmetic; this package knows where the numbers come from. It
// reads the log through package wire, never through the HTTP server.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/wire"
)

// DefaultTolerance is the largest difference between a logged and a
// rescored output that still counts as equal. The server and the offline
// path run the same code on the same inputs, so anything above rounding
// noise is a real difference.
const DefaultTolerance = 1e-12

// Mismatch causes, from the most basic to the most specific.
const (
	CauseUnreadable     = "log_unreadable"    // the record's inputs or outputs do not parse
	CauseModelMissing   = "model_unavailable" // the logged version cannot be loaded or verified
	CauseInputsRefused  = "inputs_refused"    // the model now refuses the logged inputs
	CauseHorizon        = "horizon_differs"   // a different number of months came out
	CauseFeatures       = "features_differ"   // the transformed feature row changed: the transform is not the one that served
	CauseOutputs        = "outputs_differ"    // the same feature row gave other hazards: coefficients, link or arithmetic differ
	CauseExpectedMonths = "expected_differs"  // hazards equal, expected months not
)

// ModelLoader returns the model that a logged version names.
type ModelLoader func(ctx context.Context, name, version string) (*model.Model, error)

// RegistryLoader loads logged versions from the model registry, verifying
// each artifact's checksum, and keeps each loaded model for the next
// record.
func RegistryLoader(reg caresignal.Registry) ModelLoader {
	return func(ctx context.Context, name, version string) (*model.Model, error) {
		return model.FromRegistry(ctx, reg, name, version)
	}
}

// ParityOptions select the records to rescore and how to report them.
type ParityOptions struct {
	Filter    caresignal.PredictionFilter
	Tolerance float64 // 0 means DefaultTolerance
	MaxListed int     // mismatches listed in full; 0 means 100
}

// ParityReport is the outcome of rescoring the prediction log.
type ParityReport struct {
	Tolerance  float64          `json:"tolerance"`
	Checked    int              `json:"checked"`
	Matched    int              `json:"matched"`
	Mismatched int              `json:"mismatched"`
	Causes     map[string]int   `json:"causes"`
	MaxAbsDiff float64          `json:"max_abs_diff"` // over the records that could be rescored
	Groups     []ParityGroup    `json:"groups"`
	Mismatches []ParityMismatch `json:"mismatches"`
	// Unlisted counts the mismatches beyond MaxListed.
	Unlisted int `json:"unlisted"`
}

// ParityGroup is the parity of one model version and route.
type ParityGroup struct {
	Model      string  `json:"model"`
	Version    string  `json:"version"`
	Route      string  `json:"route"`
	Checked    int     `json:"checked"`
	Mismatched int     `json:"mismatched"`
	MaxAbsDiff float64 `json:"max_abs_diff"`
}

// ParityMismatch is one record whose rescoring differs.
type ParityMismatch struct {
	ID      string `json:"id"`
	At      string `json:"at"`
	Model   string `json:"model"`
	Version string `json:"version"`
	Route   string `json:"route"`
	Cause   string `json:"cause"`
	// Detail says what differs. It names fields and months, never the
	// patient's values.
	Detail string `json:"detail"`
	// Month is the first predicted month (1 = the first of the horizon)
	// whose hazard differs; 0 when not a hazard difference.
	Month      int     `json:"month,omitempty"`
	AbsDiff    float64 `json:"abs_diff,omitempty"`
	Logged     float64 `json:"logged,omitempty"`
	Rescored   float64 `json:"rescored,omitempty"`
	LoggedHash string  `json:"logged_features_hash,omitempty"`
	NowHash    string  `json:"rescored_features_hash,omitempty"`
}

// OK reports whether every checked record matched.
func (r *ParityReport) OK() bool { return r.Mismatched == 0 }

// Parity rescores every prediction record that opt.Filter selects with the
// model version it names, from its inputs as received, and compares the
// outputs: any hazard or expected-months difference above the tolerance is
// a mismatch, classified by cause. Records of /api/engagement, the Open
// Inference Protocol and batch scoring carry one patient's request object;
// records of /invocations carry one person-period row and one hazard.
func Parity(ctx context.Context, log caresignal.PredictionLog, load ModelLoader, opt ParityOptions) (*ParityReport, error) {
	if opt.Tolerance == 0 {
		opt.Tolerance = DefaultTolerance
	}
	if !(opt.Tolerance > 0) || math.IsInf(opt.Tolerance, 0) {
		return nil, caresignal.Invalidf("tolerance", "the tolerance must be a positive number, got %g", opt.Tolerance)
	}
	if opt.MaxListed == 0 {
		opt.MaxListed = 100
	}
	groups, err := log.SummarisePredictions(ctx, opt.Filter)
	if err != nil {
		return nil, err
	}
	// Every version is loaded before the scan, which holds a connection.
	type loaded struct {
		m   *model.Model
		err error
	}
	models := map[[2]string]loaded{}
	for _, g := range groups {
		key := [2]string{g.Model, g.Version}
		if _, ok := models[key]; !ok {
			m, err := load(ctx, g.Model, g.Version)
			models[key] = loaded{m, err}
		}
	}
	rep := &ParityReport{Tolerance: opt.Tolerance, Causes: map[string]int{}, Groups: []ParityGroup{}, Mismatches: []ParityMismatch{}}
	byGroup := map[[3]string]*ParityGroup{}
	err = log.ScanPredictions(ctx, opt.Filter, func(rec *caresignal.PredictionRecord) error {
		key := [3]string{rec.Model, rec.Version, rec.Route}
		g := byGroup[key]
		if g == nil {
			g = &ParityGroup{Model: rec.Model, Version: rec.Version, Route: rec.Route}
			byGroup[key] = g
		}
		l := models[[2]string{rec.Model, rec.Version}]
		var mm *ParityMismatch
		var diff float64
		if l.err != nil || l.m == nil {
			mm = &ParityMismatch{Cause: CauseModelMissing, Detail: fmt.Sprintf("version %s of %s: %v", rec.Version, rec.Model, l.err)}
		} else {
			mm, diff = rescore(l.m, rec, opt.Tolerance)
		}
		rep.Checked++
		g.Checked++
		rep.MaxAbsDiff = max(rep.MaxAbsDiff, diff)
		g.MaxAbsDiff = max(g.MaxAbsDiff, diff)
		if mm == nil {
			rep.Matched++
			return nil
		}
		rep.Mismatched++
		g.Mismatched++
		rep.Causes[mm.Cause]++
		if len(rep.Mismatches) >= opt.MaxListed {
			rep.Unlisted++
			return nil
		}
		mm.ID, mm.At, mm.Model, mm.Version, mm.Route = rec.ID, rec.At.UTC().Format("2006-01-02T15:04:05.000Z"), rec.Model, rec.Version, rec.Route
		rep.Mismatches = append(rep.Mismatches, *mm)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, g := range byGroup {
		rep.Groups = append(rep.Groups, *g)
	}
	sort.Slice(rep.Groups, func(i, j int) bool {
		a, b := rep.Groups[i], rep.Groups[j]
		return a.Model+"\x00"+a.Version+"\x00"+a.Route < b.Model+"\x00"+b.Version+"\x00"+b.Route
	})
	return rep, nil
}

// rescore compares one record with its rescoring; it returns nil when they
// agree, and the largest absolute difference seen.
func rescore(m *model.Model, row *caresignal.PredictionRecord, tol float64) (*ParityMismatch, float64) {
	rec := wire.Read(row)
	out, err := rec.DecodeOutputs()
	if err != nil {
		return &ParityMismatch{Cause: CauseUnreadable, Detail: "outputs: " + err.Error()}, 0
	}
	if rec.Kind == wire.KindPersonPeriod {
		return rescoreRow(m, &rec, out, tol)
	}
	inst, err := rec.DecodePatient()
	if err != nil {
		detail := wire.ErrNotOnePatient.Error()
		if !errors.Is(err, wire.ErrNotOnePatient) {
			detail = "inputs: " + caresignal.ErrorField(err) + ": " + safeMessage(err)
		}
		return &ParityMismatch{Cause: CauseUnreadable, Detail: detail}, 0
	}
	// A batch score is rescored as batch scoring scores (its policy on
	// unseen levels), a request as the API answers.
	surface := feature.SurfaceAPI
	if rec.Route == wire.ScoreRoute {
		surface = feature.SurfaceBatch
	}
	p, err := m.PredictFor(surface, &inst, false) // the explanation is not compared
	if err != nil {
		return &ParityMismatch{Cause: CauseInputsRefused, Detail: "the model refuses the inputs now: field " + caresignal.ErrorField(err)}, 0
	}
	if len(p.Hazard) != len(out.Hazard) {
		return &ParityMismatch{Cause: CauseHorizon, Detail: fmt.Sprintf("%d months logged, %d rescored", len(out.Hazard), len(p.Hazard))}, 0
	}
	month, diff := firstDiff(out.Hazard, p.Hazard, tol)
	worst := maxDiff(out.Hazard, p.Hazard)
	if month > 0 {
		cause, detail := CauseOutputs, "the same feature row gave different hazards"
		if rec.FeaturesHash != "" && p.FeaturesHash != rec.FeaturesHash {
			cause, detail = CauseFeatures, "the transformed feature row differs from the one that served"
		}
		return &ParityMismatch{Cause: cause, Detail: detail, Month: month, AbsDiff: diff, Logged: out.Hazard[month-1], Rescored: p.Hazard[month-1],
			LoggedHash: rec.FeaturesHash, NowHash: p.FeaturesHash}, worst
	}
	if rec.FeaturesHash != "" && p.FeaturesHash != rec.FeaturesHash {
		return &ParityMismatch{Cause: CauseFeatures, Detail: "equal hazards from a different transformed feature row",
			LoggedHash: rec.FeaturesHash, NowHash: p.FeaturesHash}, worst
	}
	if d := math.Abs(p.ExpectedMonths - out.ExpectedMonths); !(d <= tol) {
		return &ParityMismatch{Cause: CauseExpectedMonths, Detail: "expected months differ", AbsDiff: d, Logged: out.ExpectedMonths, Rescored: p.ExpectedMonths}, max(worst, d)
	}
	return nil, worst
}

// rescoreRow rescores an /invocations person-period row.
func rescoreRow(m *model.Model, rec *wire.Record, out wire.Outputs, tol float64) (*ParityMismatch, float64) {
	row, err := wire.DecodeRow(rec.Inputs)
	if err != nil {
		return &ParityMismatch{Cause: CauseUnreadable, Detail: "inputs: " + safeMessage(err)}, 0
	}
	hs, err := serving.ScoreRecords(m, []map[string]caresignal.Value{row})
	if err != nil {
		return &ParityMismatch{Cause: CauseInputsRefused, Detail: "the model refuses the inputs now: field " + caresignal.ErrorField(err)}, 0
	}
	if len(out.Hazard) != 1 {
		return &ParityMismatch{Cause: CauseHorizon, Detail: fmt.Sprintf("%d hazards logged for one record", len(out.Hazard))}, 0
	}
	d := math.Abs(hs[0] - out.Hazard[0])
	if !(d <= tol) {
		return &ParityMismatch{Cause: CauseOutputs, Detail: "the record's hazard differs", Month: 1, AbsDiff: d, Logged: out.Hazard[0], Rescored: hs[0]}, d
	}
	return nil, d
}

// firstDiff returns the first month (from 1) whose values differ by more
// than tol, and that difference; 0 when none does. NaN differs from
// everything.
func firstDiff(a, b []float64, tol float64) (int, float64) {
	for i := range a {
		if d := math.Abs(a[i] - b[i]); !(d <= tol) {
			return i + 1, d
		}
	}
	return 0, 0
}

func maxDiff(a, b []float64) float64 {
	var m float64
	for i := range a {
		if d := math.Abs(a[i] - b[i]); d > m {
			m = d
		}
	}
	return m
}

// safeMessage is an error's message without the quoted values some
// validation messages carry: only its field name and code are kept when
// the message quotes input.
func safeMessage(err error) string {
	if f := caresignal.ErrorField(err); f != "" {
		return "invalid " + f
	}
	msg := err.Error()
	if i := strings.IndexAny(msg, "\"'"); i >= 0 {
		msg = msg[:i] + "…"
	}
	return msg
}

// Summary is a one-paragraph account of the report for a terminal.
func (r *ParityReport) Summary() string {
	if r.Checked == 0 {
		return "parity: no logged predictions matched the selection; nothing to rescore"
	}
	if r.OK() {
		return fmt.Sprintf("parity: %d logged predictions rescored offline, all equal within %g (largest difference %.3g)", r.Checked, r.Tolerance, r.MaxAbsDiff)
	}
	causes := make([]string, 0, len(r.Causes))
	for c := range r.Causes {
		causes = append(causes, c)
	}
	slices.Sort(causes)
	parts := make([]string, len(causes))
	for i, c := range causes {
		parts[i] = fmt.Sprintf("%s %d", c, r.Causes[c])
	}
	return fmt.Sprintf("parity: %d of %d logged predictions differ when rescored offline (tolerance %g): %s",
		r.Mismatched, r.Checked, r.Tolerance, strings.Join(parts, ", "))
}
