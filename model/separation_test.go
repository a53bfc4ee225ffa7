package model

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
)

// siteExtract is 300 patients over months 1–3 at sites aa (the most
// frequent, so the default reference), bb and cc, where no patient at
// site aa drops out.
func siteExtract() *caresignal.Extract {
	x := &caresignal.Extract{Columns: []string{"site", "age"}}
	sites := []string{"aa", "aa", "bb", "cc"}
	for p := range 300 {
		site := sites[p%4]
		for m := 1; m <= 3; m++ {
			event := site != "aa" && (p*7+m)%5 == 0
			x.Rows = append(x.Rows, caresignal.ExtractRow{PatientID: fmt.Sprintf("p%03d", p), Month: m, Event: event,
				Values: []caresignal.Value{caresignal.Str(site), caresignal.Num(float64(30 + (p*13)%40))}})
			if event {
				break
			}
		}
	}
	return x
}

// TestSeparationByReferenceLevelIsNamed: a level without drop-offs is
// named whether or not it is the reference level; before, as the
// reference level, it was blamed on the baseline terms (or, on other
// data, failed with "matrix singular or near-singular").
func TestSeparationByReferenceLevelIsNamed(t *testing.T) {
	for _, c := range []struct{ reference, want string }{
		{"", "site=aa (the reference level) has an event"},
		{`,"reference":"bb"`, "rows with site=aa has an event"},
	} {
		spec, err := feature.ParseSpecBytes([]byte(`{"name":"t","baseline":{"type":"periods"},"features":[
			{"name":"site","type":"categorical"` + c.reference + `},{"name":"age","type":"numeric"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Train(context.Background(), spec, siteExtract(), TrainOptions{Penalty: PenaltyNone})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "separated") {
			t.Errorf("reference %q: err = %v, want separation naming %q", c.reference, err, c.want)
		}
	}
}
