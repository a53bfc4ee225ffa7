package feature

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
)

func TestParseSpecErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{`{}`, "name is required"},
		{`{"name":"x"}`, "no features"},
		{`{"name":"x","features":[{"name":"a","type":"numeric"}],"extra":1}`, "unknown field"},
		{`{"name":"x","features":[{"name":"a","type":"text"}]}`, `type "text"`},
		{`{"name":"x","features":[{"name":"a","type":"numeric"},{"name":"a","type":"numeric"}]}`, "declared twice"},
		{`{"name":"x","features":[{"name":"a","type":"numeric","transform":"log"}]}`, "unknown transform"},
		{`{"name":"x","features":[{"name":"a","type":"numeric","impute":"mode"}]}`, "not one of mean, median, constant"},
		{`{"name":"x","features":[{"name":"a","type":"numeric","impute":"constant"}]}`, "numeric impute_value"},
		{`{"name":"x","features":[{"name":"a","type":"numeric","min":3,"max":1}]}`, "above max"},
		{`{"name":"x","features":[{"name":"a","type":"numeric","reference":"q"}]}`, "categorical features only"},
		{`{"name":"x","features":[{"name":"a","type":"categorical","unseen":"drop"}]}`, "unknown unseen policy"},
		{`{"name":"x","features":[{"name":"a","type":"categorical","transform":"standardize"}]}`, "numeric features only"},
		{`{"name":"x","features":[{"name":"a","type":"categorical","impute":"mean"}]}`, "most_frequent, constant"},
		{`{"name":"x","features":[{"name":"a","type":"categorical","impute_value":"q"}]}`, "impute is not"},
		{`{"name":"x","baseline":{"min_events":-1},"features":[{"name":"a","type":"numeric"}]}`, "min_events"},
		{`{"name":"x","features":[{"name":"a","type":"numeric"}]} {}`, "after the JSON"},
		{`[`, "feature spec"},
	}
	for _, tt := range tests {
		_, err := ParseSpec(strings.NewReader(tt.spec))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSpec(%s) error = %v, want one containing %q", tt.spec, err, tt.want)
		}
	}
}

func TestEngagementSpecParses(t *testing.T) {
	s, err := ParseSpecBytes(caresignal.EngagementSpec)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "engagement" || len(s.Features) != 10 {
		t.Errorf("engagement spec: name %q with %d features", s.Name, len(s.Features))
	}
}

// extract builds a small person-period extract: x numeric, c categorical.
func extract(rows ...[]any) *caresignal.Extract {
	x := &caresignal.Extract{Columns: []string{"x", "c"}}
	for _, r := range rows {
		row := caresignal.ExtractRow{PatientID: r[0].(string), Month: r[1].(int), Event: r[2].(bool)}
		for _, v := range r[3:] {
			switch v := v.(type) {
			case nil:
				row.Values = append(row.Values, caresignal.NullValue())
			case float64:
				row.Values = append(row.Values, caresignal.Num(v))
			case string:
				row.Values = append(row.Values, caresignal.Str(v))
			}
		}
		x.Rows = append(x.Rows, row)
	}
	return x
}

