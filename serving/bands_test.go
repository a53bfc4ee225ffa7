package serving

import (
	"fmt"
	"testing"

	"github.com/caresignal/caresignal"
)

func TestAssignBands(t *testing.T) {
	var scores []caresignal.Score
	for i := range 25 {
		// hazards fall with i, two at each value: ties go by patient id
		scores = append(scores, caresignal.Score{PatientID: fmt.Sprintf("P%02d", 24-i), Risk30: float64(30-i/2) / 100})
	}
	assignBands(scores)
	count := map[caresignal.Band]int{}
	for _, s := range scores {
		count[s.Band]++
	}
	// 25 patients: ranks 0–2 high (rank·10 < 25), 3–7 medium (< 75), 8–24 low
	if count[caresignal.BandHigh] != 3 || count[caresignal.BandMedium] != 5 || count[caresignal.BandLow] != 17 {
		t.Fatalf("bands %v, want 3 high, 5 medium, 17 low", count)
	}
	// scores[2] (P22) and scores[3] (P21) share a hazard: P21 ranks
	// first, the third and last of the high band.
	if scores[3].Band != caresignal.BandHigh || scores[2].Band != caresignal.BandMedium || scores[4].Band != caresignal.BandMedium {
		t.Errorf("ties: %+v", scores[:5])
	}
}
