package feature

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/caresignal/caresignal"
)

// Baseline hazard types.
const (
	// BaselineMonths gives each month its own term when it has enough
	// drop-offs, and pools a sparse month with its neighbours (the
	// default).
	BaselineMonths = "months"
	// BaselinePeriods gives every month seen in training its own term,
	// pooling nothing: a month without drop-offs (or without survivors)
	// is refused as separation, naming it.
	BaselinePeriods = "periods"
	// BaselinePiecewise is piecewise constant over declared intervals.
	BaselinePiecewise = "piecewise"
	// BaselineSpline is a natural cubic spline in the month.
	BaselineSpline = "spline"
)

// Baseline declares the baseline-hazard time terms. Every type pools the
// months past the last month seen in training with that month: their
// hazard, for the same features, is the last month's.
type Baseline struct {
	// Type is BaselineMonths (default), BaselinePeriods,
	// BaselinePiecewise or BaselineSpline.
	Type string `json:"type,omitempty"`
	// MinEvents (months) is the fewest drop-offs a term needs; it also
	// needs a row without one. Months are taken in order: a month with
	// fewer shares a term with the months after it until the term has
	// enough; a sparse run at the end joins the term before it. So a
	// sparse month is pooled with its neighbours only, never with every
	// later month. Default 10.
	MinEvents int `json:"min_events,omitempty"`
	// Breaks (piecewise) are the first months of the intervals, ascending
	// and starting at 1: [1, 2, 4, 7] gives terms for month 1, month 2,
	// months 3–6 and months 7 on. [1] alone is a constant baseline hazard.
	Breaks []int `json:"breaks,omitempty"`
	// DF (spline) is the spline's degrees of freedom besides the constant:
	// DF−1 interior knots. Default 4.
	DF int `json:"df,omitempty"`
	// Knots (spline) are the interior knots, in months; default DF−1 knots
	// at equally spaced quantiles of the training rows' months, as R's
	// splines::ns chooses them. The boundary knots are the first and last
	// months seen in training.
	Knots []float64 `json:"knots,omitempty"`
}

func (b Baseline) validate() error {
	field := func(name string) string { return "baseline." + name }
	switch b.Type {
	case "", BaselineMonths:
		if b.MinEvents < 0 {
			return caresignal.Invalidf(field("min_events"), "feature spec: baseline.min_events must be ≥ 0")
		}
		if b.Breaks != nil || b.DF != 0 || b.Knots != nil {
			return caresignal.Invalidf(field("type"), "feature spec: breaks, df and knots need baseline type %q or %q", BaselinePiecewise, BaselineSpline)
		}
	case BaselinePeriods:
		if b.MinEvents != 0 || b.Breaks != nil || b.DF != 0 || b.Knots != nil {
			return caresignal.Invalidf(field("type"), "feature spec: a %q baseline takes no min_events, breaks, df or knots", BaselinePeriods)
		}
	case BaselinePiecewise:
		if len(b.Breaks) == 0 || b.Breaks[0] != 1 {
			return caresignal.Invalidf(field("breaks"), "feature spec: a piecewise baseline needs breaks starting at month 1, e.g. [1, 2, 4, 7]")
		}
		for i := 1; i < len(b.Breaks); i++ {
			if b.Breaks[i] <= b.Breaks[i-1] {
				return caresignal.Invalidf(field("breaks"), "feature spec: baseline.breaks must be strictly increasing (%d follows %d)", b.Breaks[i], b.Breaks[i-1])
			}
		}
		if b.Breaks[len(b.Breaks)-1] > caresignal.MaxMonthsEnrolled {
			return caresignal.Invalidf(field("breaks"), "feature spec: baseline.breaks go past month %d", caresignal.MaxMonthsEnrolled)
		}
		if b.MinEvents != 0 || b.DF != 0 || b.Knots != nil {
			return caresignal.Invalidf(field("type"), "feature spec: a piecewise baseline takes breaks only")
		}
	case BaselineSpline:
		if b.DF < 0 || b.DF > 20 {
			return caresignal.Invalidf(field("df"), "feature spec: baseline.df must be between 1 and 20")
		}
		if b.Knots != nil && b.DF != 0 && len(b.Knots) != b.DF-1 {
			return caresignal.Invalidf(field("knots"), "feature spec: %d knots given for df %d (which needs %d); give one or the other", len(b.Knots), b.DF, b.DF-1)
		}
		for i, k := range b.Knots {
			if math.IsNaN(k) || math.IsInf(k, 0) || (i > 0 && k <= b.Knots[i-1]) {
				return caresignal.Invalidf(field("knots"), "feature spec: baseline.knots must be finite and strictly increasing")
			}
		}
		if b.MinEvents != 0 || b.Breaks != nil {
			return caresignal.Invalidf(field("type"), "feature spec: a spline baseline takes df and knots only")
		}
	default:
		return caresignal.Invalidf(field("type"), "feature spec: unknown baseline type %q (want %q, %q, %q or %q)", b.Type, BaselineMonths, BaselinePeriods, BaselinePiecewise, BaselineSpline)
	}
	return nil
}

