package feature

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/synth"
)

// FuzzTransform drives fitted transformers — the engagement spec fitted to a
// synthetic cohort, and a deliberately awkward spec (an unbounded identity
// column, a standardised column whose scale is ~1e-150, categories with
// empty, non-ASCII and NUL-bearing labels, integer-coded categories, spline
// and piecewise baselines) — with instances whose features are edited by an
// arbitrary program: values deleted, nulled, replaced by any float64 bit
// pattern (NaN payloads, ±Inf, denormals, ±MaxFloat64), by arbitrary bytes,
// by numbers where labels belong and labels where numbers belong, plus
// unknown and near-miss feature names, and any months_enrolled and horizon.
//
// Invariants:
//   - nothing panics;
//   - an error is a *caresignal.Error with code EINVALID and a non-empty
//     message that starts with the offending field, which is a feature the
//     spec declares or a name the instance sent;
//   - otherwise every design row (the encoded features with the baseline
//     terms of each probed month) is finite, well formed (one baseline
//     indicator, at most one level indicator per categorical feature,
//     numeric columns equal to (x − center)/scale), and every warning names
//     its feature;
//   - the same input gives bit-identical output on a second call (with a
//     dirty destination row), and on a copy of the transformer that went
//     through the artifact's JSON round trip;
//   - the instance is not modified.
func FuzzTransform(f *testing.F) {
	type seed struct {
		which           uint8
		months, horizon int
		num             float64
		str             string
		prog            []byte
	}
	// prog opcodes: the low nibble picks the target (a spec feature, the
	// name in str, or a near-miss name), the high nibble the edit (see
	// fzApply). 0x4_ edits read the next 8 bytes as a float64 bit pattern.
	bits := func(op byte, x uint64) []byte {
		return binary.LittleEndian.AppendUint64([]byte{op}, x)
	}
	seeds := []seed{
		{0, 0, 12, 0, "", nil}, // the unedited valid instance
		{1, 3, 24, 0, "", nil}, // awkward spec, spline baseline
		{2, 5, 6, 0, "", nil},  // awkward spec, piecewise baseline
		{0, 0, 12, math.NaN(), "", []byte{0x20}},
		{0, 0, 12, math.Inf(1), "", []byte{0x20}},
		{0, 0, 12, math.Inf(-1), "", []byte{0x24}},
		{1, 0, 12, math.MaxFloat64, "", []byte{0x20}},      // identity column at MaxFloat64
		{1, 0, 12, -math.MaxFloat64, "", []byte{0x21}},     // overflows the tiny scale
		{1, 0, 12, 1.7e308, "", []byte{0x21, 0x20}},        //
		{1, 0, 12, 5e-324, "", []byte{0x21, 0x20, 0x24}},   // denormal
		{1, 0, 12, math.Copysign(0, -1), "", []byte{0x23}}, // -0 as a category code
		{1, 0, 12, 2, "", []byte{0x63}},                    // "2" for an integer-coded level
		{1, 0, 12, 2.0000000000000004, "", []byte{0x23}},   // unseen code
		{0, 0, 12, 0, "\xff\xfe\x00", []byte{0x31, 0x32}},  // invalid UTF-8 labels
		{0, 0, 12, 0, "", []byte{0x31}},                    // empty label, error policy
		{1, 0, 12, 0, "", []byte{0x32}},                    // empty label, a real level
		{1, 0, 12, 0, "x\x00y", []byte{0x32}},              // NUL inside a known level
		{0, 0, 12, 0, "agee", []byte{0x2a}},                // unknown feature
		{0, 0, 12, 0, "", []byte{0x2a}},                    // a feature named ""
		{0, 0, 12, 3, "", []byte{0x2b}},                    // near-miss name (case)
		{0, 0, 12, 0, "", []byte{0x00, 0x01, 0x02}},        // required features deleted
		{0, 0, 12, 0, "", []byte{0x14, 0x18}},              // nulls with imputation
		{0, 0, 12, 0, "", []byte{0x10}},                    // null without imputation
		{0, 0, 12, 0, "", []byte{0x50, 0x51}},              // present but Absent
		{0, 0, 12, 7, "7", []byte{0x70, 0x71, 0x74}},       // kinds with junk in unused fields
		{0, 0, 12, 54, "", []byte{0x60}},                   // "54" for a numeric feature
		{0, -1, 12, 0, "", nil},                            // months_enrolled -1
		{0, math.MaxInt, math.MaxInt, 0, "", nil},          // overflowing month arithmetic
		{0, math.MinInt, math.MinInt, 0, "", nil},          //
		{1, caresignal.MaxMonthsEnrolled, 1_000_000_000, 0, "", nil},
		{2, 0, 0, 0, "", nil},                                  // horizon 0
		{2, 0, -5, 0, "", nil},                                 // negative horizon
		{0, 0, 12, 0, "", bits(0x40, 0x7ff8000000000001)},      // NaN with a payload
		{0, 0, 12, 0, "", bits(0x40, 0xfff0000000000000)},      // -Inf
		{1, 0, 12, 0, "", bits(0x40, 0x0000000000000001)},      // smallest denormal
		{1, 0, 12, 0, "", bits(0x41, 0x7fefffffffffffff)},      // MaxFloat64 into the tiny scale
		{1, 0, 12, 0, strings.Repeat("é", 4096), []byte{0x32}}, // long unseen label
	}
	for _, s := range seeds {
		f.Add(s.which, s.months, s.horizon, s.num, s.str, s.prog)
	}
	f.Fuzz(func(t *testing.T, which uint8, months, horizon int, num float64, str string, prog []byte) {
		tr := fzTransformers(t)
		c := tr[int(which)%len(tr)]
		feats := c.valid()
		fzApply(c.ft, feats, num, str, prog)
		inst := caresignal.Instance{PatientID: "P-FUZZ", Features: feats, MonthsEnrolled: months, Horizon: horizon}
		before := fzCopy(feats)

		got := fzTransform(c.ft, &inst, false)
		if !fzSameMap(before, inst.Features) {
			t.Fatalf("%s: the transform modified the instance's features", c.name)
		}
		fzCheck(t, c, &inst, got)
		if again := fzTransform(c.ft, &inst, true); !got.equal(again) {
			t.Fatalf("%s: not deterministic:\nfirst  %+v\nsecond %+v", c.name, got, again)
		}
		if loaded := fzTransform(c.loaded, &inst, true); !got.equal(loaded) {
			t.Fatalf("%s: the transformer after a JSON round trip differs:\nfitted %+v\nloaded %+v", c.name, got, loaded)
		}
	})
}

