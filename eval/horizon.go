package eval

import "math"

// HorizonMetric measures the predictions of one month ahead: month k of
// the predicted curves, among the patients at risk at its start (T > k − 1,
// as in CalibrationMonth).
type HorizonMetric struct {
	Horizon int `json:"horizon"` // k: 1 is the first predicted month
	AtRisk  int `json:"at_risk"`
	Events  int `json:"events"`
	// MeanPredicted is the mean predicted hazard h_i(k) of the patients at
	// risk, Observed their drop-offs in month k over their number.
	MeanPredicted float64 `json:"mean_predicted"`
	Observed      float64 `json:"observed"`
	// CalibrationSlope is b of the logistic regression y ~ a + b·logit(h_i(k))
	// on those patients' rows of month k (h clipped as for
	// SurvivalMetrics.CalibrationSlope): the logistic recalibration slope
	// of month k alone. Nil when it has no finite estimate (no drop-off, or
	// all).
	CalibrationSlope *float64 `json:"calibration_slope"`
	// CalibrationIntercept is a of y ~ offset(logit(h_i(k))) + a on the same
	// rows: 0 when month k's hazards are right on average.
	CalibrationIntercept *float64 `json:"calibration_intercept"`
	// Brier is the IPCW Brier score of S_i(k) (SurvivalMetrics.Brier) and
	// IBS the integrated Brier score over months 1..k (SurvivalMetrics.IBS
	// with IBSMax = k): both over every patient, censored ones weighted as
	// there.
	Brier float64 `json:"brier"`
	IBS   float64 `json:"ibs"`
}

// ByHorizon measures predicted survival curves against outcomes month by
// month ahead, k = 1..H (H the curves' length; see HorizonMetric). Input is
// validated as EvaluateSurvival validates it.
func ByHorizon(obs []Outcome, surv [][]float64) ([]HorizonMetric, error) {
	h, err := ValidateSurvival(obs, surv)
	if err != nil {
		return nil, err
	}
	lh := make([][]float64, len(obs))
	for i, row := range surv {
		lh[i] = logitHazards(row)
	}
	g := CensoringKM(obs)
	brier := make([]float64, h)
	out := make([]HorizonMetric, h)
	for k := 1; k <= h; k++ {
		brier[k-1] = brierScore(obs, surv, k, g)
		m := HorizonMetric{Horizon: k, Brier: brier[k-1], IBS: integratedBrier(brier[:k])}
		var pp personPeriods
		var sum float64
		for i, o := range obs {
			periods, ev := atRiskPeriods(o, h)
			if periods < k {
				continue
			}
			m.AtRisk++
			sum += periodHazard(surv[i], k)
			pp.x = append(pp.x, lh[i][k-1])
			pp.y = append(pp.y, ev == k)
			if ev == k {
				m.Events++
			}
		}
		if m.AtRisk > 0 {
			m.MeanPredicted = sum / float64(m.AtRisk)
			m.Observed = float64(m.Events) / float64(m.AtRisk)
			if _, b, ok := pp.fitSlope(0, 1); ok {
				m.CalibrationSlope = &b
			}
			if a, ok := pp.fitIntercept(0); ok && !math.IsNaN(a) {
				m.CalibrationIntercept = &a
			}
		}
		out[k-1] = m
	}
	return out, nil
}