// minEvents returns the configured threshold or its default.
func (b Baseline) minEvents() int {
	if b.MinEvents == 0 {
		return 10
	}
	return b.MinEvents
}

// FittedBaseline is the baseline fitted to training rows.
type FittedBaseline struct {
	Type string `json:"type"`
	// Starts (indicator types) are the first months of the terms: term t
	// covers months Starts[t] … Starts[t+1]−1, the last one every later
	// month.
	Starts []int `json:"starts,omitempty"`
	// Knots (spline) are all knots, boundaries included, ascending.
	Knots []float64 `json:"knots,omitempty"`
	// Last is the last month seen in training; later months are scored as
	// this one.
	Last int `json:"last_month"`
	// MonthRows and MonthEvents count training rows and drop-offs per
	// month 1..Last.
	MonthRows   []int `json:"month_rows"`
	MonthEvents []int `json:"month_events"`
}

// Width is the number of baseline design columns.
func (b *FittedBaseline) Width() int {
	if b.Type == BaselineSpline {
		return len(b.Knots)
	}
	return len(b.Starts)
}

// nonZeros is the number of non-zero baseline columns in a row, at most.
func (b *FittedBaseline) nonZeros() int {
	if b.Type == BaselineSpline {
		return len(b.Knots)
	}
	return 1
}

// check verifies a decoded baseline.
func (b *FittedBaseline) check() error {
	if b.Last < 1 || len(b.MonthRows) != b.Last || len(b.MonthEvents) != b.Last {
		return fmt.Errorf("last month %d with %d row counts and %d event counts", b.Last, len(b.MonthRows), len(b.MonthEvents))
	}
	switch b.Type {
	case BaselineMonths, BaselinePeriods, BaselinePiecewise:
		if len(b.Starts) == 0 || b.Starts[0] != 1 || b.Knots != nil {
			return fmt.Errorf("%s baseline needs terms starting at month 1", b.Type)
		}
		for t := 1; t < len(b.Starts); t++ {
			if b.Starts[t] <= b.Starts[t-1] || b.Starts[t] > b.Last {
				return fmt.Errorf("term starts %v are not increasing within months 1..%d", b.Starts, b.Last)
			}
		}
	case BaselineSpline:
		if len(b.Knots) < 2 || len(b.Knots) > 32 || b.Starts != nil {
			return fmt.Errorf("spline baseline has %d knots", len(b.Knots))
		}
		for k := 1; k < len(b.Knots); k++ {
			if !(b.Knots[k] > b.Knots[k-1]) || math.IsInf(b.Knots[k], 0) {
				return fmt.Errorf("spline knots %v are not increasing", b.Knots)
			}
		}
	default:
		return fmt.Errorf("unknown type %q", b.Type)
	}
	return nil
}

// term returns the indicator term of month m (indicator types).
func (b *FittedBaseline) term(m int) int {
	m = min(max(m, 1), b.Last)
	t, _ := slices.BinarySearch(b.Starts, m+1)
	return t - 1
}