// fzCase is one fitted transformer under test.
type fzCase struct {
	name   string
	ft     *Fitted
	loaded *Fitted // ft after a JSON round trip, as the model artifact holds it
	valid  func() map[string]caresignal.Value
}

var (
	fzOnce  sync.Once
	fzCases []fzCase
	fzErr   error
)

func fzTransformers(t testing.TB) []fzCase {
	t.Helper()
	fzOnce.Do(func() { fzCases, fzErr = fzBuild() })
	if fzErr != nil {
		t.Fatal(fzErr)
	}
	return fzCases
}

// fzAwkwardSpec exercises the corners of the transform the engagement spec
// does not: see FuzzTransform.
const fzAwkwardSpec = `{"name":"awkward","baseline":%s,"features":[
	{"name":"a","type":"numeric","transform":"none","impute":"constant","impute_value":-2.5},
	{"name":"b","type":"numeric","impute":"median"},
	{"name":"c","type":"categorical","unseen":"reference","impute":"most_frequent"},
	{"name":"d","type":"categorical"},
	{"name":"e","type":"numeric","min":-1,"max":1,"time_varying":true}]}`

func fzBuild() ([]fzCase, error) {
	var out []fzCase
	add := func(name string, spec []byte, x *caresignal.Extract, valid func() map[string]caresignal.Value) error {
		s, err := ParseSpecBytes(spec)
		if err != nil {
			return err
		}
		ft, err := Fit(s, x)
		if err != nil {
			return err
		}
		b, err := json.Marshal(ft)
		if err != nil {
			return err
		}
		loaded := new(Fitted)
		if err := json.Unmarshal(b, loaded); err != nil {
			return err
		}
		loaded.Prepare()
		if err := loaded.Check(); err != nil {
			return err
		}
		out = append(out, fzCase{name: name, ft: ft, loaded: loaded, valid: valid})
		return nil
	}

	cohort, err := synth.Generate(synth.Sized(400, 11), nil)
	if err != nil {
		return nil, err
	}
	x, _ := cohort.Training()
	err = add("engagement", caresignal.EngagementSpec, x, func() map[string]caresignal.Value {
		return map[string]caresignal.Value{
			"age": caresignal.Num(54), "sex": caresignal.Str("F"), "program": caresignal.Str("diabetes"),
			"channel": caresignal.Str("app"), "baseline_score": caresignal.Num(0.62), "prior_no_shows": caresignal.Num(1),
			"enrolled_via": caresignal.Str("referral"), "sessions_last_month": caresignal.Num(3),
			"days_since_last_session": caresignal.Num(6), "messages_last_month": caresignal.Num(4)}
	})
	if err != nil {
		return nil, err
	}

	awkward := fzAwkwardExtract()
	valid := func() map[string]caresignal.Value {
		return map[string]caresignal.Value{"a": caresignal.Num(3), "b": caresignal.Num(1e-150),
			"c": caresignal.Str("é"), "d": caresignal.Num(2), "e": caresignal.Num(0.25)}
	}
	for _, b := range []struct{ name, baseline string }{
		{"awkward/spline", `{"type":"spline","df":3}`},
		{"awkward/piecewise", `{"type":"piecewise","breaks":[1,2,4]}`},
	} {
		if err := add(b.name, []byte(strings.Replace(fzAwkwardSpec, "%s", b.baseline, 1)), awkward, valid); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fzAwkwardExtract is 30 patients over months 1..6 for fzAwkwardSpec.
func fzAwkwardExtract() *caresignal.Extract {
	labels := []string{"", "é", "x\x00y", "1"}
	x := &caresignal.Extract{Columns: []string{"e", "d", "c", "b", "a"}} // not in spec order
	for p := range 30 {
		last := p%6 + 1
		for m := 1; m <= last; m++ {
			a := caresignal.Num(float64(p*7%13) - 6)
			if p == 3 {
				a = caresignal.Num(1e6)
			}
			b := caresignal.Num(float64((p+m)%3) * 1e-150)
			if p%5 == 0 {
				b = caresignal.NullValue()
			}
			c := caresignal.Str(labels[(p+m)%4])
			if p%7 == 0 {
				c = caresignal.NullValue()
			}
			x.Rows = append(x.Rows, caresignal.ExtractRow{
				PatientID: "F" + strconv.Itoa(p), Month: m, Event: m == last && p%2 == 0,
				Values: []caresignal.Value{caresignal.Num(float64((p+m)%5)/4 - 0.5), caresignal.Num(float64(p%3 + 1)), c, b, a},
			})
		}
	}
	return x
}

// fzApply edits feats by prog; see FuzzTransform.
func fzApply(ft *Fitted, feats map[string]caresignal.Value, num float64, str string, prog []byte) {
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
			name = strings.ToUpper(ft.Features[int(op>>4)%n].Name) + " "
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
			feats[name] = caresignal.Value{} // sent, but Absent
		case 6:
			feats[name] = caresignal.Str(strconv.FormatFloat(num, 'g', -1, 64))
		case 7:
			// a known kind with junk in the fields it does not use
			feats[name] = caresignal.Value{Kind: caresignal.ValueKind(op>>7 | (op&1)<<1), Num: num, Str: str}
		}
	}
}

