package model

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
)

// emptyPeriodCase is a fixture of testdata/reference/baseline, written by
// scripts/reference/empty_periods.R: a discretisation of R's data with a
// period that has no events, fitted by glm with a term per period and with
// the default baseline's runs of periods.
type emptyPeriodCase struct {
	Case            string   `json:"case"`
	Reference       string   `json:"reference"`
	Data            string   `json:"data"`
	ID              string   `json:"id"`
	Event           string   `json:"event"`
	Period          string   `json:"period"`
	Numeric         []string `json:"numeric"`
	Categorical     []string `json:"categorical"`
	CutsDays        []int    `json:"cuts_days"`
	EventsPerPeriod []int    `json:"events_per_period"`
	RowsPerPeriod   []int    `json:"rows_per_period"`
	EmptyPeriod     int      `json:"empty_period"`
	MinEvents       int      `json:"min_events"`
	Tolerance       float64  `json:"tolerance"`
	PerPeriod       struct {
		LogLik       float64 `json:"log_likelihood"`
		Coefficients []struct {
			Name     string  `json:"name"`
			Estimate float64 `json:"estimate"`
		} `json:"coefficients"`
	} `json:"per_period"`
	Pooled struct {
		Starts       []int   `json:"starts"`
		LogLik       float64 `json:"log_likelihood"`
		NRows        int     `json:"n_rows"`
		NEvents      int     `json:"n_events"`
		Coefficients []struct {
			Name     string  `json:"name"`
			Estimate float64 `json:"estimate"`
			StdError float64 `json:"std_error"`
		} `json:"coefficients"`
	} `json:"pooled"`
}

// TestEmptyPeriods: with a period that has no events, the default baseline
// pools it with its neighbour only — the runs and the fit agree with R's
// glm on the same runs — and the periods baseline refuses, naming the
// periods whose glm coefficient runs off to ±∞. Before, the default
// baseline pooled the empty period with every later one (veteran: periods
// 3+ in one term; lung: one constant for every period) and the periods
// baseline did the same silently.
func TestEmptyPeriods(t *testing.T) {
	dir := filepath.Join(referenceDir, "baseline")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) < 2 {
		t.Fatalf("%d fixtures in %s; run scripts/reference/generate.sh", len(files), dir)
	}
	for _, file := range files {
		var c emptyPeriodCase
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		t.Run(c.Case, func(t *testing.T) {
			tab := feature.Table{Name: c.Case, ID: c.ID, Event: c.Event, Period: c.Period, Numeric: c.Numeric, Categorical: c.Categorical}
			spec, err := tab.Spec()
			if err != nil {
				t.Fatal(err)
			}
			x := readReferenceTable(t, filepath.Join("baseline", c.Data), tab, spec)

			// A term per period: refused, naming the periods glm ran off with.
			var ranOff []string
			for _, rc := range c.PerPeriod.Coefficients {
				if month, ok := strings.CutPrefix(strings.TrimSuffix(rc.Name, "+"), "month_"); ok && math.Abs(rc.Estimate) > 15 {
					ranOff = append(ranOff, month)
				}
			}
			if !slices.Contains(ranOff, fmt.Sprint(c.EmptyPeriod)) {
				t.Fatalf("glm's per-period fit did not run off in the empty period %d: %+v", c.EmptyPeriod, c.PerPeriod.Coefficients)
			}
			_, err = Train(context.Background(), spec, x, TrainOptions{Penalty: PenaltyNone})
			if caresignal.ErrorCode(err) != caresignal.EINVALID {
				t.Fatalf("periods baseline: err = %v, want EINVALID", err)
			}
			for m := 1; m <= len(c.EventsPerPeriod); m++ {
				named := strings.Contains(err.Error(), fmt.Sprintf("in month %d ", m))
				if named != slices.Contains(ranOff, fmt.Sprint(m)) {
					t.Errorf("periods baseline: month %d named %v, glm ran off in months %v: %v", m, named, ranOff, err)
				}
			}

			// The default baseline: the same runs as the rule in R, and
			// the same fit.
			spec.Baseline = feature.Baseline{MinEvents: c.MinEvents}
			m, err := Train(context.Background(), spec, x, TrainOptions{Penalty: PenaltyNone})
			if err != nil {
				t.Fatal(err)
			}
			bl := m.Features.Baseline
			if !slices.Equal(bl.Starts, c.Pooled.Starts) || !slices.Equal(bl.MonthEvents, c.EventsPerPeriod) || !slices.Equal(bl.MonthRows, c.RowsPerPeriod) {
				t.Fatalf("runs start at %v (events %v, rows %v); R's at %v (events %v, rows %v)",
					bl.Starts, bl.MonthEvents, bl.MonthRows, c.Pooled.Starts, c.EventsPerPeriod, c.RowsPerPeriod)
			}
			s := m.Summary()
			if s.NRows != c.Pooled.NRows || s.NEvents != c.Pooled.NEvents || len(s.Coefficients) != len(c.Pooled.Coefficients) {
				t.Fatalf("%d rows, %d events, %d coefficients; R: %d, %d, %d", s.NRows, s.NEvents, len(s.Coefficients),
					c.Pooled.NRows, c.Pooled.NEvents, len(c.Pooled.Coefficients))
			}
			worst := 0.0
			check := func(what string, got, want float64) {
				t.Helper()
				d := relDiff(got, want)
				worst = math.Max(worst, d)
				if d > c.Tolerance {
					t.Errorf("%s: got %.15g, R %.15g (relative difference %.2g)", what, got, want, d)
				}
			}
			for i, rc := range c.Pooled.Coefficients {
				sc := s.Coefficients[i]
				if sc.Name != rc.Name {
					t.Errorf("coefficient %d is %s, R's %s", i, sc.Name, rc.Name)
					continue
				}
				check("coef "+rc.Name, sc.Estimate, rc.Estimate)
				check("se "+rc.Name, deref(sc.StdError), rc.StdError)
			}
			check("log-likelihood", s.LogLik, c.Pooled.LogLik)
			if want := fmt.Sprintf("months %d–%d (", c.EmptyPeriod, c.EmptyPeriod+1); !strings.Contains(bl.Describe(), want) {
				t.Errorf("Describe() = %q, want it to name the pooled %s…)", bl.Describe(), want)
			}
			t.Logf("%s: runs %v, log-likelihood %.6f (a term per period, in glm: %.6f); worst relative difference from R %.2g: %s",
				c.Case, bl.Starts, s.LogLik, c.PerPeriod.LogLik, worst, bl.Describe())
		})
	}
}
