package model

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/survival"
	"github.com/caresignal/caresignal/synth"
)

// FuzzPredict scores patients whose features are edited by an arbitrary
// program (values deleted, nulled, replaced by any float64 bit pattern or
// arbitrary bytes, numbers where labels belong and the reverse, unknown
// names) at any months_enrolled and horizon, through two trained models:
// the engagement model of the other tests (logit link, every numeric
// feature bounded by the spec), and one trained on the same data under a
// cloglog link from the engagement spec with every min and max removed and
// every numeric feature on its raw scale (transform "none"), both of which a
// spec may declare, so that finite but extreme values reach the linear
// predictor, two of them with coefficients far above 1 in magnitude.
//
// Invariants: nothing panics; an error is an EINVALID *caresignal.Error
// naming its field (months_enrolled, horizon or features.<name>) at the
// start of its message; a prediction has Horizon hazards in [0, 1], a
// survival curve in [0, 1] that never increases and is the running product
// of 1 − hazard, a finite restricted mean equal to the curve's sum, a median
// consistent with the curve, one finite contribution per feature, and it
// encodes as JSON (which refuses NaN and ±Inf) as the API returns it; the
// same instance scores identically twice, and Hazard agrees with Predict's
// first month.
func FuzzPredict(f *testing.F) {
	bits := func(op byte, x uint64) []byte {
		return binary.LittleEndian.AppendUint64([]byte{op}, x)
	}
	type seed struct {
		which           uint8
		months, horizon int
		num             float64
		str             string
		prog            []byte
	}
	for _, s := range []seed{
		{0, 0, 12, 0, "", nil},
		{1, 0, 12, 0, "", nil},
		{0, 5, 40, 0, "", nil},
		{1, caresignal.MaxMonthsEnrolled, caresignal.MaxHorizon, 0, "", nil},
		{0, -1, 12, 0, "", nil},
		{0, caresignal.MaxMonthsEnrolled + 1, 12, 0, "", nil},
		{0, 0, 0, 0, "", nil},
		{0, 0, caresignal.MaxHorizon + 1, 0, "", nil},
		{0, 0, 1_000_000_000, 0, "", nil},
		{0, math.MinInt, math.MaxInt, 0, "", nil},
		{0, 0, 12, math.NaN(), "", []byte{0x20}},
		{0, 0, 12, math.Inf(-1), "", []byte{0x25}},
		{0, 0, 12, 120, "", []byte{0x20}}, // at max
		{0, 0, 12, 36500, "", []byte{0x28}},
		{0, 0, 12, math.MaxFloat64, "", []byte{0x20, 0x24, 0x25, 0x27, 0x28, 0x29}}, // bounded: rejected
		{1, 0, 12, 1e300, "", []byte{0x20}},
		{1, 0, 12, -1e300, "", []byte{0x27}},
		{1, 0, 12, 1e300, "", append(bits(0x40, math.Float64bits(1e300)), bits(0x45, math.Float64bits(-1e300))...)},
		{1, 0, 12, 5e-324, "", []byte{0x20}},
		{0, 0, 12, 0, "oncology", []byte{0x32, 0x14}},
		{0, 0, 12, 0, "\xff\xfe", []byte{0x31}},
		{0, 0, 12, 0, "agee", []byte{0x2a}},
		{0, 0, 12, 0, "", []byte{0x2a}},
		{0, 0, 12, 54, "", []byte{0x60}},
	} {
		f.Add(s.which, s.months, s.horizon, s.num, s.str, s.prog)
	}
	f.Fuzz(func(t *testing.T, which uint8, months, horizon int, num float64, str string, prog []byte) {
		models := []*Model{small(t), pfUnbounded(t)}
		m := models[int(which)%len(models)]
		inst := patient()
		inst.PatientID = "P-FUZZ"
		inst.MonthsEnrolled, inst.Horizon = months, horizon
		pfApply(m.Features, inst.Features, num, str, prog)

		p, err := m.Predict(&inst)
		p2, err2 := m.Predict(&inst)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("not deterministic: %v, then %v", err, err2)
		}
		if err != nil {
			pfCheckError(t, m, &inst, err)
			return
		}
		b1, jerr := json.Marshal(p)
		if jerr != nil {
			t.Fatalf("%s: the prediction does not encode as JSON (%v): hazard %v survival %v expected %v explanation %+v",
				m.Link, jerr, p.Hazard, p.Survival, p.ExpectedMonths, p.Explanation)
		}
		if b2, _ := json.Marshal(p2); string(b1) != string(b2) {
			t.Fatalf("not deterministic:\n%s\n%s", b1, b2)
		}
		if inst.MonthsEnrolled < 0 || inst.MonthsEnrolled > caresignal.MaxMonthsEnrolled || inst.Horizon < 1 || inst.Horizon > caresignal.MaxHorizon {
			t.Fatalf("months_enrolled %d, horizon %d accepted", inst.MonthsEnrolled, inst.Horizon)
		}
		pfCheckPrediction(t, m, &inst, p)
		h, err := m.Hazard(inst.Features, inst.MonthsEnrolled+1)
		if err != nil || math.Float64bits(h) != math.Float64bits(p.Hazard[0]) {
			t.Fatalf("Hazard(month %d) = %v, %v; Predict's first month %v", inst.MonthsEnrolled+1, h, err, p.Hazard[0])
		}
	})
}

