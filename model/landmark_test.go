package model

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/survival"
	"github.com/caresignal/caresignal/synth"
)

// TestLandmarkRows stacks a table small enough to list by hand: each row
// of month t gives month t+k for k < lags while the patient has a row for
// it, and nothing after a drop-off or across a gap.
func TestLandmarkRows(t *testing.T) {
	row := func(id string, month int, event bool) caresignal.ExtractRow {
		return caresignal.ExtractRow{PatientID: id, Month: month, Event: event}
	}
	x := &caresignal.Extract{Rows: []caresignal.ExtractRow{
		row("a", 1, false), row("a", 2, false), row("a", 3, true), // 0 1 2: drops off in month 3
		row("b", 1, false), row("b", 2, false), // 3 4: censored after month 2
		row("c", 4, false), row("c", 5, false), row("c", 7, false), // 5 6 7: month 6 missing
		row("d", 1, true), // 8
	}}
	want := []LandmarkRow{
		{0, 0, 0}, {0, 1, 1}, {0, 2, 2}, // a, month 1: months 1, 2, 3 (lags 0–2)
		{1, 1, 0}, {1, 2, 1}, // a, month 2: months 2, 3; nothing after the drop-off
		{2, 2, 0},
		{3, 3, 0}, {3, 4, 1}, // b, month 1: months 1, 2
		{4, 4, 0},
		{5, 5, 0}, {5, 6, 1}, // c, month 4: months 4, 5; month 6 is missing, so not 7
		{6, 6, 0},
		{7, 7, 0},
		{8, 8, 0},
	}
	if got := LandmarkRows(x, 3); !reflect.DeepEqual(got, want) {
		t.Errorf("LandmarkRows(lags 3):\n got %v\nwant %v", got, want)
	}
	// One lag is the person-period table itself.
	got := LandmarkRows(x, 1)
	if len(got) != len(x.Rows) {
		t.Fatalf("LandmarkRows(lags 1) has %d rows, want %d", len(got), len(x.Rows))
	}
	for i, r := range got {
		if r != (LandmarkRow{i, i, 0}) {
			t.Errorf("LandmarkRows(lags 1)[%d] = %v", i, r)
		}
	}
}

// TestLandmarkGroups pools lags as the months baseline pools months.
func TestLandmarkGroups(t *testing.T) {
	for _, tt := range []struct {
		rows, events []int
		min          int
		want         []int
	}{
		{[]int{100, 80, 60, 40}, []int{20, 15, 12, 11}, 10, []int{0, 1, 2, 3}},
		// Lag 1 is short of 10: it joins lag 2; lag 3 is short too, at the
		// end, so it joins the group before it.
		{[]int{100, 80, 60, 40}, []int{20, 4, 8, 3}, 10, []int{0, 1}},
		// A lag whose rows all drop off closes no group.
		{[]int{100, 10, 60}, []int{20, 10, 12}, 10, []int{0, 1}},
		{[]int{5}, []int{1}, 10, []int{0}},
	} {
		if got := landmarkGroups(tt.rows, tt.events, tt.min); !slices.Equal(got, tt.want) {
			t.Errorf("landmarkGroups(%v, %v, %d) = %v, want %v", tt.rows, tt.events, tt.min, got, tt.want)
		}
	}
}

// landmarkCase is a fixture of testdata/reference/landmark, written by
// scripts/reference/landmark.R.
type landmarkCase struct {
	Case         string   `json:"case"`
	Reference    string   `json:"reference"`
	Data         string   `json:"data"`
	ID           string   `json:"id"`
	Event        string   `json:"event"`
	Period       string   `json:"period"`
	Numeric      []string `json:"numeric"`
	Categorical  []string `json:"categorical"`
	Link         string   `json:"link"`
	Lags         int      `json:"lags"`
	MinEvents    int      `json:"min_events"`
	LagRows      []int    `json:"lag_rows"`
	LagEvents    []int    `json:"lag_events"`
	LagStarts    []int    `json:"lag_starts"`
	NRows        int      `json:"n_rows"`
	NEvents      int      `json:"n_events"`
	Patients     int      `json:"patients"`
	LogLik       float64  `json:"log_likelihood"`
	Coefficients []struct {
		Name          string  `json:"name"`
		Estimate      float64 `json:"estimate"`
		StdError      float64 `json:"std_error"`
		StdErrorModel float64 `json:"std_error_model"`
	} `json:"coefficients"`
	Subjects []struct {
		ID             string         `json:"id"`
		MonthsEnrolled int            `json:"months_enrolled"`
		Features       map[string]any `json:"features"`
		Hazard         []float64      `json:"hazard"`
	} `json:"subjects"`
}

