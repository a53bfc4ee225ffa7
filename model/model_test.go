package model

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/survival"
	"github.com/caresignal/caresignal/synth"
)

var (
	smallOnce  sync.Once
	smallModel *Model
	smallErr   error
)

// small trains (once per test binary) a model on a 3,000-patient cohort.
func small(t *testing.T) *Model {
	t.Helper()
	smallOnce.Do(func() {
		c, err := synth.Generate(synth.Sized(3000, 5), nil)
		if err != nil {
			smallErr = err
			return
		}
		x, _ := c.Training()
		spec, _ := feature.ParseSpecBytes(caresignal.EngagementSpec)
		smallModel, smallErr = Train(context.Background(), spec, x, TrainOptions{Penalty: PenaltyL2, Lambda: 1, Holdout: 0.2,
			Now: func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }})
		if smallErr == nil {
			_, smallErr = smallModel.Marshal() // sets the version
		}
	})
	if smallErr != nil {
		t.Fatal(smallErr)
	}
	return smallModel
}

func patient() caresignal.Instance {
	return caresignal.Instance{PatientID: "P1", Horizon: 12, MonthsEnrolled: 0, Features: map[string]caresignal.Value{
		"age": caresignal.Num(54), "sex": caresignal.Str("F"), "program": caresignal.Str("diabetes"),
		"channel": caresignal.Str("app"), "baseline_score": caresignal.Num(0.62), "prior_no_shows": caresignal.Num(1),
		"enrolled_via": caresignal.Str("referral"), "sessions_last_month": caresignal.Num(3),
		"days_since_last_session": caresignal.Num(6), "messages_last_month": caresignal.Num(4)}}
}

// TestPredictByHand recomputes a prediction from the coefficients and the
// fitted transforms directly, without Encode.
func TestPredictByHand(t *testing.T) {
	m := small(t)
	inst := patient()
	inst.MonthsEnrolled = 5
	inst.Horizon = 40 // runs past the last baseline term
	p, err := m.Predict(&inst)
	if err != nil {
		t.Fatal(err)
	}
	ft := m.Features
	eta := 0.0
	for _, f := range ft.Features {
		v := inst.Features[f.Name]
		if f.Type == feature.Numeric {
			eta += m.Coef[f.Column] * (v.Num - f.Center) / f.Scale
			continue
		}
		for k, l := range f.Levels {
			if l == v.Str {
				eta += m.Coef[f.Column+k]
			}
		}
	}
	s := 1.0
	sum := 0.0
	for i := range inst.Horizon {
		month := min(inst.MonthsEnrolled+i+1, ft.Baseline.Last)
		// The term whose name covers the month: month_k, month_k+,
		// months_a-b or months_a+ (a pooled run).
		term := slices.IndexFunc(ft.Columns[:ft.Baseline.Width()], func(c string) bool {
			var a, b int
			switch {
			case c == fmt.Sprintf("month_%d", month) || c == fmt.Sprintf("month_%d+", month):
				return true
			case strings.HasSuffix(c, "+"):
				_, err := fmt.Sscanf(c, "months_%d+", &a)
				return err == nil && month >= a
			}
			_, err := fmt.Sscanf(c, "months_%d-%d", &a, &b)
			return err == nil && month >= a && month <= b
		})
		if term < 0 {
			t.Fatalf("month %d: no baseline term among %v", month, ft.Columns[:ft.Baseline.Width()])
		}
		h := 1 / (1 + math.Exp(-(eta + m.Coef[term])))
		s *= 1 - h
		sum += s
		if math.Abs(p.Hazard[i]-h) > 1e-15 || math.Abs(p.Survival[i]-s) > 1e-15 {
			t.Fatalf("month %d: hazard %v survival %v, want %v %v", i+1, p.Hazard[i], p.Survival[i], h, s)
		}
		if i > 0 && p.Survival[i] > p.Survival[i-1] {
			t.Fatal("survival increased")
		}
	}
	if math.Abs(p.ExpectedMonths-sum) > 1e-12 {
		t.Errorf("expected months %v, want %v", p.ExpectedMonths, sum)
	}
	// Contributions add up to the distance of the features' part of the
	// log-odds from that of the reference row: numeric features at their
	// training means, each level's indicator at its training share.
	etaRef := 0.0
	for _, f := range ft.Features {
		if f.Type == feature.Numeric {
			continue // standardised: the mean encodes as 0
		}
		total := f.Missing
		for _, n := range f.LevelCounts {
			total += n
		}
		for k, l := range f.Levels {
			n := f.LevelCounts[l]
			if l == f.ImputeLevel {
				n += f.Missing
			}
			etaRef += m.Coef[f.Column+k] * float64(n) / float64(total)
		}
	}
	total := 0.0
	for _, c := range p.Explanation {
		total += c.Contribution
		if want := c.Feature + " = " + c.Value + " → "; !strings.HasPrefix(c.Text, want) {
			t.Errorf("explanation text %q, want it to start %q", c.Text, want)
		}
	}
	if math.Abs(total-(eta-etaRef)) > 1e-12 {
		t.Errorf("contributions sum to %v, want η − η_ref = %v", total, eta-etaRef)
	}
	for i := 1; i < len(p.Explanation); i++ {
		if math.Abs(p.Explanation[i].Contribution) > math.Abs(p.Explanation[i-1].Contribution) {
			t.Error("explanation not sorted by magnitude")
		}
	}
}

