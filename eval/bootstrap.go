package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// DefaultBootstrapReplicates is the customary number of bootstrap replicates.
const DefaultBootstrapReplicates = 200

// bootstrapStream is the second word of the PCG seed of the generator that
// draws each replicate's seed; the first word is SurvivalOptions.Seed.
const bootstrapStream = 0x63617265736967 // "caresig"

// BootstrapInfo describes the bootstrap behind SurvivalMetrics.CI. Each of
// the B replicates draws n patients with replacement (a math/rand/v2 PCG
// generator whose seeds derive from Seed), re-estimates every metric on them
// (G and the Kaplan–Meier curves included; the months, τ and tmax stay those
// of the full data), and each metric's interval is the pair of (1−Level)/2
// and 1−(1−Level)/2 quantiles (R's type 7) of its values over the replicates
// where it is defined. The result does not depend on the number of
// goroutines.
type BootstrapInfo struct {
	Replicates int     `json:"replicates"` // B
	Seed       uint64  `json:"seed"`
	Level      float64 `json:"level"`
	// Usable counts, per metric, the replicates in which it was defined;
	// only those enter its interval.
	Usable map[string]int `json:"usable"`
}

// bootstrap computes percentile intervals of the scalar metrics named keys
// (in the order of cohort.scalars) from b replicates:
//
//   - replicate r resamples the n patients with replacement, drawing n
//     indices with a PCG generator (math/rand/v2) seeded with two words that
//     a PCG generator seeded with (seed, bootstrapStream) yields in order,
//     two per replicate;
//   - each replicate re-estimates everything on the resampled patients: G,
//     the Kaplan–Meier curves, the concordances, the Brier scores, the AUCs
//     and the calibration regressions; the months, τ and tmax stay those of
//     the full data;
//   - a metric's interval is the pair of (1−level)/2 and 1−(1−level)/2
//     quantiles of its values over the replicates where it is defined, with
//     R's default (type 7) interpolation: for sorted values x_1..x_m and
//     probability q, h = (m−1)q and x_{⌊h⌋+1} + (h−⌊h⌋)(x_{⌊h⌋+2} − x_{⌊h⌋+1});
//     it needs at least two such replicates.
//
// Replicates run on GOMAXPROCS goroutines; each depends only on its own seed,
// so the result does not depend on scheduling.
func (c *cohort) bootstrap(s survivalSettings, b int, seed uint64, keys []string, start fitStart) (map[string][2]float64, *BootstrapInfo, []string) {
	master := rand.New(rand.NewPCG(seed, bootstrapStream))
	seeds := make([][2]uint64, b)
	for r := range seeds {
		seeds[r] = [2]uint64{master.Uint64(), master.Uint64()}
	}
	values := make([][]float64, b)
	var next atomic.Int64
	var wg sync.WaitGroup
	n := len(c.obs)
	for range min(runtime.GOMAXPROCS(0), b) {
		wg.Go(func() {
			idx := make([]int, n)
			for {
				r := int(next.Add(1)) - 1
				if r >= b {
					return
				}
				rng := rand.New(rand.NewPCG(seeds[r][0], seeds[r][1]))
				for i := range idx {
					idx[i] = rng.IntN(n)
				}
				rc := c.resample(idx)
				values[r], _ = rc.scalars(s, CensoringKM(rc.obs), start)
			}
		})
	}
	wg.Wait()

	info := &BootstrapInfo{Replicates: b, Seed: seed, Level: s.level, Usable: make(map[string]int)}
	ci := make(map[string][2]float64)
	var notes []string
	alpha := (1 - s.level) / 2
	for k, key := range keys {
		var x []float64
		for _, v := range values {
			if !math.IsNaN(v[k]) {
				x = append(x, v[k])
			}
		}
		info.Usable[key] = len(x)
		if len(x) < 2 {
			notes = append(notes, fmt.Sprintf("ci.%s: only %d of %d bootstrap replicates define it, no interval", key, len(x), b))
			continue
		}
		slices.Sort(x)
		ci[key] = [2]float64{Quantile7(x, alpha), Quantile7(x, 1-alpha)}
	}
	return ci, info, notes
}

// Quantile7 returns the q-quantile of sorted x with R's type 7 interpolation.
func Quantile7(x []float64, q float64) float64 {
	h := float64(len(x)-1) * q
	lo := int(math.Floor(h))
	if lo >= len(x)-1 {
		return x[len(x)-1]
	}
	return x[lo] + (h-float64(lo))*(x[lo+1]-x[lo])
}