const landmarkDir = "../testdata/reference/landmark"

// TestLandmarkAgreesWithR fits each landmark fixture as `caresignal train
// --csv --horizon-model landmark` does and compares with R: the stacked
// rows per lag, the lag groups, the coefficients and their cluster-robust
// standard errors (glm and the sandwich by patient, which R checks against
// sandwich::vcovCL), the log-likelihood, and the hazards of named subjects
// months ahead, past the last lag and the last month included.
func TestLandmarkAgreesWithR(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(landmarkDir, "*.json"))
	if err != nil || len(files) != 2 {
		t.Fatalf("landmark fixtures: %v (%v); run scripts/reference/landmark.sh", files, err)
	}
	const tol = 1e-9
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c landmarkCase
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		t.Run(c.Case, func(t *testing.T) {
			tab := feature.Table{Name: c.Case, ID: c.ID, Event: c.Event, Period: c.Period, Numeric: c.Numeric, Categorical: c.Categorical}
			spec, err := tab.Spec()
			if err != nil {
				t.Fatal(err)
			}
			fh, err := os.Open(filepath.Join(landmarkDir, c.Data))
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			x, err := feature.ReadTable(fh, tab, spec)
			if err != nil {
				t.Fatal(err)
			}
			feature.SortedReferences(spec, x)
			m, err := Train(context.Background(), spec, x, TrainOptions{Link: survival.Link(c.Link), Penalty: PenaltyNone,
				HorizonModel: HorizonLandmark, Lags: c.Lags})
			if err != nil {
				t.Fatal(err)
			}
			l := m.Landmark
			if l == nil {
				t.Fatal("no landmark part")
			}
			if !slices.Equal(l.LagRows, c.LagRows) || !slices.Equal(l.LagEvents, c.LagEvents) || !slices.Equal(l.Starts, c.LagStarts) || l.MinEvents != c.MinEvents {
				t.Errorf("lags: rows %v events %v groups %v (min %d); R: %v %v %v (%d)", l.LagRows, l.LagEvents, l.Starts, l.MinEvents, c.LagRows, c.LagEvents, c.LagStarts, c.MinEvents)
			}
			if fit := m.Training.Fit; fit.Rows != c.NRows || fit.Events != c.NEvents || fit.Patients != c.Patients {
				t.Errorf("fitted %d rows, %d events, %d patients; R %d, %d, %d", fit.Rows, fit.Events, fit.Patients, c.NRows, c.NEvents, c.Patients)
			}
			if d := relDiff(m.Training.Fit.LogLik, c.LogLik); d > tol {
				t.Errorf("log-likelihood %.12g, R %.12g", m.Training.Fit.LogLik, c.LogLik)
			}
			got := map[string]Coefficient{}
			for _, co := range m.Coefficients() {
				got[co.Name] = co
			}
			if len(got) != len(c.Coefficients) {
				t.Errorf("%d coefficients, R has %d", len(got), len(c.Coefficients))
			}
			w := worst{}
			for _, want := range c.Coefficients {
				co, ok := got[want.Name]
				if !ok {
					t.Errorf("no coefficient %q", want.Name)
					continue
				}
				if d := w.add("estimate", co.Estimate, want.Estimate); d > tol {
					t.Errorf("%s: estimate %.12g, R %.12g", want.Name, co.Estimate, want.Estimate)
				}
				if d := w.add("robust_se", co.StdError, want.StdError); d > tol {
					t.Errorf("%s: cluster-robust standard error %.12g, R %.12g (model-based %.6g)", want.Name, co.StdError, want.StdError, want.StdErrorModel)
				}
			}
			for _, s := range c.Subjects {
				inst := caresignal.Instance{Features: map[string]caresignal.Value{}, MonthsEnrolled: s.MonthsEnrolled, Horizon: len(s.Hazard)}
				for k, v := range s.Features {
					switch v := v.(type) {
					case float64:
						inst.Features[k] = caresignal.Num(v)
					case string:
						inst.Features[k] = caresignal.Str(v)
					}
				}
				p, err := m.Predict(&inst)
				if err != nil {
					t.Fatal(err)
				}
				for k, h := range s.Hazard {
					if d := w.add("hazard", p.Hazard[k], h); d > tol {
						t.Errorf("subject %s, month %d ahead: hazard %.12g, R %.12g", s.ID, k+1, p.Hazard[k], h)
					}
				}
			}
			t.Logf("worst relative differences against %s:%s", c.Reference, w)
		})
	}
}