// Set writes the baseline columns of month m into dst[:Width] (which must
// hold zeros for the indicator types).
func (b *FittedBaseline) Set(m int, dst []float64) {
	if b.Type != BaselineSpline {
		dst[b.term(m)] = 1
		return
	}
	naturalSpline(float64(min(max(m, 1), b.Last)), b.Knots, dst)
}

// Eta returns the baseline part of the linear predictor in month m.
func (b *FittedBaseline) Eta(m int, coef []float64) float64 {
	if b.Type != BaselineSpline {
		return coef[b.term(m)]
	}
	var buf [32]float64
	basis := buf[:len(b.Knots)]
	naturalSpline(float64(min(max(m, 1), b.Last)), b.Knots, basis)
	eta := 0.0
	for j, v := range basis {
		eta += coef[j] * v
	}
	return eta
}

// Constant lists the baseline columns that carry the model's constant: a
// constant added to every row's linear predictor is added to each of these
// coefficients (every indicator term, or the spline's intercept).
func (b *FittedBaseline) Constant() []int {
	if b.Type == BaselineSpline {
		return []int{0}
	}
	out := make([]int, len(b.Starts))
	for t := range out {
		out[t] = t
	}
	return out
}

// Names names the baseline columns: "month_3" for a one-month term,
// "months_3-5" for an interval, a trailing "+" on the last term ("month_12+",
// "months_7+"), "intercept" for a single constant term; a spline's are
// "intercept" and "month_spline_1" ….
func (b *FittedBaseline) Names() []string {
	if b.Type == BaselineSpline {
		names := []string{"intercept"}
		for j := 1; j < len(b.Knots); j++ {
			names = append(names, "month_spline_"+strconv.Itoa(j))
		}
		return names
	}
	if len(b.Starts) == 1 {
		return []string{"intercept"}
	}
	names := make([]string, len(b.Starts))
	for t, s := range b.Starts {
		switch {
		case t == len(b.Starts)-1:
			names[t] = "month_" + strconv.Itoa(s) + "+"
			if s < b.Last {
				names[t] = "months_" + strconv.Itoa(s) + "+"
			}
		case b.Starts[t+1] == s+1:
			names[t] = "month_" + strconv.Itoa(s)
		default:
			names[t] = fmt.Sprintf("months_%d-%d", s, b.Starts[t+1]-1)
		}
	}
	return names
}

// Pooled lists the terms of an indicator baseline that cover more than
// one of the months 1..Last, as first and last month.
func (b *FittedBaseline) Pooled() [][2]int {
	if b.Type == BaselineSpline {
		return nil
	}
	var out [][2]int
	for t, s := range b.Starts {
		end := b.Last
		if t+1 < len(b.Starts) {
			end = b.Starts[t+1] - 1
		}
		if end > s {
			out = append(out, [2]int{s, end})
		}
	}
	return out
}

// Describe says in words what the baseline is; for the months baseline it
// names every pooled run of months with its drop-offs.
func (b *FittedBaseline) Describe() string {
	after := fmt.Sprintf("months after %d scored as month %d", b.Last, b.Last)
	switch {
	case b.Type == BaselineSpline:
		return fmt.Sprintf("natural cubic spline in the month, %d knots (%s), %s", len(b.Knots), formatKnots(b.Knots), after)
	case b.Type == BaselineMonths && len(b.Pooled()) > 0:
		if len(b.Starts) == 1 {
			return fmt.Sprintf("one constant hazard for every month: too few drop-offs for more than one term, so %s pooled; %s", b.describePooled(), after)
		}
		return fmt.Sprintf("one term per month 1..%d, except these pooled with a neighbour for too few drop-offs (or none without): %s; %s", b.Last, b.describePooled(), after)
	case len(b.Starts) == 1:
		return "one constant hazard for every month"
	case b.Type == BaselineMonths || b.Type == BaselinePeriods:
		return fmt.Sprintf("one term per month 1..%d, %s", b.Last, after)
	}
	return fmt.Sprintf("piecewise constant, %d intervals starting at months %v; %s", len(b.Starts), b.Starts, after)
}