// fzResult is what one transform produced.
type fzResult struct {
	rows  [][]float64 // one design row per probed month
	etas  []float64   // the baseline part of the linear predictor per probed month
	warn  []string
	err   error
	month []int
}

func (r fzResult) equal(o fzResult) bool {
	if (r.err == nil) != (o.err == nil) || r.err != nil && r.err.Error() != o.err.Error() ||
		caresignal.ErrorField(r.err) != caresignal.ErrorField(o.err) || caresignal.ErrorCode(r.err) != caresignal.ErrorCode(o.err) {
		return false
	}
	bitsEqual := func(a, b []float64) bool {
		return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
	}
	return slices.Equal(r.warn, o.warn) && slices.Equal(r.month, o.month) && bitsEqual(r.etas, o.etas) &&
		slices.EqualFunc(r.rows, o.rows, bitsEqual)
}

// fzMonths returns up to 10 months covering the instance's horizon (the
// first, the last, some between) and the pooled tail, computed without
// overflow for any months_enrolled and horizon.
func fzMonths(ft *Fitted, inst *caresignal.Instance) []int {
	first := fzAdd(inst.MonthsEnrolled, 1)
	last := fzAdd(inst.MonthsEnrolled, inst.Horizon)
	ms := []int{first, last, ft.Baseline.Last, ft.Baseline.Last + 1, 1, 0}
	if last > first {
		span := last - first
		if span < 0 { // overflowed
			span = math.MaxInt
		}
		for k := 1; k <= 4; k++ {
			ms = append(ms, first+span/5*k)
		}
	}
	return ms
}

func fzAdd(a, b int) int {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt
	}
	return s
}