// landmarkModel trains a small landmark engagement model on the synthetic
// cohort the carry-forward tests use.
func landmarkModel(t *testing.T) (*Model, *caresignal.Extract) {
	t.Helper()
	c, err := synth.Generate(synth.Sized(1500, 5), nil)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := c.Training()
	spec, err := feature.ParseSpecBytes(caresignal.EngagementSpec)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Train(context.Background(), spec, x, TrainOptions{Penalty: PenaltyL2, Lambda: 1, HorizonModel: HorizonLandmark, Lags: 6})
	if err != nil {
		t.Fatal(err)
	}
	return m, x
}

// TestLandmarkPredictsByLag checks a landmark model's answers by hand from
// its coefficients by name: month k ahead is α(month) + γ of k's lag group
// + that group's coefficients on today's encoded features, months past the
// last lag take the last group's; the month in progress alone is cut by
// days_elapsed; the explanation is the month in progress's (lag 0)
// log-odds, measured from the training reference.
func TestLandmarkPredictsByLag(t *testing.T) {
	m, _ := landmarkModel(t)
	l := m.Landmark
	if l.Groups() < 3 {
		t.Fatalf("only %d lag groups: the test wants several", l.Groups())
	}
	coef := map[string]float64{}
	for _, c := range m.Coefficients() {
		coef[c.Name] = c.Estimate
	}
	inst := caresignal.Instance{Features: patient().Features, MonthsEnrolled: 2, Horizon: 9, DaysElapsed: 12}
	p, err := m.Predict(&inst)
	if err != nil {
		t.Fatal(err)
	}
	ft := m.Features
	vals, err := ft.Values(inst.Features, nil)
	if err != nil {
		t.Fatal(err)
	}
	row := make([]float64, ft.Width())
	if err := ft.Encode(vals, row, nil); err != nil {
		t.Fatal(err)
	}
	names := ft.Baseline.Names()
	bw := ft.Baseline.Width()
	for k := range inst.Horizon {
		month := inst.MonthsEnrolled + k + 1
		lag := min(k, len(l.LagRows)-1)
		g := 0
		for g+1 < len(l.Starts) && l.Starts[g+1] <= lag {
			g++
		}
		prefix := ""
		eta := 0.0
		if g > 0 {
			prefix = l.groupName(g) + ":"
			eta += coef[l.groupName(g)]
		}
		base := make([]float64, bw)
		ft.Baseline.Set(month, base)
		for j, v := range base {
			eta += v * coef[names[j]]
		}
		for j := bw; j < len(row); j++ {
			c, ok := coef[prefix+ft.Columns[j]]
			if !ok {
				t.Fatalf("no coefficient %q", prefix+ft.Columns[j])
			}
			eta += c * row[j]
		}
		h := survival.Logistic(eta)
		if k == 0 {
			h = 1 - math.Pow(1-h, float64(caresignal.MonthDays-inst.DaysElapsed)/caresignal.MonthDays)
		}
		if math.Abs(p.Hazard[k]-h) > 1e-12 {
			t.Errorf("month %d ahead (lag group %d): hazard %.15g, by hand %.15g", k+1, g, p.Hazard[k], h)
		}
	}
	s := 1.0
	for k, h := range p.Hazard {
		s *= 1 - h
		if math.Abs(p.Survival[k]-s) > 1e-12 {
			t.Errorf("survival at month %d: %g, product of hazards %g", k+1, p.Survival[k], s)
		}
	}
	// The explanation: lag 0's coefficients, adding up to lag 0's η less
	// the reference row's.
	ref := ft.Reference()
	want := 0.0
	for j := bw; j < len(row); j++ {
		want += coef[ft.Columns[j]] * (row[j] - ref[j])
	}
	sum := 0.0
	for _, c := range p.Explanation {
		sum += c.Contribution
	}
	if math.Abs(sum-want) > 1e-9 {
		t.Errorf("explanation adds up to %.12g, lag 0's η − η_ref is %.12g", sum, want)
	}
	// The month in progress's coefficients are the model's own.
	for j, name := range ft.Columns {
		if m.Coef[j] != coef[name] {
			t.Errorf("Coef[%d] (%s) = %g, coefficient %g", j, name, m.Coef[j], coef[name])
		}
	}
	// Later lags differ from lag 0: the point of the model.
	if p.Hazard[3] == survival.Logistic(ft.Baseline.Eta(inst.MonthsEnrolled+4, m.Coef)+m.featureEta(row)) {
		t.Error("month 4 ahead is scored with lag 0's coefficients")
	}
}