// describePooled lists the pooled runs with each month's drop-offs and
// rows: "months 3–4 (drop-offs/rows 0/71, 14/71)".
func (b *FittedBaseline) describePooled() string {
	var parts []string
	for _, r := range b.Pooled() {
		var months []string
		for m := r[0]; m <= r[1]; m++ {
			months = append(months, fmt.Sprintf("%d/%d", b.MonthEvents[m-1], b.MonthRows[m-1]))
		}
		parts = append(parts, fmt.Sprintf("months %d–%d (drop-offs/rows %s)", r[0], r[1], strings.Join(months, ", ")))
	}
	return strings.Join(parts, ", ")
}

func formatKnots(k []float64) string {
	s := ""
	for i, v := range k {
		if i > 0 {
			s += ", "
		}
		s += strconv.FormatFloat(v, 'g', 6, 64)
	}
	return s
}

// fitBaseline counts rows and drop-offs per month and fits the baseline.
func (ft *Fitted) fitBaseline(x *caresignal.Extract) error {
	spec := ft.Spec.Baseline
	b := FittedBaseline{Type: spec.Type}
	if b.Type == "" {
		b.Type = BaselineMonths
	}
	for i, r := range x.Rows {
		if r.Month < 1 || r.Month > caresignal.MaxMonthsEnrolled {
			return caresignal.Invalidf("month", "training row %d: month %d is not between 1 and %d", i+1, r.Month, caresignal.MaxMonthsEnrolled)
		}
		for len(b.MonthRows) < r.Month {
			b.MonthRows, b.MonthEvents = append(b.MonthRows, 0), append(b.MonthEvents, 0)
		}
		b.MonthRows[r.Month-1]++
		if r.Event {
			b.MonthEvents[r.Month-1]++
		}
	}
	b.Last = len(b.MonthRows)
	rows, events := b.MonthRows, b.MonthEvents
	total := 0
	for _, e := range events {
		total += e
	}
	if total == 0 {
		return caresignal.Errorf(caresignal.EINVALID, "feature fit: the training extract has no drop-offs, so there is no hazard to model")
	}
	switch b.Type {
	case BaselineMonths:
		// Runs of months, in order, each closed once it has minEv
		// drop-offs and a row without one (a run whose rows all drop off
		// would have a hazard of 1); a run left at the end joins the last
		// closed run (or is the only one).
		minEv := spec.minEvents()
		start, ev, n := 1, 0, 0
		for m := 1; m <= b.Last; m++ {
			ev, n = ev+events[m-1], n+rows[m-1]
			if ev >= minEv && n > ev {
				b.Starts = append(b.Starts, start)
				start, ev, n = m+1, 0, 0
			}
		}
		if len(b.Starts) == 0 {
			b.Starts = []int{1}
		}
	case BaselinePeriods:
		// Fit checks the months (checkPeriods) once the features are fitted.
		for m := 1; m <= b.Last; m++ {
			b.Starts = append(b.Starts, m)
		}
	case BaselinePiecewise:
		for _, s := range spec.Breaks {
			if s > b.Last {
				return caresignal.Invalidf("baseline.breaks", "feature fit: baseline break at month %d is past the last month in the training data (%d)", s, b.Last)
			}
		}
		b.Starts = slices.Clone(spec.Breaks)
	case BaselineSpline:
		if err := b.fitKnots(spec, rows); err != nil {
			return err
		}
	}
	for m, n := range rows {
		if n == 0 && b.Type != BaselineMonths {
			return caresignal.Invalidf("month", "feature fit: no training row is in month %d, so its baseline hazard cannot be estimated", m+1)
		}
	}
	ft.Baseline = b
	return nil
}