var (
	pfOnce  sync.Once
	pfModel *Model
	pfErr   error
)

// pfUnbounded trains (once per process) a cloglog model from the engagement
// spec with no min or max on any numeric feature, each used as given, two
// of them rescaled so that their coefficients exceed 1.
func pfUnbounded(t *testing.T) *Model {
	t.Helper()
	pfOnce.Do(func() {
		c, err := synth.Generate(synth.Sized(1000, 17), nil)
		if err != nil {
			pfErr = err
			return
		}
		x, _ := c.Training()
		// Two features recorded on a hundredth of their scale (a score in
		// 0..0.01, sessions in hundreds) have coefficients far above 1 per
		// unit.
		for _, name := range []string{"baseline_score", "sessions_last_month"} {
			j := x.Column(name)
			for i := range x.Rows {
				if v := &x.Rows[i].Values[j]; v.Kind == caresignal.Number {
					v.Num /= 100
				}
			}
		}
		spec, err := feature.ParseSpecBytes(caresignal.EngagementSpec)
		if err != nil {
			pfErr = err
			return
		}
		for i := range spec.Features {
			if spec.Features[i].Type == feature.Numeric {
				spec.Features[i].Min, spec.Features[i].Max = nil, nil
				spec.Features[i].Transform = feature.Identity
			}
		}
		pfModel, pfErr = Train(context.Background(), spec, x, TrainOptions{Link: survival.CLogLog, Penalty: PenaltyNone,
			Now: func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }})
	})
	if pfErr != nil {
		t.Fatal(pfErr)
	}
	return pfModel
}

// pfApply edits feats: each byte of prog picks a target in its low nibble
// (a feature of the model, the name in str, or a near-miss name) and an
// edit in its high nibble; 0x4_ reads the next 8 bytes as float64 bits.
func pfApply(ft *feature.Fitted, feats map[string]caresignal.Value, num float64, str string, prog []byte) {
	for len(prog) > 0 {
		op := prog[0]
		prog = prog[1:]
		n := len(ft.Features)
		var name string
		switch k := int(op&0x0f) % (n + 2); {
		case k < n:
			name = ft.Features[k].Name
		case k == n:
			name = str
		default:
			name = strings.ToUpper(ft.Features[int(op>>4)%n].Name)
		}
		switch op >> 4 & 7 {
		case 0:
			delete(feats, name)
		case 1:
			feats[name] = caresignal.NullValue()
		case 2:
			feats[name] = caresignal.Num(num)
		case 3:
			feats[name] = caresignal.Str(str)
		case 4:
			var b [8]byte
			k := copy(b[:], prog)
			prog = prog[k:]
			feats[name] = caresignal.Num(math.Float64frombits(binary.LittleEndian.Uint64(b[:])))
		case 5:
			feats[name] = caresignal.Value{}
		case 6:
			feats[name] = caresignal.Str(strconv.FormatFloat(num, 'g', -1, 64))
		case 7:
			feats[name] = caresignal.Value{Kind: caresignal.ValueKind(op>>7 | (op&1)<<1), Num: num, Str: str}
		}
	}
}

