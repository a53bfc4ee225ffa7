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
	"github.com/caresignal/caresignal/survival"
)

// referenceCase is one fixture of testdata/reference, written by
// scripts/reference/generate.sh from R's glm, statsmodels and
// scikit-learn (see scripts/reference/README.md).
type referenceCase struct {
	Case        string   `json:"case"`
	Reference   string   `json:"reference"`
	Data        string   `json:"data"`
	ID          string   `json:"id"`
	Event       string   `json:"event"`
	Period      string   `json:"period"`
	Numeric     []string `json:"numeric"`
	Categorical []string `json:"categorical"`
	Link        string   `json:"link"`
	Baseline    struct {
		Type     string    `json:"type"` // periods, piecewise, intercept or spline
		Breaks   []int     `json:"breaks"`
		DF       int       `json:"df"`
		Knots    []float64 `json:"knots"`
		Boundary []float64 `json:"boundary"`
	} `json:"baseline"`
	Penalty struct {
		Type   string  `json:"type"`
		Lambda float64 `json:"lambda"`
		Alpha  float64 `json:"alpha"`
		// scikit-learn's parametrisation of the same penalty: C = 1/λ.
		C       float64 `json:"C"`
		L1Ratio float64 `json:"l1_ratio"`
	} `json:"penalty"`
	Tolerance    float64 `json:"tolerance"`
	Coefficients []struct {
		Name             string   `json:"name"`
		Estimate         float64  `json:"estimate"`
		StdError         *float64 `json:"std_error"`
		StdErrorObserved *float64 `json:"std_error_observed"`
	} `json:"coefficients"`
	LogLik   float64  `json:"log_likelihood"`
	Deviance float64  `json:"deviance"`
	AIC      *float64 `json:"aic"`
	BIC      *float64 `json:"bic"`
	NRows    int      `json:"n_rows"`
	NEvents  int      `json:"n_events"`
	Subjects []struct {
		Name     string         `json:"name"`
		Features map[string]any `json:"features"`
		Hazard   []float64      `json:"hazard"`
		Survival []float64      `json:"survival"`
	} `json:"subjects"`
}

const referenceDir = "../testdata/reference"

func loadReferenceCases(t testing.TB) []referenceCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(referenceDir, "*.json"))
	if err != nil || len(files) < 12 {
		t.Fatalf("reference fixtures: %d files (%v); run scripts/reference/generate.sh", len(files), err)
	}
	var cases []referenceCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c referenceCase
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if c.Tolerance <= 0 || c.Tolerance > 1e-6 {
			t.Fatalf("%s: tolerance %g; the agreement demanded is 1e-6 or tighter", f, c.Tolerance)
		}
		cases = append(cases, c)
	}
	return cases
}

