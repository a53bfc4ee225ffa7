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
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/survival"
	"github.com/caresignal/caresignal/synth"
)

// artifactDir holds artifacts written by earlier builds; see its README.
const artifactDir = "../testdata/artifact"

// TestModelVersionRule pins the rule: the SHA-256 of the compact payload
// with its top-level "training" member cut out, the rest as written.
func TestModelVersionRule(t *testing.T) {
	tests := []struct{ payload, hashed string }{
		{`{"kind":"k","training":{"a":1},"link":"logit"}`, `{"kind":"k","link":"logit"}`},
		{`{"training":{"a":1},"kind":"k","link":"logit"}`, `{"kind":"k","link":"logit"}`},
		{`{"kind":"k","training":{"a":[1,2]}}`, `{"kind":"k"}`},
		{`{"kind":"k"}`, `{"kind":"k"}`},
		{`{"training":1}`, `{}`},
		{`{}`, `{}`},
		// Only the top-level member is left out; escapes stay as written.
		{`{"kind":{"training":1},"link":"a\u00e9"}`, `{"kind":{"training":1},"link":"a\u00e9"}`},
		// Load's decoder matches names ignoring case.
		{`{"kind":"k","Training":{"a":1}}`, `{"kind":"k"}`},
	}
	for _, tt := range tests {
		got, err := modelVersion([]byte(tt.payload))
		sum := sha256.Sum256([]byte(tt.hashed))
		if want := hex.EncodeToString(sum[:])[:12]; err != nil || got != want {
			t.Errorf("modelVersion(%s) = %q, %v; want %q, the hash of %s", tt.payload, got, err, want, tt.hashed)
		}
	}
	for _, bad := range []string{`[]`, `"x"`, `{"kind":"a","kind":"b"}`, `{"training":1,"training":2}`, `{"link":"a","Link":"b"}`, `{"kind":`} {
		if v, err := modelVersion([]byte(bad)); err == nil {
			t.Errorf("modelVersion(%s) = %q, want an error", bad, v)
		}
	}
}

// withProcs runs f with GOMAXPROCS set to n.
func withProcs(n int, f func()) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	f()
}

// TestVersionRepeatable trains the same extract twice, at different times,
// once on one core and once on two: the fits agree bit for bit, so the
// versions are equal, while the artifacts differ in their training record,
// which the checksum covers.
func TestVersionRepeatable(t *testing.T) {
	cohort := func(patients int, seed uint64, minRows int) func(t *testing.T) (*feature.Spec, *caresignal.Extract) {
		return func(t *testing.T) (*feature.Spec, *caresignal.Extract) {
			c, err := synth.Generate(synth.Sized(patients, seed), nil)
			if err != nil {
				t.Fatal(err)
			}
			x, _ := c.Training()
			if len(x.Rows) < minRows {
				t.Fatalf("%d rows, want at least %d", len(x.Rows), minRows)
			}
			spec, _ := feature.ParseSpecBytes(caresignal.EngagementSpec)
			return spec, x
		}
	}
	veteranCategorical := func(t *testing.T) (*feature.Spec, *caresignal.Extract) {
		tab := feature.Table{Name: "veteran", ID: "id", Event: "event", Period: "period", Categorical: []string{"celltype", "trt", "prior"}}
		spec, err := tab.Spec()
		if err != nil {
			t.Fatal(err)
		}
		return spec, readReferenceTable(t, "veteran.csv", tab, spec)
	}
	tests := []struct {
		name string
		data func(t *testing.T) (*feature.Spec, *caresignal.Extract)
		opt  TrainOptions
	}{
		// The folds are fitted in parallel.
		{"cross-validation", cohort(1500, 7, 0), TrainOptions{Penalty: PenaltyL2, CV: true, Folds: 3, Lambdas: 6, Holdout: 0.2}},
		// From 65,536 rows the fitter sums row chunks in parallel.
		{"row chunks", cohort(8000, 8, 1<<16), TrainOptions{Link: survival.CLogLog, Penalty: PenaltyL2, Lambda: 1}},
		// All categorical: the rows are merged into binomial counts.
		{"merged rows", veteranCategorical, TrainOptions{Penalty: PenaltyElasticNet, CV: true, Folds: 3, Lambdas: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, x := tt.data(t)
			var ms [2]*Model
			var arts [2][]byte
			for i, procs := range []int{1, 2} {
				opt := tt.opt
				at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * 36 * time.Hour)
				opt.Now = func() time.Time { return at }
				var err error
				withProcs(procs, func() { ms[i], err = Train(context.Background(), spec, x, opt) })
				if err != nil {
					t.Fatal(err)
				}
				if arts[i], err = ms[i].Marshal(); err != nil {
					t.Fatal(err)
				}
			}
			// The fit itself first, so that a failure says where.
			for j := range ms[0].Coef {
				if math.Float64bits(ms[0].Coef[j]) != math.Float64bits(ms[1].Coef[j]) {
					t.Errorf("coefficient %s: %v on one core, %v on two", ms[0].Features.Columns[j], ms[0].Coef[j], ms[1].Coef[j])
				}
			}
			if ms[0].Version != ms[1].Version {
				t.Errorf("versions %s and %s for the same data", ms[0].Version, ms[1].Version)
			}
			if checksum(t, arts[0]) == checksum(t, arts[1]) {
				t.Error("the checksum ignores the training time")
			}
			for _, b := range arts {
				m, err := Load(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				if m.Version != ms[0].Version {
					t.Errorf("loaded with version %s, saved %s", m.Version, ms[0].Version)
				}
			}
		})
	}
}