func pfCheckError(t *testing.T, m *Model, inst *caresignal.Instance, err error) {
	t.Helper()
	var e *caresignal.Error
	if !errors.As(err, &e) || e.Code != caresignal.EINVALID || strings.TrimSpace(e.Message) == "" {
		t.Fatalf("error %v (%T): want an EINVALID *caresignal.Error with a message", err, err)
	}
	if !strings.HasPrefix(e.Message, e.Field) {
		t.Fatalf("message %q does not start with its field %q", e.Message, e.Field)
	}
	switch {
	case inst.MonthsEnrolled < 0 || inst.MonthsEnrolled > caresignal.MaxMonthsEnrolled:
		if e.Field != "months_enrolled" {
			t.Fatalf("months_enrolled %d: error on %q", inst.MonthsEnrolled, e.Field)
		}
	case inst.Horizon < 1 || inst.Horizon > caresignal.MaxHorizon:
		if e.Field != "horizon" {
			t.Fatalf("horizon %d: error on %q", inst.Horizon, e.Field)
		}
	default:
		name, ok := strings.CutPrefix(e.Field, "features.")
		_, sent := inst.Features[name]
		declared := slices.ContainsFunc(m.Features.Features, func(f feature.FittedFeature) bool { return f.Name == name })
		if name != "" && (!ok || !sent && !declared) {
			t.Fatalf("error %q on field %q, which is neither a declared nor a sent feature", e.Message, e.Field)
		}
	}
}

func pfCheckPrediction(t *testing.T, m *Model, inst *caresignal.Instance, p caresignal.Prediction) {
	t.Helper()
	if p.PatientID != inst.PatientID || len(p.Hazard) != inst.Horizon || len(p.Survival) != inst.Horizon {
		t.Fatalf("prediction for %q with %d hazards and %d survivals, want %q and %d", p.PatientID, len(p.Hazard), len(p.Survival), inst.PatientID, inst.Horizon)
	}
	s, sum := 1.0, 0.0
	for i, h := range p.Hazard {
		if !(h >= 0 && h <= 1) {
			t.Fatalf("month %d: hazard %v", i+1, h)
		}
		sv := p.Survival[i]
		if !(sv >= 0 && sv <= 1) || sv > s {
			t.Fatalf("month %d: survival %v after %v", i+1, sv, s)
		}
		if sv != s*(1-h) {
			t.Fatalf("month %d: survival %v, want %v·(1 − %v)", i+1, sv, s, h)
		}
		s = sv
		sum += sv
	}
	if math.IsNaN(p.ExpectedMonths) || p.ExpectedMonths < 0 || p.ExpectedMonths > float64(inst.Horizon) || math.Abs(p.ExpectedMonths-sum) > 1e-9 {
		t.Fatalf("expected months %v for survival summing to %v over %d months", p.ExpectedMonths, sum, inst.Horizon)
	}
	median := slices.IndexFunc(p.Survival, func(s float64) bool { return s <= 0.5 }) + 1
	if median == 0 && p.MedianMonths != nil || median > 0 && (p.MedianMonths == nil || *p.MedianMonths != median) {
		t.Fatalf("median %v, want %d for survival %v", p.MedianMonths, median, p.Survival)
	}
	if len(p.Explanation) != len(m.Features.Features) {
		t.Fatalf("%d contributions for %d features", len(p.Explanation), len(m.Features.Features))
	}
	for _, c := range p.Explanation {
		if math.IsNaN(c.Contribution) || math.IsInf(c.Contribution, 0) {
			t.Fatalf("contribution of %s = %s is %v", c.Feature, c.Value, c.Contribution)
		}
	}
}