// fitReference fits a case the way `caresignal train --csv` does.
func fitReference(t testing.TB, c referenceCase) *Model {
	t.Helper()
	tab := feature.Table{Name: c.Case, ID: c.ID, Event: c.Event, Period: c.Period, Numeric: c.Numeric, Categorical: c.Categorical}
	spec, err := tab.Spec()
	if err != nil {
		t.Fatal(err)
	}
	switch c.Baseline.Type {
	case "periods":
	case "piecewise":
		spec.Baseline = feature.Baseline{Type: feature.BaselinePiecewise, Breaks: c.Baseline.Breaks}
	case "intercept":
		spec.Baseline = feature.Baseline{Type: feature.BaselinePiecewise, Breaks: []int{1}}
	case "spline":
		spec.Baseline = feature.Baseline{Type: feature.BaselineSpline, DF: c.Baseline.DF}
	default:
		t.Fatalf("unknown baseline %q", c.Baseline.Type)
	}
	x := readReferenceTable(t, c.Data, tab, spec)
	opt := TrainOptions{Link: survival.Link(c.Link), Penalty: c.Penalty.Type, Lambda: c.Penalty.Lambda, Alpha: c.Penalty.Alpha}
	m, err := Train(context.Background(), spec, x, opt)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// readReferenceTable reads a data set of testdata/reference.
func readReferenceTable(t testing.TB, name string, tab feature.Table, spec *feature.Spec) *caresignal.Extract {
	t.Helper()
	f, err := os.Open(filepath.Join(referenceDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	x, err := feature.ReadTable(f, tab, spec)
	if err != nil {
		t.Fatal(err)
	}
	feature.SortedReferences(spec, x)
	return x
}

// relDiff is |got − want| / |want|, or |got| when want is 0 (a coefficient
// the L1 penalty sets to exactly zero must be exactly zero).
func relDiff(got, want float64) float64 {
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}

// worst tracks the largest relative difference per comparison.
type worst map[string]float64

func (w worst) add(what string, got, want float64) float64 {
	d := relDiff(got, want)
	if math.IsNaN(d) {
		d = math.Inf(1)
	}
	w[what] = math.Max(w[what], d)
	return d
}

func (w worst) String() string {
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s %.1e", k, w[k])
	}
	return b.String()
}

// TestReferenceAgreement fits every fixture case and compares coefficients,
// standard errors (Fisher and, for cloglog, observed), the log-likelihood,
// deviance, AIC, BIC and the hazard and survival curves of named subjects
// with R's glm, statsmodels and scikit-learn, at the relative tolerance the
// fixture demands (1e-6). Run with -v for the worst difference of each
// comparison.
func TestReferenceAgreement(t *testing.T) {
	overall := worst{}
	for _, c := range loadReferenceCases(t) {
		t.Run(c.Case, func(t *testing.T) {
			m := fitReference(t, c)
			w := worst{}
			check := func(what string, got, want float64) {
				t.Helper()
				kind, _, _ := strings.Cut(what, " ")
				if d := w.add(kind, got, want); d > c.Tolerance {
					t.Errorf("%s: got %.15g, %s gives %.15g (relative difference %.2g)", what, got, referenceName(c), want, d)
				}
			}
			b, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			reloaded, err := Load(strings.NewReader(string(b)))
			if err != nil {
				t.Fatalf("loading the saved model: %v", err)
			}
			s := m.Summary()
			if s.NRows != c.NRows || s.NEvents != c.NEvents {
				t.Fatalf("fitted %d rows with %d events, the reference %d with %d", s.NRows, s.NEvents, c.NRows, c.NEvents)
			}
			byName := map[string]SummaryCoefficient{}
			for _, sc := range s.Coefficients {
				byName[sc.Name] = sc
			}
			if c.Baseline.Type == "spline" {
				// The spline basis differs from R's ns() (same span), so
				// only the knots and the covariate coefficients compare.
				want := append(append([]float64{c.Baseline.Boundary[0]}, c.Baseline.Knots...), c.Baseline.Boundary[1])
				if !slices.Equal(m.Features.Baseline.Knots, want) {
					t.Errorf("spline knots %v, R's ns() chose %v", m.Features.Baseline.Knots, want)
				}
			} else if len(s.Coefficients) != len(c.Coefficients) {
				t.Fatalf("%d coefficients, the reference has %d", len(s.Coefficients), len(c.Coefficients))
			}
			for i, rc := range c.Coefficients {
				sc, ok := byName[rc.Name]
				if !ok {
					t.Errorf("no coefficient %q (have %v)", rc.Name, m.Features.Columns)
					continue
				}
				if c.Baseline.Type != "spline" && s.Coefficients[i].Name != rc.Name {
					t.Errorf("coefficient %d is %q, the reference's is %q", i, s.Coefficients[i].Name, rc.Name)
				}
				check("coef "+rc.Name, sc.Estimate, rc.Estimate)
				if rc.StdError != nil {
					check("se "+rc.Name, deref(sc.StdError), *rc.StdError)
				}
				if rc.StdErrorObserved != nil {
					check("se_observed "+rc.Name, deref(sc.StdErrorObserved), *rc.StdErrorObserved)
				}
			}
			check("log_likelihood", s.LogLik, c.LogLik)
			check("deviance", s.Deviance, c.Deviance)
			if (c.AIC == nil) != (s.AIC == nil) || (c.BIC == nil) != (s.BIC == nil) {
				t.Errorf("AIC/BIC given: ours %v/%v, the reference's %v/%v", s.AIC != nil, s.BIC != nil, c.AIC != nil, c.BIC != nil)
			} else if c.AIC != nil {
				check("aic", *s.AIC, *c.AIC)
				check("bic", *s.BIC, *c.BIC)
			}
			if len(c.Subjects) == 0 {
				t.Fatal("the fixture names no subjects")
			}
			for _, subj := range c.Subjects {
				inst := caresignal.Instance{PatientID: subj.Name, Horizon: len(subj.Hazard), Features: map[string]caresignal.Value{}}
				for k, v := range subj.Features {
					switch v := v.(type) {
					case float64:
						inst.Features[k] = caresignal.Num(v)
					case string:
						inst.Features[k] = caresignal.Str(v)
					default:
						t.Fatalf("%s: feature %s is %T", subj.Name, k, v)
					}
				}
				p, err := m.Predict(&inst)
				if err != nil {
					t.Fatal(err)
				}
				// The saved and reloaded model predicts the same bits.
				q, err := reloaded.Predict(&inst)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(p.Hazard, q.Hazard) {
					t.Errorf("%s: the reloaded model predicts %v, the fitted one %v", subj.Name, q.Hazard, p.Hazard)
				}
				for k := range subj.Hazard {
					check("hazard", p.Hazard[k], subj.Hazard[k])
					check("survival", p.Survival[k], subj.Survival[k])
				}
			}
			if strings.Contains(c.Case, "categorical") && m.Training.Fit.CompressedRows == 0 {
				t.Error("all covariates are categorical, but the fit did not merge rows into binomial counts")
			}
			t.Logf("%s against %s: worst relative difference:%v", c.Case, referenceName(c), w)
			for k, v := range w {
				overall[k] = math.Max(overall[k], v)
			}
		})
	}
	t.Logf("worst relative difference over all cases:%v", overall)
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// referenceName is the tool that produced a case: "R 4.2.2 glm",
// "scikit-learn 1.2.1 LogisticRegression".
func referenceName(c referenceCase) string {
	return strings.TrimSpace(strings.SplitN(c.Reference, "(", 2)[0])
}
