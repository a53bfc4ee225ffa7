package monitor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/eval"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/model"
)

// HorizonComparison measures models month by month ahead on the same
// patients: those of one scoring run, rescored by each model from their
// logged inputs as of the run and followed up in the months after it,
// which no model was trained on.
type HorizonComparison struct {
	Run  string    `json:"run"`
	AsOf time.Time `json:"as_of"`
	// Patients followed up (a complete first month) and scored by every
	// model; Refused, those some model would not score (a category level
	// it never saw, under its batch policy).
	Patients int `json:"patients"`
	Refused  int `json:"refused"`
	// Horizon is the number of months ahead measured: the longest
	// follow-up, at most caresignal.DefaultHorizon.
	Horizon int                  `json:"horizon"`
	Models  []HorizonModelResult `json:"models"`
	// Bootstrap is the number of patient-level bootstrap replicates behind
	// the intervals (0: none), Level their level. Every model is measured
	// on the same replicates, so Closer compares them pair by pair.
	Bootstrap int     `json:"bootstrap,omitempty"`
	Level     float64 `json:"level,omitempty"`
	// Closer[k−1], for one carry-forward and one landmark model, is the
	// share of the replicates defining both slopes in which the landmark
	// model's calibration slope of month k is the closer to 1.
	Closer []float64 `json:"landmark_closer,omitempty"`
	// Verdict applies the rule for making the landmark model the default
	// when one carry-forward and one landmark model are compared: its
	// calibration slope closer to 1 at every horizon from 3 on, and its
	// integrated Brier score over the whole follow-up not worse.
	Verdict string `json:"verdict,omitempty"`
}

// HorizonModelResult is one model's metrics by horizon.
type HorizonModelResult struct {
	Name         string               `json:"name"`
	Version      string               `json:"version"`
	HorizonModel string               `json:"horizon_model"`
	ByHorizon    []eval.HorizonMetric `json:"by_horizon"`
	// SlopeCI[k−1] and IBSCI[k−1] are bootstrap percentile intervals of
	// month k's calibration slope and integrated Brier score (a slope's
	// nil when fewer than two replicates define it).
	SlopeCI []*[2]float64 `json:"slope_ci,omitempty"`
	IBSCI   [][2]float64  `json:"ibs_ci,omitempty"`
}

// HorizonOptions configure CompareHorizons' bootstrap: Bootstrap
// replicates (0: none) from Seed, intervals at Level (default 0.95).
type HorizonOptions struct {
	Bootstrap int
	Seed      uint64
	Level     float64
}

// CompareHorizons rescores run's patients with each model (batch policy,
// the month in progress as the run scored it: the logged days_elapsed) and
// measures each month ahead against outcomes (FollowUp's, counted from the
// month in progress at scoring: horizon 1 is the rest of that month).
func CompareHorizons(r *ScoreRun, outcomes []Outcome, models []*model.Model, opt HorizonOptions) (*HorizonComparison, error) {
	if len(outcomes) != len(r.Patients) {
		return nil, fmt.Errorf("comparing horizons: %d outcomes for %d patients", len(outcomes), len(r.Patients))
	}
	c := &HorizonComparison{Run: r.ID, AsOf: r.AsOf}
	for i := range r.Patients {
		if outcomes[i].Time >= 1 {
			c.Horizon = max(c.Horizon, outcomes[i].Time)
		}
	}
	c.Horizon = min(c.Horizon, caresignal.DefaultHorizon)
	if c.Horizon == 0 {
		return nil, nil
	}
	surv := make([][][]float64, len(models))
	var obs []eval.Outcome
patients:
	for i := range r.Patients {
		if outcomes[i].Time < 1 {
			continue
		}
		p := &r.Patients[i]
		inst := caresignal.Instance{Features: p.Features, MonthsEnrolled: p.MonthsEnrolled, DaysElapsed: p.DaysElapsed, Horizon: c.Horizon}
		curves := make([][]float64, len(models))
		for k, m := range models {
			pred, err := m.PredictFor(feature.SurfaceBatch, &inst, false)
			if err != nil {
				c.Refused++
				continue patients
			}
			curves[k] = pred.Survival
		}
		for k := range models {
			surv[k] = append(surv[k], curves[k])
		}
		obs = append(obs, eval.Outcome{Time: float64(outcomes[i].Time), Event: outcomes[i].Event})
	}
	c.Patients = len(obs)
	if len(obs) == 0 {
		return nil, nil
	}
	for k, m := range models {
		by, err := eval.ByHorizon(obs, surv[k])
		if err != nil {
			return nil, fmt.Errorf("model %s %s by horizon: %w", m.Name, m.Version, err)
		}
		c.Models = append(c.Models, HorizonModelResult{Name: m.Name, Version: m.Version, HorizonModel: m.HorizonModel(), ByHorizon: by})
	}
	if opt.Bootstrap > 0 {
		if err := c.bootstrap(obs, surv, opt); err != nil {
			return nil, err
		}
	}
	c.Verdict = c.verdict()
	return c, nil
}

