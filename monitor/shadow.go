package monitor

import (
	"context"
	"math"
	"slices"
	"sort"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/wire"
)

// ShadowComparison compares a shadow version's answers with production's on
// the same requests: the first-month hazards, pair by pair.
type ShadowComparison struct {
	Model      string `json:"model"`
	Shadow     string `json:"shadow_version"`
	Production string `json:"production_version"`
	// Pairs counts the patients both versions scored; Unpaired the shadow
	// records without their production record in the selection.
	Pairs    int `json:"pairs"`
	Unpaired int `json:"unpaired"`
	// Differences are shadow − production next-month hazard.
	MeanDiff    float64 `json:"mean_diff"`
	MeanAbsDiff float64 `json:"mean_abs_diff"`
	P95AbsDiff  float64 `json:"p95_abs_diff"`
	MaxAbsDiff  float64 `json:"max_abs_diff"`
	// MeanProduction and MeanShadow are the mean next-month hazards.
	MeanProduction float64 `json:"mean_production"`
	MeanShadow     float64 `json:"mean_shadow"`
	// Correlation is Pearson's between the two (nil when either is
	// constant).
	Correlation *float64 `json:"correlation"`
	// TopDecileAgreement is the share of the production's top tenth by
	// hazard that the shadow also puts in its top tenth: how much the
	// worklist's head would change.
	TopDecileAgreement *float64 `json:"top_decile_agreement"`
}

// CompareShadows pairs every shadow record that f selects with the
// production record of the same request and patient (the k-th shadow
// record of a request with its k-th production record), and summarises
// each shadow version against the production versions it ran beside.
// Production records are held in memory by request: window f on a large
// log.
func CompareShadows(ctx context.Context, log caresignal.PredictionLog, f caresignal.PredictionFilter) ([]ShadowComparison, error) {
	groups, err := log.SummarisePredictions(ctx, f)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(groups, func(g caresignal.PredictionGroup) bool { return wire.IsShadow(g.Route) }) {
		return nil, nil
	}
	type answer struct {
		version string
		h       float64
	}
	production := map[string][]answer{} // by route and request id
	used := map[string]int{}
	type pair struct{ p, s float64 }
	pairs := map[[3]string][]pair{} // model, shadow version, production version
	unpaired := map[[2]string]int{}
	err = log.ScanPredictions(ctx, f, func(row *caresignal.PredictionRecord) error {
		rec := wire.Read(row)
		out, err := rec.DecodeOutputs()
		if err != nil || len(out.Hazard) == 0 || rec.Kind != wire.KindPatient {
			return nil
		}
		key := rec.Route + "\x00" + rec.RequestID
		if !rec.Shadow {
			production[key] = append(production[key], answer{rec.Model.Version, out.Hazard[0]})
			return nil
		}
		k := used[key]
		if k >= len(production[key]) {
			unpaired[[2]string{rec.Model.Name, rec.Model.Version}]++
			return nil
		}
		used[key]++
		p := production[key][k]
		g := [3]string{rec.Model.Name, rec.Model.Version, p.version}
		pairs[g] = append(pairs[g], pair{p.h, out.Hazard[0]})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var res []ShadowComparison
	for g, ps := range pairs {
		c := ShadowComparison{Model: g[0], Shadow: g[1], Production: g[2], Pairs: len(ps), Unpaired: unpaired[[2]string{g[0], g[1]}]}
		abs := make([]float64, len(ps))
		prod, shad := make([]float64, len(ps)), make([]float64, len(ps))
		for i, q := range ps {
			d := q.s - q.p
			c.MeanDiff += d
			abs[i] = math.Abs(d)
			c.MeanAbsDiff += abs[i]
			c.MeanProduction += q.p
			c.MeanShadow += q.s
			prod[i], shad[i] = q.p, q.s
		}
		n := float64(len(ps))
		c.MeanDiff /= n
		c.MeanAbsDiff /= n
		c.MeanProduction /= n
		c.MeanShadow /= n
		slices.Sort(abs)
		c.MaxAbsDiff = abs[len(abs)-1]
		c.P95AbsDiff = abs[min(len(abs)-1, int(math.Ceil(0.95*n))-1)]
		c.Correlation = pearson(prod, shad)
		c.TopDecileAgreement = topDecileAgreement(prod, shad)
		res = append(res, c)
	}
	sort.Slice(res, func(i, j int) bool {
		a, b := res[i], res[j]
		return a.Model+a.Shadow+a.Production < b.Model+b.Shadow+b.Production
	})
	return res, nil
}

func pearson(x, y []float64) *float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	if sxx == 0 || syy == 0 {
		return nil
	}
	r := sxy / math.Sqrt(sxx*syy)
	return &r
}

// topDecileAgreement is the share of the ⌈n/10⌉ highest x that are also
// among the ⌈n/10⌉ highest y (ties broken by position); nil below ten
// pairs.
func topDecileAgreement(x, y []float64) *float64 {
	n := len(x)
	if n < 10 {
		return nil
	}
	k := (n + 9) / 10
	top := func(v []float64) []int {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
		return idx[:k]
	}
	inY := map[int]bool{}
	for _, i := range top(y) {
		inY[i] = true
	}
	same := 0
	for _, i := range top(x) {
		if inY[i] {
			same++
		}
	}
	a := float64(same) / float64(k)
	return &a
}