func checksum(t *testing.T, artifact []byte) string {
	t.Helper()
	var env envelope
	if err := json.Unmarshal(artifact, &env); err != nil {
		t.Fatal(err)
	}
	return env.Checksum
}

// TestVersionNamesTheModel changes one thing in a model at a time: what
// the model computes changes its version, the training record does not.
func TestVersionNamesTheModel(t *testing.T) {
	base := small(t)
	b, err := base.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	numeric := func(m *Model) *feature.FittedFeature {
		for i := range m.Features.Features {
			if f := &m.Features.Features[i]; f.Type == feature.Numeric {
				return f
			}
		}
		t.Fatal("no numeric feature")
		return nil
	}
	tests := []struct {
		name string
		edit func(m *Model)
		same bool
	}{
		{"nothing", func(m *Model) {}, true},
		{"trained at", func(m *Model) { m.Training.TrainedAt = m.Training.TrainedAt.Add(time.Hour) }, true},
		{"code version", func(m *Model) { m.Training.CodeVersion = "0123456789ab+dirty" }, true},
		{"fit seconds", func(m *Model) { m.Training.FitSeconds += 1.5 }, true},
		{"source", func(m *Model) { m.Training.Source = "postgres" }, true},
		{"coefficient", func(m *Model) { m.Coef[len(m.Coef)-1] = math.Nextafter(m.Coef[len(m.Coef)-1], 1) }, false},
		{"standard error", func(m *Model) { m.StdErr[0] *= 2 }, false},
		{"covariance", func(m *Model) { m.Cov[1] *= 2 }, false},
		{"link", func(m *Model) { m.Link = survival.CLogLog }, false},
		{"kind", func(m *Model) { m.Kind += "-2" }, false},
		{"spec", func(m *Model) { m.Features.Spec.Description += "." }, false},
		{"transformer", func(m *Model) { numeric(m).Scale *= 1.01 }, false},
		{"baseline", func(m *Model) { m.Features.Baseline.Last++ }, false},
		{"reference", func(m *Model) { m.reference.Hazard.Percentiles[50] *= 1.01 }, false},
	}
	for _, tt := range tests {
		m, err := Load(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		tt.edit(m)
		if _, err := m.Marshal(); err != nil {
			t.Fatal(err)
		}
		if same := m.Version == base.Version; same != tt.same {
			t.Errorf("%s: version %s, before %s; want the same: %v", tt.name, m.Version, base.Version, tt.same)
		}
	}
}

// TestArtifactTamperedTraining: the training record is outside the version
// but inside the checksum, so editing it is refused like any other edit.
func TestArtifactTamperedTraining(t *testing.T) {
	good, err := small(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	at := trainedAt(t, s)
	tests := []struct{ name, file string }{
		{"trained at", strings.Replace(s, at, "2020-01-01T00:00:00Z", 1)},
		{"code version", strings.Replace(s, `"code_version": "`, `"code_version": "x`, 1)},
		{"fit seconds", strings.Replace(s, `"fit_seconds": `, `"fit_seconds": 9`, 1)},
	}
	for _, tt := range tests {
		if tt.file == s {
			t.Fatalf("%s: the edit changed nothing", tt.name)
		}
		_, err := Load(strings.NewReader(tt.file))
		if caresignal.ErrorCode(err) != caresignal.ECORRUPT || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Errorf("%s: err = %v, want a checksum mismatch", tt.name, err)
		}
	}
	// A member twice, checksum recomputed: refused, since decoding keeps
	// the last one and the version would not name what loads.
	var env envelope
	if err := json.Unmarshal(good, &env); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	json.Compact(&compact, env.Model)
	body := append([]byte(`{"link":"cloglog",`), compact.Bytes()[1:]...)
	sum := sha256.Sum256(body)
	env.Model, env.Checksum = body, "sha256:"+hex.EncodeToString(sum[:])
	twice, _ := json.Marshal(env)
	if _, err := Load(bytes.NewReader(twice)); caresignal.ErrorCode(err) != caresignal.ECORRUPT || !strings.Contains(err.Error(), `"link" twice`) {
		t.Errorf("a member twice: err = %v", err)
	}
}

// trainedAt returns the training time recorded in an artifact.
func trainedAt(t *testing.T, artifact string) string {
	t.Helper()
	const key = `"trained_at": "`
	i := strings.Index(artifact, key)
	if i < 0 {
		t.Fatal("no trained_at in the artifact")
	}
	i += len(key)
	return artifact[i : i+strings.IndexByte(artifact[i:], '"')]
}

// TestSavedArtifacts loads artifacts written by earlier builds: each keeps
// the version it was saved with, under its format's rule, and is refused
// once its training record is changed.
func TestSavedArtifacts(t *testing.T) {
	tests := []struct {
		file    string
		format  int
		version string
	}{
		// Format 2: the version is the checksum's prefix.
		{"veteran_format2.model.json", 2, "1cff158e84cf"},
		// Format 3: the version leaves the training record out.
		{"veteran_format3.model.json", 3, "dd4cae1eda73"},
	}
	for _, tt := range tests {
		b, err := os.ReadFile(filepath.Join(artifactDir, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		var env envelope
		if err := json.Unmarshal(b, &env); err != nil || env.FormatVersion != tt.format {
			t.Fatalf("%s: format %d, %v; want %d", tt.file, env.FormatVersion, err, tt.format)
		}
		m, err := Load(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if m.Version != tt.version || m.Name != "veteran" {
			t.Errorf("%s: loaded %s@%s, want veteran@%s", tt.file, m.Name, m.Version, tt.version)
		}
		if _, err := m.Hazard(map[string]caresignal.Value{"karno": caresignal.Num(60), "trt": caresignal.Num(2)}, 3); err != nil {
			t.Errorf("%s: %v", tt.file, err)
		}
		s := string(b)
		tampered := strings.Replace(s, trainedAt(t, s), "2020-01-01T00:00:00Z", 1)
		if _, err := Load(strings.NewReader(tampered)); caresignal.ErrorCode(err) != caresignal.ECORRUPT || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Errorf("%s with another training time: err = %v, want a checksum mismatch", tt.file, err)
		}
		// Saving again writes the current format, whose version is the
		// format-3 artifact's: the two files hold the same model.
		again, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Load(bytes.NewReader(again))
		if err != nil {
			t.Fatalf("%s saved again: %v", tt.file, err)
		}
		if back.Version != tests[1].version {
			t.Errorf("%s saved again: version %s, want %s", tt.file, back.Version, tests[1].version)
		}
	}
}