func TestPredictErrors(t *testing.T) {
	m := small(t)
	tests := []struct {
		edit  func(*caresignal.Instance)
		field string
	}{
		{func(i *caresignal.Instance) { i.MonthsEnrolled = -1 }, "months_enrolled"},
		{func(i *caresignal.Instance) { i.Horizon = 0 }, "horizon"},
		{func(i *caresignal.Instance) { i.Horizon = caresignal.MaxHorizon + 1 }, "horizon"},
		{func(i *caresignal.Instance) { delete(i.Features, "age") }, "features.age"},
		{func(i *caresignal.Instance) { i.Features["sex"] = caresignal.Str("X") }, "features.sex"},
		{func(i *caresignal.Instance) { i.Features["agee"] = caresignal.Num(3) }, "features.agee"},
		{func(i *caresignal.Instance) { i.Features["prior_no_shows"] = caresignal.Num(-2) }, "features.prior_no_shows"},
	}
	for _, tt := range tests {
		inst := patient()
		tt.edit(&inst)
		_, err := m.Predict(&inst)
		if caresignal.ErrorCode(err) != caresignal.EINVALID || caresignal.ErrorField(err) != tt.field {
			t.Errorf("want an EINVALID error on %s, got %v (field %q)", tt.field, err, caresignal.ErrorField(err))
		}
		if !strings.HasPrefix(caresignal.ErrorMessage(err), tt.field) {
			t.Errorf("message %q does not start with the field %q", caresignal.ErrorMessage(err), tt.field)
		}
	}
	good, bad := patient(), patient()
	bad.Features["age"] = caresignal.Str("old")
	_, err := m.PredictBatch([]caresignal.Instance{good, bad}, true)
	if caresignal.ErrorField(err) != "instances[1].features.age" || !strings.HasPrefix(caresignal.ErrorMessage(err), "instances[1].features.age") {
		t.Errorf("batch error %v (field %q)", err, caresignal.ErrorField(err))
	}
	// The spec's policies: an unseen program is refused on the API,
	// naming the known programs but not the one sent, and scored as the
	// reference, with a warning, by batch scoring.
	inst := patient()
	inst.Features["program"] = caresignal.Str("oncology")
	inst.Features["baseline_score"] = caresignal.NullValue()
	if _, err := m.Predict(&inst); caresignal.ErrorField(err) != "features.program" || strings.Contains(err.Error(), "oncology") || !strings.Contains(err.Error(), `"weight"`) {
		t.Errorf("unseen program on the API: %v", err)
	}
	p, err := m.PredictFor(feature.SurfaceBatch, &inst, false)
	if err != nil || len(p.Warnings) != 2 {
		t.Fatalf("unseen program and null baseline in batch scoring: %v, warnings %q", err, p.Warnings)
	}
	ref := patient()
	ref.Features["program"] = caresignal.Str("diabetes")
	ref.Features["baseline_score"] = caresignal.NullValue()
	q, _ := m.PredictFor(feature.SurfaceBatch, &ref, false)
	if p.Hazard[0] != q.Hazard[0] {
		t.Errorf("an unseen program in batch scoring: hazard %v, the reference program's %v", p.Hazard[0], q.Hazard[0])
	}
}