// TestLandmarkArtifact saves and loads a landmark model: format 4 with
// the horizon model, the same coefficients, covariance and answers, the
// same version when saved again; a carry-forward model is still format 3
// without it; and a file that claims one format with the other's content
// is refused.
func TestLandmarkArtifact(t *testing.T) {
	m, _ := landmarkModel(t)
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil || env.FormatVersion != FormatLandmark {
		t.Fatalf("format %d (%v), want %d", env.FormatVersion, err, FormatLandmark)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, env.Model); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(compact.Bytes(), []byte(`"horizon_model":{"type":"landmark"`)) {
		t.Errorf("the payload names no landmark horizon model")
	}
	got, err := Load(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got.HorizonModel() != HorizonLandmark || got.Version != m.Version {
		t.Errorf("loaded %s version %s, saved %s", got.HorizonModel(), got.Version, m.Version)
	}
	if !reflect.DeepEqual(got.Coefficients(), m.Coefficients()) || !slices.Equal(got.Landmark.cov, m.Landmark.cov) || !slices.Equal(got.Cov, m.Cov) {
		t.Error("the coefficients or covariance changed in the round trip")
	}
	inst := caresignal.Instance{Features: patient().Features, MonthsEnrolled: 1, Horizon: 12, DaysElapsed: 5}
	p1, err1 := m.Predict(&inst)
	p2, err2 := got.Predict(&inst)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(p1, p2) {
		t.Errorf("answers differ after the round trip (%v, %v)", err1, err2)
	}
	again, err := got.Marshal()
	if err != nil || !bytes.Equal(again, b) {
		t.Errorf("saving the loaded model again gives other bytes (%v)", err)
	}

	cf := small(t)
	cb, err := cf.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(cb, &env); err != nil || env.FormatVersion != FormatVersion || bytes.Contains(env.Model, []byte("horizon_model")) {
		t.Errorf("a carry-forward model is written as format %d (%v), with horizon_model: %v", env.FormatVersion, err, bytes.Contains(env.Model, []byte("horizon_model")))
	}
	if l, err := Load(bytes.NewReader(cb)); err != nil || l.HorizonModel() != HorizonCarryForward {
		t.Errorf("carry-forward round trip: %v", err)
	}

	// The format and the member must agree; checksums and versions are
	// recomputed so that only this check can refuse the files.
	for _, tt := range []struct {
		name   string
		src    []byte
		format int
	}{{"landmark as format 3", b, FormatVersion}, {"carry-forward as format 4", cb, FormatLandmark}} {
		if _, err := Load(bytes.NewReader(reseal(t, tt.src, tt.format))); err == nil || !strings.Contains(err.Error(), "horizon_model") {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// A horizon model whose lag groups do not fit its counts is refused.
	sealed := reseal(t, b, FormatLandmark)
	bad := bytes.Replace(sealed, []byte(`"lag_starts":[0,`), []byte(`"lag_starts":[1,`), 1)
	if bytes.Equal(bad, sealed) {
		t.Fatal("no lag_starts to edit")
	}
	if _, err := Load(bytes.NewReader(reseal(t, bad, FormatLandmark))); err == nil || !strings.Contains(err.Error(), "lag") {
		t.Errorf("bad lag groups: %v", err)
	}
}

// reseal rewrites an artifact with another format version and the
// checksum and version of its (possibly edited) payload.
func reseal(t *testing.T, artifact []byte, format int) []byte {
	t.Helper()
	var env envelope
	if err := json.Unmarshal(artifact, &env); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, env.Model); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(compact.Bytes())
	v, err := modelVersion(compact.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	env.FormatVersion, env.Checksum, env.Version, env.Model = format, "sha256:"+hex.EncodeToString(sum[:]), v, compact.Bytes()
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