// bootstrap resamples the patients opt.Bootstrap times, measures every
// model on each replicate, and sets the intervals and Closer.
func (c *HorizonComparison) bootstrap(obs []eval.Outcome, surv [][][]float64, opt HorizonOptions) error {
	level := opt.Level
	if level == 0 {
		level = 0.95
	}
	c.Bootstrap, c.Level = opt.Bootstrap, level
	h, n := c.Horizon, len(obs)
	slopes := make([][][]float64, len(c.Models)) // model, month, replicate
	ibs := make([][][]float64, len(c.Models))
	for k := range c.Models {
		slopes[k], ibs[k] = make([][]float64, h), make([][]float64, h)
	}
	var closer, both []int
	lmIdx, cfIdx := -1, -1
	if len(c.Models) == 2 {
		for k, m := range c.Models {
			switch m.HorizonModel {
			case model.HorizonLandmark:
				lmIdx = k
			case model.HorizonCarryForward:
				cfIdx = k
			}
		}
		if lmIdx >= 0 && cfIdx >= 0 {
			closer, both = make([]int, h), make([]int, h)
		}
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x686f72697a6f6e)) // "horizon"
	bo := make([]eval.Outcome, n)
	bs := make([][]float64, n)
	rep := make([][]eval.HorizonMetric, len(c.Models))
	for range opt.Bootstrap {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		for k := range c.Models {
			for i, j := range idx {
				bo[i], bs[i] = obs[j], surv[k][j]
			}
			by, err := eval.ByHorizon(bo, bs)
			if err != nil {
				return fmt.Errorf("bootstrap by horizon: %w", err)
			}
			rep[k] = by
			for t, m := range by {
				if m.CalibrationSlope != nil {
					slopes[k][t] = append(slopes[k][t], *m.CalibrationSlope)
				}
				ibs[k][t] = append(ibs[k][t], m.IBS)
			}
		}
		if closer != nil {
			for t := range h {
				a, b := rep[cfIdx][t].CalibrationSlope, rep[lmIdx][t].CalibrationSlope
				if a != nil && b != nil {
					both[t]++
					if math.Abs(*b-1) < math.Abs(*a-1) {
						closer[t]++
					}
				}
			}
		}
	}
	alpha := (1 - level) / 2
	for k := range c.Models {
		m := &c.Models[k]
		m.SlopeCI, m.IBSCI = make([]*[2]float64, h), make([][2]float64, h)
		for t := range h {
			if x := slopes[k][t]; len(x) >= 2 {
				slices.Sort(x)
				m.SlopeCI[t] = &[2]float64{eval.Quantile7(x, alpha), eval.Quantile7(x, 1-alpha)}
			}
			x := ibs[k][t]
			slices.Sort(x)
			m.IBSCI[t] = [2]float64{eval.Quantile7(x, alpha), eval.Quantile7(x, 1-alpha)}
		}
	}
	if closer != nil {
		c.Closer = make([]float64, h)
		for t := range h {
			if both[t] > 0 {
				c.Closer[t] = float64(closer[t]) / float64(both[t])
			}
		}
	}
	return nil
}

// verdict applies the default rule to one carry-forward and one landmark
// model ("" for any other set of models).
func (c *HorizonComparison) verdict() string {
	var cf, lm *HorizonModelResult
	for i := range c.Models {
		switch c.Models[i].HorizonModel {
		case model.HorizonCarryForward:
			cf = &c.Models[i]
		case model.HorizonLandmark:
			lm = &c.Models[i]
		}
	}
	if cf == nil || lm == nil || len(c.Models) != 2 {
		return ""
	}
	if c.Horizon < 3 {
		return fmt.Sprintf("undecided: the follow-up covers %d month(s) ahead, and the rule looks at months 3 on", c.Horizon)
	}
	var worse []string
	for k := 3; k <= c.Horizon; k++ {
		a, b := cf.ByHorizon[k-1].CalibrationSlope, lm.ByHorizon[k-1].CalibrationSlope
		switch {
		case b == nil:
			worse = append(worse, fmt.Sprintf("month %d: no landmark slope", k))
		case a != nil && math.Abs(*b-1) >= math.Abs(*a-1):
			worse = append(worse, fmt.Sprintf("month %d: slope %.3f against %.3f", k, *b, *a))
		}
	}
	ibsCF, ibsLM := cf.ByHorizon[c.Horizon-1].IBS, lm.ByHorizon[c.Horizon-1].IBS
	if ibsLM > ibsCF {
		worse = append(worse, fmt.Sprintf("integrated Brier score over months 1–%d %.5f against %.5f", c.Horizon, ibsLM, ibsCF))
	}
	if len(worse) == 0 {
		return fmt.Sprintf("landmark: its calibration slope is closer to 1 at every month from 3 to %d and its integrated Brier score over months 1–%d is not worse (%.5f against %.5f)", c.Horizon, c.Horizon, ibsLM, ibsCF)
	}
	return "carry-forward: the landmark model does not meet the rule — " + strings.Join(worse, "; ")
}
