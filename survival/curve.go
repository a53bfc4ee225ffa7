package survival

// Curve fills survival with the survival curve of the given monthly hazards,
// survival[i] = Π_{k≤i} (1 − hazard[k]), and returns the restricted mean
// (the expected number of the len(hazard) months survived, Σ survival[i]) and
// the median: the first month m (1-based) with survival[m-1] ≤ 0.5, or 0 when
// survival stays above one half over the whole horizon.
//
// survival must have the length of hazard; hazards must lie in [0, 1].
func Curve(hazard, survival []float64) (expected float64, median int) {
	s := 1.0
	for i, h := range hazard {
		s *= 1 - h
		survival[i] = s
		expected += s
		if median == 0 && s <= 0.5 {
			median = i + 1
		}
	}
	return expected, median
}