func TestArtifactRoundTrip(t *testing.T) {
	m := small(t)
	path := filepath.Join(t.TempDir(), "m.json")
	if err := m.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != m.Version || back.Name != "engagement" || back.Training.DataHash != m.Training.DataHash {
		t.Errorf("loaded %s/%s, saved %s/%s", back.Name, back.Version, m.Name, m.Version)
	}
	inst := patient()
	p1, _ := m.Predict(&inst)
	p2, err := back.Predict(&inst)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p1.Hazard {
		if p1.Hazard[i] != p2.Hazard[i] {
			t.Fatalf("loaded model predicts %v, saved one %v", p2.Hazard, p1.Hazard)
		}
	}
	// saving again gives the same bytes, hence the same version
	b1, _ := m.Marshal()
	b2, _ := back.Marshal()
	if !bytes.Equal(b1, b2) {
		t.Error("re-saving a loaded model changed its bytes")
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".model-*"))
	if len(matches) > 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}

func TestArtifactRefused(t *testing.T) {
	m := small(t)
	good, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	// change one digit of the first coefficient
	i := strings.Index(s, `"estimate":`) + len(`"estimate":`)
	for s[i] < '1' || s[i] > '8' {
		i++
	}
	changed := s[:i] + string(s[i]+1) + s[i+1:]
	tests := []struct {
		name, file, want string
	}{
		{"changed coefficient", changed, "checksum mismatch"},
		{"truncated", s[:len(s)/2], "invalid JSON"},
		{"not a model", `{"hello": "world"}`, "not a caresignal model"},
		{"newer format", strings.Replace(s, `"format_version": 3`, `"format_version": 4`, 1), "format version 4"},
		{"older format", strings.Replace(s, `"format_version": 3`, `"format_version": 1`, 1), "retrain"},
		{"wrong version", strings.Replace(s, `"version": "`+m.Version, `"version": "000000000000`, 1), "does not match the model"},
		// Format 2 took the version from the checksum; this one is not.
		{"format 2 rule", strings.Replace(s, `"format_version": 3`, `"format_version": 2`, 1), "does not match the checksum"},
		{"empty", ``, "invalid JSON"},
	}
	for _, tt := range tests {
		_, err := Load(strings.NewReader(tt.file))
		if caresignal.ErrorCode(err) != caresignal.ECORRUPT || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ECORRUPT containing %q", tt.name, err, tt.want)
		}
	}
	// Re-indenting is not a change.
	if _, err := Load(strings.NewReader(strings.ReplaceAll(s, "\n ", "\n    "))); err != nil {
		t.Errorf("re-indented artifact refused: %v", err)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestHashExtractStable(t *testing.T) {
	c, _ := synth.Generate(synth.Sized(200, 3), nil)
	x1, _ := c.Training()
	x2, _ := c.Training()
	if HashExtract(x1) != HashExtract(x2) {
		t.Fatal("hash of equal extracts differs")
	}
	x2.Rows[5].Values[0] = caresignal.Num(x2.Rows[5].Values[0].Num + 1)
	if HashExtract(x1) == HashExtract(x2) {
		t.Fatal("hash ignores a changed value")
	}
}

func BenchmarkPredict(b *testing.B) {
	c, _ := synth.Generate(synth.Sized(3000, 5), nil)
	x, _ := c.Training()
	spec, _ := feature.ParseSpecBytes(caresignal.EngagementSpec)
	m, err := Train(context.Background(), spec, x, DefaultTrainOptions())
	if err != nil {
		b.Fatal(err)
	}
	inst := patient()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Predict(&inst); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHoldoutOnlyLevel: a category level that only held-out patients have
// must not fail training; their rows are left out of the held-out metrics
// and counted.
func TestHoldoutOnlyLevel(t *testing.T) {
	c, _ := synth.Generate(synth.Sized(1500, 12), nil)
	x, _ := c.Training()
	_, test := splitByPatient(x, 0.2)
	victim := test.Rows[0].PatientID
	sex := x.Column("sex")
	n := 0
	for i := range x.Rows {
		if x.Rows[i].PatientID == victim {
			vals := append([]caresignal.Value(nil), x.Rows[i].Values...)
			vals[sex] = caresignal.Str("U")
			x.Rows[i].Values = vals
			n++
		}
	}
	spec, _ := feature.ParseSpecBytes(caresignal.EngagementSpec)
	m, err := Train(context.Background(), spec, x, DefaultTrainOptions())
	if err != nil {
		t.Fatal(err)
	}
	if m.Training.HoldoutSkipped != n || m.Training.Test.Rows != len(test.Rows)-n {
		t.Errorf("skipped %d of %d held-out rows, want %d", m.Training.HoldoutSkipped, len(test.Rows), n)
	}
}

// BenchmarkTrainDemo trains on the demo cohort (10,000 patients, seed 42,
// as `caresignal demo` does) under each link and penalty: the whole of
// Train — feature fit, encoding, cross-validation where it applies, the
// final fit and the held-out metrics.
func BenchmarkTrainDemo(b *testing.B) {
	c, err := synth.Generate(synth.DefaultConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	x, _ := c.Training()
	spec, _ := feature.ParseSpecBytes(caresignal.EngagementSpec)
	for _, link := range []survival.Link{survival.Logit, survival.CLogLog} {
		for _, tc := range []struct {
			name string
			opt  TrainOptions
		}{
			{"none", TrainOptions{Penalty: PenaltyNone}},
			{"l2-lambda1", TrainOptions{Penalty: PenaltyL2, Lambda: 1}},
			{"l2-cv", TrainOptions{Penalty: PenaltyL2, CV: true}},
			{"elasticnet-cv", TrainOptions{Penalty: PenaltyElasticNet, CV: true}},
		} {
			b.Run(string(link)+"/"+tc.name, func(b *testing.B) {
				opt := tc.opt
				opt.Link, opt.Holdout = link, 0.2
				for b.Loop() {
					if _, err := Train(context.Background(), spec, x, opt); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestDaysElapsed: with d days of the month in progress passed, the first
// month's hazard covers the rest of it (caresignal.MonthInProgress of the
// whole month's), later months and the explanation are unchanged, and the
// curve follows; d out of range is refused naming the field.
func TestDaysElapsed(t *testing.T) {
	m := small(t)
	inst := patient()
	inst.MonthsEnrolled, inst.Horizon = 2, 6
	whole, err := m.Predict(&inst)
	if err != nil {
		t.Fatal(err)
	}
	inst.DaysElapsed = 21
	rest, err := m.Predict(&inst)
	if err != nil {
		t.Fatal(err)
	}
	if want := caresignal.MonthInProgress(whole.Hazard[0], 21); rest.Hazard[0] != want || !(rest.Hazard[0] < whole.Hazard[0]) {
		t.Errorf("first month %v, want %v (whole month %v)", rest.Hazard[0], want, whole.Hazard[0])
	}
	s := 1.0
	for i := range rest.Hazard {
		if i > 0 && rest.Hazard[i] != whole.Hazard[i] {
			t.Errorf("month %d: %v, was %v", i+1, rest.Hazard[i], whole.Hazard[i])
		}
		s *= 1 - rest.Hazard[i]
		if math.Abs(rest.Survival[i]-s) > 1e-15 {
			t.Errorf("survival %d: %v, want %v", i, rest.Survival[i], s)
		}
	}
	if rest.ExpectedMonths <= whole.ExpectedMonths || len(rest.Explanation) != len(whole.Explanation) || rest.Explanation[0] != whole.Explanation[0] {
		t.Errorf("expected months %v (was %v), explanation %v (was %v)", rest.ExpectedMonths, whole.ExpectedMonths, rest.Explanation[0], whole.Explanation[0])
	}
	for _, d := range []int{-1, 30} {
		inst.DaysElapsed = d
		if _, err := m.Predict(&inst); caresignal.ErrorField(err) != "days_elapsed" {
			t.Errorf("days_elapsed %d: %v", d, err)
		}
	}
}