// fzTransform turns an instance into design rows as serving does: gather
// the values in spec order, encode them, and set the baseline terms of each
// probed month. dirty fills the destination with NaN first, to check that
// Encode writes every feature column.
func fzTransform(ft *Fitted, inst *caresignal.Instance, dirty bool) fzResult {
	var r fzResult
	vals, err := ft.Values(inst.Features, nil)
	if err != nil {
		r.err = err
		return r
	}
	feat := make([]float64, ft.Width())
	if dirty {
		for j := ft.Baseline.Width(); j < len(feat); j++ {
			feat[j] = math.NaN()
		}
	}
	if err := ft.Encode(vals, feat, &r.warn); err != nil {
		r.err = err
		return r
	}
	coef := make([]float64, ft.Width())
	for j := range coef {
		coef[j] = 1 - float64(j%3) // 1, 0, -1, …
	}
	for _, m := range fzMonths(ft, inst) {
		row := slices.Clone(feat)
		ft.Baseline.Set(m, row)
		r.rows = append(r.rows, row)
		r.etas = append(r.etas, ft.Baseline.Eta(m, coef))
		r.month = append(r.month, m)
	}
	return r
}

func fzCheck(t *testing.T, c fzCase, inst *caresignal.Instance, r fzResult) {
	t.Helper()
	ft := c.ft
	if r.err != nil {
		var e *caresignal.Error
		if !errors.As(r.err, &e) {
			t.Fatalf("%s: error %q (%T) is not a *caresignal.Error", c.name, r.err, r.err)
		}
		if e.Code != caresignal.EINVALID || e.Message == "" || strings.TrimSpace(e.Message) == "" {
			t.Fatalf("%s: error %+v: want EINVALID with a message", c.name, e)
		}
		_, sent := inst.Features[e.Field]
		declared := slices.ContainsFunc(ft.Features, func(f FittedFeature) bool { return f.Name == e.Field })
		if !sent && !declared {
			t.Fatalf("%s: error %q names field %q, which is neither declared nor sent", c.name, e.Message, e.Field)
		}
		if !strings.HasPrefix(e.Message, e.Field) {
			t.Fatalf("%s: error message %q does not start with its field %q", c.name, e.Message, e.Field)
		}
		return
	}
	for i, row := range r.rows {
		if len(row) != ft.Width() {
			t.Fatalf("%s: row of %d columns, want %d", c.name, len(row), ft.Width())
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s: month %d: column %d (%s) is %v", c.name, r.month[i], j, ft.Columns[j], v)
			}
		}
		if math.IsNaN(r.etas[i]) || math.IsInf(r.etas[i], 0) {
			t.Fatalf("%s: month %d: baseline eta %v", c.name, r.month[i], r.etas[i])
		}
		bw := ft.Baseline.Width()
		if ft.Baseline.Type != BaselineSpline {
			ones := 0
			for _, v := range row[:bw] {
				switch v {
				case 1:
					ones++
				case 0:
				default:
					t.Fatalf("%s: month %d: baseline indicator %v", c.name, r.month[i], v)
				}
			}
			if ones != 1 {
				t.Fatalf("%s: month %d: %d baseline terms set, want 1: %v", c.name, r.month[i], ones, row[:bw])
			}
		}
		for k, f := range ft.Features {
			cols := row[f.Column : f.Column+f.Width]
			v := inst.Features[f.Name]
			if f.Type == Numeric {
				x := v.Num
				if v.Missing() {
					x = f.ImputeNum
				}
				if want := (x - f.Center) / f.Scale; cols[0] != want {
					t.Fatalf("%s: feature %d %q = %v encoded as %v, want %v", c.name, k, f.Name, v, cols[0], want)
				}
				if !v.Missing() && (v.Kind != caresignal.Number || f.Min != nil && v.Num < *f.Min || f.Max != nil && v.Num > *f.Max) {
					t.Fatalf("%s: feature %q accepted %+v", c.name, f.Name, v)
				}
				continue
			}
			ones := 0
			for _, x := range cols {
				if x != 0 && x != 1 {
					t.Fatalf("%s: feature %q indicator %v", c.name, f.Name, x)
				}
				if x == 1 {
					ones++
				}
			}
			if ones > 1 {
				t.Fatalf("%s: feature %q has %d indicators set", c.name, f.Name, ones)
			}
		}
	}
	for _, w := range r.warn {
		if !slices.ContainsFunc(ft.Features, func(f FittedFeature) bool { return strings.HasPrefix(w, f.Name) }) {
			t.Fatalf("%s: warning %q names no feature", c.name, w)
		}
	}
}

func fzCopy(m map[string]caresignal.Value) map[string]caresignal.Value {
	out := make(map[string]caresignal.Value, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func fzSameMap(a, b map[string]caresignal.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Kind != w.Kind || v.Str != w.Str || math.Float64bits(v.Num) != math.Float64bits(w.Num) {
			return false
		}
	}
	return true
}