func spec(t *testing.T, js string) *Spec {
	t.Helper()
	s, err := ParseSpecBytes([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFitAndEncode(t *testing.T) {
	s := spec(t, `{"name":"t","baseline":{"min_events":1},"features":[
		{"name":"x","type":"numeric","impute":"median"},
		{"name":"c","type":"categorical","unseen":"reference","impute":"most_frequent"}]}`)
	x := extract(
		[]any{"a", 1, false, 1.0, "u"},
		[]any{"a", 2, true, 3.0, "v"},
		[]any{"b", 1, true, nil, "v"},
		[]any{"c", 1, false, 8.0, "w"},
		[]any{"c", 2, false, 4.0, nil},
		[]any{"c", 3, true, 2.0, "v"},
	)
	ft, err := Fit(s, x)
	if err != nil {
		t.Fatal(err)
	}
	// months 1, 2 have one event each and rows without; month 3's one row
	// is a drop-off, so it joins month 2: month_1, months_2+.
	if ft.Baseline.Width() != 2 || strings.Join(ft.Columns, ",") != "month_1,months_2+,x,c=u,c=w" {
		t.Fatalf("columns %v (baseline %+v)", ft.Columns, ft.Baseline)
	}
	fx := ft.Features[0]
	// observed x: 1,3,8,4,2 → mean 3.6, population sd √(29.2/5), median 3
	if math.Abs(fx.Center-3.6) > 1e-15 || math.Abs(fx.Scale-math.Sqrt(29.2/5)) > 1e-15 || fx.ImputeNum != 3 || fx.Missing != 1 {
		t.Errorf("numeric fit %+v", fx)
	}
	fc := ft.Features[1]
	if fc.Reference != "v" || fc.ImputeLevel != "v" || strings.Join(fc.Levels, ",") != "u,w" || fc.Missing != 1 {
		t.Errorf("categorical fit %+v", fc)
	}

	row := make([]float64, ft.Width())
	var warn []string
	err = ft.Encode([]caresignal.Value{caresignal.NullValue(), caresignal.Str("zzz")}, row, &warn)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{0, 0, (3 - 3.6) / fx.Scale, 0, 0}; !equal(row, want) {
		t.Errorf("encoded %v, want %v", row, want)
	}
	if len(warn) != 2 || !strings.Contains(warn[0], "imputed as 3") || !strings.Contains(warn[1], `unseen level "zzz"`) {
		t.Errorf("warnings %q", warn)
	}
	ft.Encode([]caresignal.Value{caresignal.Num(8), caresignal.Str("w")}, row, nil)
	if want := []float64{0, 0, (8 - 3.6) / fx.Scale, 0, 1}; !equal(row, want) {
		t.Errorf("encoded %v, want %v", row, want)
	}
	for m, want := range map[int]int{1: 0, 2: 1, 3: 1, 40: 1} {
		if got := ft.Baseline.term(m); got != want {
			t.Errorf("month %d uses baseline term %d, want %d (months past the last own term share the pooled one)", m, got, want)
		}
	}

	// The fitted transformer survives a JSON round trip unchanged.
	b, _ := json.Marshal(ft)
	var back Fitted
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.Prepare()
	if err := back.Check(); err != nil {
		t.Fatal(err)
	}
	row2 := make([]float64, back.Width())
	back.Encode([]caresignal.Value{caresignal.Num(8), caresignal.Str("w")}, row2, nil)
	if !equal(row, row2) {
		t.Errorf("after a JSON round trip encoded %v, want %v", row2, row)
	}
	back.Baseline.Last = 7
	if back.Check() == nil {
		t.Error("Check accepted inconsistent baseline counts")
	}
}

func TestEncodeErrors(t *testing.T) {
	s := spec(t, `{"name":"t","features":[
		{"name":"x","type":"numeric","min":0,"max":10},
		{"name":"c","type":"categorical","unseen":"error"}]}`)
	x := extract(
		[]any{"a", 1, true, 1.0, "u"},
		[]any{"b", 1, false, 3.0, "v"},
	)
	ft, err := Fit(s, x)
	if err != nil {
		t.Fatal(err)
	}
	ok := caresignal.Str("u")
	tests := []struct {
		vals  []caresignal.Value
		field string
		msg   string
	}{
		{[]caresignal.Value{{}, ok}, "x", "x is required"},
		{[]caresignal.Value{caresignal.NullValue(), ok}, "x", "x is null, and the model has no imputation"},
		{[]caresignal.Value{caresignal.Str("3"), ok}, "x", "x must be a number"},
		{[]caresignal.Value{caresignal.Num(math.NaN()), ok}, "x", "finite"},
		{[]caresignal.Value{caresignal.Num(math.Inf(1)), ok}, "x", "finite"},
		{[]caresignal.Value{caresignal.Num(-1), ok}, "x", "at least 0"},
		{[]caresignal.Value{caresignal.Num(11), ok}, "x", "at most 10"},
		{[]caresignal.Value{caresignal.Num(1), caresignal.Str("q")}, "c", `c is not a level the model knows (known levels: "u", "v")`},
		{[]caresignal.Value{caresignal.Num(1), {}}, "c", "c is required"},
	}
	row := make([]float64, ft.Width())
	for _, tt := range tests {
		err := ft.Encode(tt.vals, row, nil)
		var e *caresignal.Error
		if !errors.As(err, &e) || e.Field != tt.field || !strings.Contains(e.Message, tt.msg) || e.Code != caresignal.EINVALID {
			t.Errorf("Encode(%v) = %v, want field %q with %q", tt.vals, err, tt.field, tt.msg)
		}
	}
	_, err = ft.Values(map[string]caresignal.Value{"x": caresignal.Num(1), "c": ok, "zeta": ok, "alpha": ok}, nil)
	if caresignal.ErrorField(err) != "alpha" {
		t.Errorf("Values with unknown names: %v, want the first unknown name, alpha", err)
	}
}

func TestFitErrors(t *testing.T) {
	tests := []struct {
		spec string
		x    *caresignal.Extract
		want string
	}{
		{`{"name":"t","features":[{"name":"y","type":"numeric"}]}`, extract([]any{"a", 1, true, 1.0, "u"}), `"y" is in the spec but not in the data`},
		{`{"name":"t","features":[{"name":"x","type":"numeric"}]}`, extract([]any{"a", 1, true, 1.0, "u"}, []any{"b", 1, false, 1.0, "v"}), "constant"},
		{`{"name":"t","features":[{"name":"x","type":"numeric"}]}`, extract([]any{"a", 1, true, nil, "u"}, []any{"b", 1, false, 1.0, "v"}, []any{"c", 1, false, 2.0, "v"}), "missing in 1 training rows"},
		{`{"name":"t","features":[{"name":"c","type":"categorical"}]}`, extract([]any{"a", 1, true, 1.0, "u"}, []any{"b", 1, false, 2.0, "u"}), "single level"},
		{`{"name":"t","features":[{"name":"c","type":"categorical","reference":"q"}]}`, extract([]any{"a", 1, true, 1.0, "u"}, []any{"b", 1, false, 2.0, "v"}), `reference level "q" does not occur`},
		{`{"name":"t","features":[{"name":"c","type":"numeric"}]}`, extract([]any{"a", 1, true, 1.0, "u"}, []any{"b", 1, false, 2.0, "v"}), "not a number"},
		{`{"name":"t","features":[{"name":"x","type":"numeric"}]}`, extract([]any{"a", 1, false, 1.0, "u"}, []any{"b", 1, false, 2.0, "v"}), "no drop-offs"},
		{`{"name":"t","features":[{"name":"x","type":"numeric"}]}`, &caresignal.Extract{Columns: []string{"x"}}, "no rows"},
	}
	for _, tt := range tests {
		_, err := Fit(spec(t, tt.spec), tt.x)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Fit(%s) error = %v, want one containing %q", tt.spec, err, tt.want)
		}
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-15 {
			return false
		}
	}
	return true
}

// FuzzParseSpec feeds arbitrary bytes to the spec parser: it must return a
// spec that validates, or an error — never panic.
func FuzzParseSpec(f *testing.F) {
	f.Add(caresignal.EngagementSpec)
	f.Add([]byte(`{"name":"x","features":[{"name":"a","type":"numeric","impute":"constant","impute_value":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSpecBytes(b)
		if err == nil {
			if err := s.Validate(); err != nil {
				t.Fatalf("parsed spec fails validation: %v", err)
			}
		}
	})
}

// TestEncodeOverflow: a finite input whose standardised value overflows is
// an input error, not an infinity passed on to the model.
func TestEncodeOverflow(t *testing.T) {
	s := spec(t, `{"name":"t","features":[{"name":"x","type":"numeric"}]}`)
	ft, err := Fit(s, extract([]any{"a", 1, true, 0.1, "u"}, []any{"b", 1, false, 0.2, "v"}))
	if err != nil {
		t.Fatal(err)
	}
	row := make([]float64, ft.Width())
	err = ft.Encode([]caresignal.Value{caresignal.Num(1.7e308)}, row, nil)
	if caresignal.ErrorCode(err) != caresignal.EINVALID || caresignal.ErrorField(err) != "x" {
		t.Fatalf("Encode(1.7e308) = %v, want EINVALID on x", err)
	}
}

func TestBaselines(t *testing.T) {
	// months 1..6 with two rows each and an event in every month
	var rows [][]any
	for m := 1; m <= 6; m++ {
		rows = append(rows, []any{"a", m, true, float64(m), "u"}, []any{"b", m, false, float64(7 - m), "v"})
	}
	x := extract(rows...)
	fit := func(b string) *Fitted {
		t.Helper()
		s := spec(t, `{"name":"t","baseline":`+b+`,"features":[{"name":"x","type":"numeric"},{"name":"c","type":"categorical"}]}`)
		ft, err := Fit(s, x)
		if err != nil {
			t.Fatal(err)
		}
		return ft
	}
	pw := fit(`{"type":"piecewise","breaks":[1,2,4]}`)
	if got := strings.Join(pw.Baseline.Names(), ","); got != "month_1,months_2-3,months_4+" {
		t.Errorf("piecewise names %s", got)
	}
	for m, want := range map[int]int{1: 0, 2: 1, 3: 1, 4: 2, 6: 2, 99: 2} {
		if got := pw.Baseline.term(m); got != want {
			t.Errorf("piecewise: month %d in term %d, want %d", m, got, want)
		}
	}
	if got := strings.Join(fit(`{"type":"piecewise","breaks":[1]}`).Baseline.Names(), ","); got != "intercept" {
		t.Errorf("constant baseline names %s", got)
	}
	if got := strings.Join(fit(`{"min_events":1}`).Baseline.Names(), ","); got != "month_1,month_2,month_3,month_4,month_5,month_6+" {
		t.Errorf("per-month names %s", got)
	}

	sp := fit(`{"type":"spline","df":3}`)
	// 12 rows, months 1..6 twice: R's quantile(type 7) at 1/3 and 2/3 is
	// 8/3 and 13/3 (h = 11/3 and 22/3 over 1,1,2,2,…,6,6); boundaries 1, 6.
	if len(sp.Baseline.Knots) != 4 || math.Abs(sp.Baseline.Knots[1]-8.0/3) > 1e-12 || math.Abs(sp.Baseline.Knots[2]-13.0/3) > 1e-12 {
		t.Errorf("spline knots %v, want [1 2.667 4.333 6]", sp.Baseline.Knots)
	}
	if got := strings.Join(sp.Baseline.Names(), ","); got != "intercept,month_spline_1,month_spline_2,month_spline_3" {
		t.Errorf("spline names %s", got)
	}
	// A natural cubic spline is linear beyond the boundary knots and a
	// cubic with continuous second derivative inside; here, check
	// linearity past the last knot and that the eta of months past the
	// last month repeats the last month's.
	k := sp.Baseline.Knots
	basis := func(v float64) []float64 {
		d := make([]float64, len(k))
		naturalSpline(v, k, d)
		return d
	}
	b6, b7, b8 := basis(6), basis(7), basis(8)
	for j := range b6 {
		if math.Abs((b8[j]-b7[j])-(b7[j]-b6[j])) > 1e-12 {
			t.Errorf("basis %d is not linear past the boundary: %v %v %v", j, b6[j], b7[j], b8[j])
		}
	}
	coef := []float64{-2, 0.5, -0.3, 0.2, 1, 1, 1}
	if sp.Baseline.Eta(6, coef) != sp.Baseline.Eta(40, coef) {
		t.Error("months past the last training month must be scored as the last month")
	}
}

// TestUnseenPerSurface: a spec may give one unseen-level policy for both
// surfaces or one each; the API's refuses a level the batch policy
// scores as the reference; a spec and a fitted feature with one policy
// serialise as before (artifacts keep their bytes, and so their versions).
func TestUnseenPerSurface(t *testing.T) {
	x := extract([]any{"a", 1, true, 1.0, "u"}, []any{"b", 1, false, 2.0, "v"}, []any{"c", 1, true, 3.0, "v"})
	split := spec(t, `{"name":"t","baseline":{"min_events":1},"features":[
		{"name":"x","type":"numeric"},
		{"name":"c","type":"categorical","unseen":{"api":"error","batch":"reference"}}]}`)
	ft, err := Fit(split, x)
	if err != nil {
		t.Fatal(err)
	}
	if f := ft.Features[1]; f.Unseen != UnseenError || f.UnseenBatch != UnseenReference {
		t.Fatalf("fitted policies %q, %q", f.Unseen, f.UnseenBatch)
	}
	vals := []caresignal.Value{caresignal.Num(1), caresignal.Str("zzz")}
	row := make([]float64, ft.Width())
	if err := ft.Encode(vals, row, nil); caresignal.ErrorField(err) != "c" || strings.Contains(err.Error(), "zzz") {
		t.Errorf("API: %v", err)
	}
	var warn []string
	if err := ft.EncodeFor(SurfaceBatch, vals, row, &warn); err != nil || len(warn) != 1 {
		t.Errorf("batch: %v, warnings %q", err, warn)
	}
	var unseen []string
	ft.UnseenLevels(map[string]caresignal.Value{"x": caresignal.Num(1), "c": caresignal.Str("zzz")}, func(f string) { unseen = append(unseen, f) })
	ft.UnseenLevels(map[string]caresignal.Value{"x": caresignal.Num(1), "c": caresignal.Str("v")}, func(f string) { unseen = append(unseen, f) })
	ft.UnseenLevels(map[string]caresignal.Value{"x": caresignal.Num(1), "c": caresignal.NullValue()}, func(f string) { unseen = append(unseen, f) })
	if !slices.Equal(unseen, []string{"c"}) {
		t.Errorf("unseen levels %q", unseen)
	}
	b, _ := json.Marshal(split.Features[1])
	if !strings.Contains(string(b), `"unseen":{"api":"error","batch":"reference"}`) {
		t.Errorf("a split policy serialised as %s", b)
	}

	one := spec(t, `{"name":"t","baseline":{"min_events":1},"features":[
		{"name":"x","type":"numeric"},
		{"name":"c","type":"categorical","unseen":"reference"},
		{"name":"d","type":"categorical"}]}`)
	for i, want := range []string{`"unseen":"reference"`, ``} {
		b, _ := json.Marshal(one.Features[i+1])
		if (want == "" && strings.Contains(string(b), "unseen")) || !strings.Contains(string(b), want) {
			t.Errorf("feature %d serialised as %s", i+1, b)
		}
	}
	x2 := extract([]any{"a", 1, true, 1.0, "u", "p"}, []any{"b", 1, false, 2.0, "v", "q"}, []any{"c", 1, true, 3.0, "v", "q"})
	x2.Columns = append(x2.Columns, "d")
	ft2, err := Fit(one, x2)
	if err != nil {
		t.Fatal(err)
	}
	fb, _ := json.Marshal(ft2.Features[1])
	if strings.Contains(string(fb), "unseen_batch") || ft2.Features[1].Unseen != UnseenReference {
		t.Errorf("one policy fitted as %s", fb)
	}
	if err := ft2.EncodeFor(SurfaceBatch, []caresignal.Value{caresignal.Num(1), caresignal.Str("zzz"), caresignal.Str("q")}, make([]float64, ft2.Width()), nil); err != nil {
		t.Errorf("one policy, batch: %v", err)
	}
	for _, bad := range []string{`{"api":"error","batch":"maybe"}`, `{"api":"error","web":"reference"}`, `"sometimes"`, `7`} {
		if _, err := ParseSpecBytes([]byte(`{"name":"t","baseline":{"min_events":1},"features":[{"name":"c","type":"categorical","unseen":` + bad + `}]}`)); err == nil {
			t.Errorf("unseen %s accepted", bad)
		}
	}
}

// TestScaleOfImputedColumn: a standardised column's center and scale are
// the mean and SD (divisor n) of its observed values; the rows it imputes
// count in neither (docs/model.md), so a column's scale does not depend on
// its share of missing values.
func TestScaleOfImputedColumn(t *testing.T) {
	s := spec(t, `{"name":"t","features":[{"name":"x","type":"numeric","impute":"mean"},{"name":"c","type":"categorical"}]}`)
	x := extract(
		[]any{"a", 1, false, 1.0, "u"}, []any{"a", 2, true, 2.0, "u"}, []any{"b", 1, false, 3.0, "v"},
		[]any{"c", 1, false, nil, "v"}, []any{"d", 1, true, nil, "u"}, []any{"d", 2, false, 6.0, "v"},
	)
	f, err := Fit(s, x)
	if err != nil {
		t.Fatal(err)
	}
	ff := f.Features[0]
	// observed 1, 2, 3, 6: mean 3, SD sqrt(((−2)² + (−1)² + 0 + 3²)/4) = sqrt(3.5)
	if ff.Center != 3 || math.Abs(ff.Scale-math.Sqrt(3.5)) > 1e-15 || ff.ImputeNum != 3 || ff.Missing != 2 {
		t.Errorf("center %v, scale %v (want 3, %v: the SD with the imputed rows would be %v), imputed %v, missing %d",
			ff.Center, ff.Scale, math.Sqrt(3.5), math.Sqrt(14.0/6), ff.ImputeNum, ff.Missing)
	}
}

// TestBaselinePooling: the months baseline pools a month with too few
// drop-offs with its neighbours only, and says which months it pooled; the
// periods baseline keeps a term per month and refuses a month without
// drop-offs, naming it.
func TestBaselinePooling(t *testing.T) {
	// events[m-1] drop-offs among 30 rows in month m.
	data := func(events ...int) *caresignal.Extract {
		var rows [][]any
		for m, e := range events {
			for i := range 30 {
				rows = append(rows, []any{fmt.Sprintf("p%d-%d", m, i), m + 1, i < e, float64(i), []string{"u", "v"}[i%2]})
			}
		}
		return extract(rows...)
	}
	fit := func(baseline string, x *caresignal.Extract) (*Fitted, error) {
		return Fit(spec(t, `{"name":"t","baseline":`+baseline+`,"features":[{"name":"x","type":"numeric"},{"name":"c","type":"categorical"}]}`), x)
	}
	tests := []struct {
		name, baseline string
		events         []int
		names          string // the baseline terms
		describe       string // in Describe
	}{
		{"empty middle month", `{"min_events":5}`, []int{12, 9, 0, 8, 7, 11, 6},
			"month_1,month_2,months_3-4,month_5,month_6,month_7+", "months 3–4 (drop-offs/rows 0/30, 8/30)"},
		{"empty first month", `{"min_events":5}`, []int{0, 9, 7, 8, 7, 11, 6},
			"months_1-2,month_3,month_4,month_5,month_6,month_7+", "months 1–2 (drop-offs/rows 0/30, 9/30)"},
		{"sparse run", `{"min_events":5}`, []int{12, 2, 1, 3, 7, 11, 6},
			"month_1,months_2-4,month_5,month_6,month_7+", "months 2–4 (drop-offs/rows 2/30, 1/30, 3/30)"},
		{"sparse tail", `{"min_events":5}`, []int{12, 9, 8, 7, 2, 1, 1},
			"month_1,month_2,month_3,months_4+", "months 4–7 (drop-offs/rows 7/30, 2/30, 1/30, 1/30)"},
		{"too few for two terms", `{"min_events":50}`, []int{12, 9, 8, 7, 2, 1, 1},
			"intercept", "one constant hazard for every month: too few drop-offs for more than one term, so months 1–7"},
		{"month without survivors", `{"min_events":5}`, []int{12, 9, 30, 8, 7, 11, 6},
			"month_1,month_2,months_3-4,month_5,month_6,month_7+", "months 3–4 (drop-offs/rows 30/30, 8/30)"},
		{"periods", `{"type":"periods"}`, []int{12, 9, 1, 8, 7, 11, 6},
			"month_1,month_2,month_3,month_4,month_5,month_6,month_7+", "one term per month 1..7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ft, err := fit(tc.baseline, data(tc.events...))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ft.Baseline.Names(), ","); got != tc.names {
				t.Errorf("baseline terms %s, want %s", got, tc.names)
			}
			if got := ft.Baseline.Describe(); !strings.Contains(got, tc.describe) {
				t.Errorf("Describe() = %q, want it to say %q", got, tc.describe)
			}
		})
	}
	for _, events := range [][]int{{12, 9, 0, 8, 7, 11, 6}, {0, 9, 7, 8, 7, 11, 6}} {
		empty := slices.Index(events, 0) + 1
		_, err := fit(`{"type":"periods"}`, data(events...))
		want := fmt.Sprintf("none of the 30 training rows in month %d has a drop-off", empty)
		if caresignal.ErrorCode(err) != caresignal.EINVALID || !strings.Contains(fmt.Sprint(err), want) || !strings.Contains(fmt.Sprint(err), fmt.Sprintf("month_%d −∞", empty)) {
			t.Errorf("periods baseline with month %d empty: %v, want EINVALID saying %q", empty, err, want)
		}
	}
	full := []int{12, 9, 30, 8}
	if _, err := fit(`{"type":"periods"}`, data(full...)); !strings.Contains(fmt.Sprint(err), "all 30 training rows in month 3 have a drop-off") {
		t.Errorf("periods baseline with every row of month 3 a drop-off: %v", err)
	}
}