// checkPeriods refuses a term-per-month baseline when a month's rows all
// have a drop-off or none (fitBaseline has already refused a month
// without rows, and Fit calls this only after it). Such a month's hazard
// estimate is 0 or 1, its coefficient ∓∞: the data are separated by the
// month's indicator and the maximum-likelihood estimate does not exist.
// R's glm reports a large finite coefficient where it happened to stop,
// with a meaningless standard error; a model that tells every patient
// they cannot drop out that month is no better. The months baseline
// pools such a month with its neighbour instead.
func (b *FittedBaseline) checkPeriods() error {
	var bad []string
	for m, n := range b.MonthRows {
		switch ev := b.MonthEvents[m]; {
		case ev == 0:
			bad = append(bad, fmt.Sprintf("none of the %d training rows in month %d has a drop-off (its hazard would be 0, the coefficient of month_%d −∞)", n, m+1, m+1))
		case ev == n:
			bad = append(bad, fmt.Sprintf("all %d training rows in month %d have a drop-off (its hazard would be 1, the coefficient of month_%d +∞)", n, m+1, m+1))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return caresignal.Invalidf("baseline.type", "feature fit: a term per month cannot be estimated, the data are separated: %s; use the %q baseline, which pools such a month with its neighbours, or piecewise breaks", strings.Join(bad, "; "), BaselineMonths)
}

// fitKnots places the spline's knots: the boundary knots at the first and
// last months with rows, the interior ones as given or at quantiles of the
// rows' months (R's type 7, as splines::ns uses).
func (b *FittedBaseline) fitKnots(spec Baseline, rows []int) error {
	lo, hi := 0, len(rows)
	for lo < len(rows) && rows[lo] == 0 {
		lo++
	}
	lo++ // 1-based month
	if hi <= lo {
		return caresignal.Invalidf("baseline.type", "feature fit: a spline baseline needs rows in at least two months; the training data have only month %d", hi)
	}
	interior := spec.Knots
	if interior == nil {
		df := spec.DF
		if df == 0 {
			df = 4
		}
		total := 0
		for _, n := range rows {
			total += n
		}
		for i := 1; i < df; i++ {
			interior = append(interior, monthQuantile(rows, total, float64(i)/float64(df)))
		}
	}
	knots := []float64{float64(lo)}
	for _, k := range interior {
		if !(k > knots[len(knots)-1]) || k >= float64(hi) {
			return caresignal.Invalidf("baseline.knots", "feature fit: spline knots %v must lie strictly inside the training months %d..%d and be distinct; use fewer degrees of freedom", interior, lo, hi)
		}
		knots = append(knots, k)
	}
	b.Knots = append(knots, float64(hi))
	return nil
}

// monthQuantile is R's type-7 quantile of the month of the training rows,
// given their counts per month: x[h] + (h−⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]) with
// h = (n−1)p over the sorted months, 0-based.
func monthQuantile(rows []int, n int, p float64) float64 {
	h := float64(n-1) * p
	lo := int(math.Floor(h))
	at := func(i int) float64 { // the i-th smallest month, 0-based
		for m, c := range rows {
			if i < c {
				return float64(m + 1)
			}
			i -= c
		}
		return float64(len(rows))
	}
	x0 := at(lo)
	if lo+1 >= n {
		return x0
	}
	return x0 + (h-float64(lo))*(at(lo+1)-x0)
}

// naturalSpline writes the natural cubic spline basis at x for the given
// knots (boundaries included) into dst[:len(knots)]: the constant, x, and
// d_k(x) − d_{K−1}(x) for k = 1..K−2, where
// d_k(x) = ((x−ξ_k)³₊ − (x−ξ_K)³₊)/(ξ_K − ξ_k) (Hastie, Tibshirani and
// Friedman, eq. 5.4–5.5). The basis spans the same functions as R's
// splines::ns with an intercept; x and the knots are first mapped to
// [0, 1] to keep the cubes well scaled.
func naturalSpline(x float64, knots, dst []float64) {
	K := len(knots)
	lo, hi := knots[0], knots[K-1]
	s := func(v float64) float64 { return (v - lo) / (hi - lo) }
	t := s(x)
	cube := func(v float64) float64 {
		if v <= 0 {
			return 0
		}
		return v * v * v
	}
	last := s(knots[K-1])
	d := func(k int) float64 {
		xk := s(knots[k])
		return (cube(t-xk) - cube(t-last)) / (last - xk)
	}
	dst[0], dst[1] = 1, t
	dK1 := d(K - 2)
	for k := 0; k < K-2; k++ {
		dst[2+k] = d(k) - dK1
	}
}
