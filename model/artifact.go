package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/feature"
	"github.com/caresignal/caresignal/internal/atomicfile"
	"github.com/caresignal/caresignal/model/sklearn"
	"github.com/caresignal/caresignal/survival"
)

// The artifact is one JSON file:
//
//	{"format": "caresignal-model", "format_version": 3,
//	 "name": "engagement", "version": "3f2a9c1b7d4e",
//	 "checksum": "sha256:<hex>",
//	 "model": { ...payload... }}
//
// The checksum is the SHA-256 of the payload in compact JSON form, so any
// change to a value — a damaged disk block, a hand edit — is detected, while
// re-indenting the file is not an error.
//
// The version names what the model computes: it is the first twelve hex
// digits of the SHA-256 of the compact payload with its "training" member
// cut out (see modelVersion). Everything else in the payload — kind, link,
// spec and fitted transformers with the baseline, coefficients,
// covariances, an imported model's file, the drift reference — is the
// model; the training record (when and by which build it was trained, how
// long the fit took, its diagnostics and metrics) describes how it was
// made, and is covered by the checksum only. So the same data trained
// again with the same options gives the same version, and equal versions
// mean models that compute the same thing.
//
// Format 2 took the version from the whole payload (the checksum's first
// twelve hex digits), so every training had a version of its own; format-2
// artifacts still load, with the version they were saved with.
//
// Format 4 is format 3 with a horizon_model member (see Landmark): a
// landmark model is written as format 4, so that a build that predates it
// refuses the file, naming its format, rather than scoring every month
// with the month in progress's coefficients. A carry-forward model is
// still written as format 3, byte for byte as before, and every format-2
// or format-3 artifact loads as a carry-forward model.
const (
	Format        = "caresignal-model"
	FormatVersion = 3
	// FormatLandmark is the format of landmark models' artifacts.
	FormatLandmark = 4
)

// formatWholePayload is the last format whose version is the checksum's
// prefix.
const formatWholePayload = 2

// MaxArtifactBytes bounds what Load reads.
const MaxArtifactBytes = 256 << 20

type envelope struct {
	Format        string          `json:"format"`
	FormatVersion int             `json:"format_version"`
	Name          string          `json:"name"`
	Version       string          `json:"version"`
	Checksum      string          `json:"checksum"`
	Model         json.RawMessage `json:"model"`
}

type payload struct {
	Kind         string          `json:"kind"`
	Link         survival.Link   `json:"link"`
	Features     *feature.Fitted `json:"features"`
	Coefficients []Coefficient   `json:"coefficients"`
	Covariance   []float64       `json:"covariance"` // row-major, one row per coefficient
	// CovarianceObserved is from the observed information (cloglog).
	CovarianceObserved []float64 `json:"covariance_observed,omitempty"`
	// Training records how the model was made; the version leaves it
	// out (see modelVersion), the checksum covers it.
	Training TrainInfo `json:"training"`
	// Imported holds an imported scikit-learn model (kind sklearn-classifier).
	Imported *Imported `json:"imported,omitempty"`
	// Reference is the training reference for drift (see Reference);
	// absent from imported models and from artifacts written before it
	// was kept, whose checksums it therefore leaves unchanged.
	Reference *Reference `json:"reference,omitempty"`
	// HorizonModel describes a landmark model's lags (format 4 only);
	// absent, the model carries its features forward.
	HorizonModel *Landmark `json:"horizon_model,omitempty"`
}

// Marshal encodes m as an artifact and sets m.Version.
func (m *Model) Marshal() ([]byte, error) {
	cov, format := m.Cov, FormatVersion
	if m.Landmark != nil {
		cov, format = m.Landmark.cov, FormatLandmark
	}
	body, err := json.Marshal(payload{Kind: m.Kind, Link: m.Link, Features: m.Features,
		Coefficients: m.Coefficients(), Covariance: cov, CovarianceObserved: m.CovObserved,
		Training: m.Training, Imported: m.Imported, Reference: m.reference, HorizonModel: m.Landmark})
	if err != nil {
		return nil, fmt.Errorf("encoding the model: %w", err)
	}
	version, err := modelVersion(body)
	if err != nil {
		return nil, fmt.Errorf("encoding the model: %w", err)
	}
	sum := sha256.Sum256(body)
	env := envelope{Format: Format, FormatVersion: format, Name: m.Name,
		Version: version, Checksum: "sha256:" + hex.EncodeToString(sum[:]), Model: body}
	out, err := json.MarshalIndent(env, "", " ")
	if err != nil {
		return nil, fmt.Errorf("encoding the model: %w", err)
	}
	m.Version = env.Version
	return append(out, '\n'), nil
}

// SaveFile writes the artifact to path atomically: it writes a temporary
// file in the same folder, syncs it and renames it over path, so a crash
// leaves either the old file or the new one, never half of one.
func (m *Model) SaveFile(path string) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, b)
}

// LoadFile reads and verifies an artifact file.
func LoadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &caresignal.Error{Code: caresignal.ENOTFOUND, Message: "cannot open model file " + path, Err: err}
	}
	defer f.Close()
	m, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("model file %s: %w", path, err)
	}
	return m, nil
}

// Load reads and verifies an artifact: its format and version, its
// checksum, and the consistency of the fitted features with the
// coefficients. Anything wrong is an ECORRUPT error saying what.
func Load(r io.Reader) (*Model, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxArtifactBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxArtifactBytes {
		return nil, corrupt("larger than %d MiB: not a model artifact", MaxArtifactBytes>>20)
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, corrupt("not a caresignal model artifact (invalid JSON: %v)", err)
	}
	if env.Format != Format {
		return nil, corrupt("not a caresignal model artifact (format %q, want %q)", env.Format, Format)
	}
	if env.FormatVersion == 1 {
		return nil, corrupt("artifact format version 1 predates the link, penalty and baseline choices of version %d; retrain the model with this build (caresignal train)", FormatVersion)
	}
	if env.FormatVersion != formatWholePayload && env.FormatVersion != FormatVersion && env.FormatVersion != FormatLandmark {
		return nil, corrupt("artifact format version %d is not supported by this build, which reads versions %d to %d", env.FormatVersion, formatWholePayload, FormatLandmark)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, env.Model); err != nil || len(env.Model) == 0 {
		return nil, corrupt("the model payload is missing or not JSON")
	}
	sum := sha256.Sum256(compact.Bytes())
	hexsum := hex.EncodeToString(sum[:])
	if env.Checksum != "sha256:"+hexsum {
		return nil, corrupt("checksum mismatch: the file was changed or damaged after it was written (recorded %s, computed sha256:%s)", env.Checksum, hexsum)
	}
	if env.FormatVersion == formatWholePayload {
		if env.Version != hexsum[:12] {
			return nil, corrupt("version %q does not match the checksum", env.Version)
		}
	} else {
		version, err := modelVersion(compact.Bytes())
		if err != nil {
			return nil, corrupt("%v", err)
		}
		if env.Version != version {
			return nil, corrupt("version %q does not match the model, whose version is %s", env.Version, version)
		}
	}
	var p payload
	dec := json.NewDecoder(bytes.NewReader(compact.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, corrupt("decoding the model: %v", err)
	}
	if (p.HorizonModel != nil) != (env.FormatVersion == FormatLandmark) {
		return nil, corrupt("format version %d with a horizon_model member: only a format-%d artifact (a landmark model) has one, and it must", env.FormatVersion, FormatLandmark)
	}
	m := &Model{Name: env.Name, Version: env.Version, Kind: p.Kind, Link: p.Link,
		Features: p.Features, Cov: p.Covariance, CovObserved: p.CovarianceObserved, Training: p.Training,
		Imported: p.Imported, Landmark: p.HorizonModel}
	if m.Kind == KindSklearn {
		if m.Imported == nil || m.Features != nil || len(p.Coefficients) > 0 || p.Reference != nil || m.Landmark != nil {
			return nil, corrupt("an imported model must hold the imported file and nothing else")
		}
		// The file is decoded again, by the same restricted loader, and
		// must give the inputs recorded at import.
		recorded := m.Imported.Inputs
		m.Imported.Inputs = nil
		if err := m.Imported.decode(sklearn.Options{}); err != nil {
			return nil, corrupt("the imported model file: %v", caresignal.ErrorMessage(err))
		}
		if !slices.EqualFunc(recorded, m.Imported.Inputs, func(a, b caresignal.Input) bool {
			return a.Name == b.Name && a.Categorical == b.Categorical && a.Optional == b.Optional
		}) {
			return nil, corrupt("the imported model's inputs differ from those recorded at import")
		}
		return m, nil
	}
	if err := m.check(p.Coefficients); err != nil {
		return nil, corrupt("%v", err)
	}
	if p.Reference != nil {
		if err := p.Reference.check(m.Features); err != nil {
			return nil, corrupt("%v", err)
		}
		m.reference = p.Reference
	}
	m.Features.Prepare()
	return m, nil
}

func (m *Model) check(cs []Coefficient) error {
	if _, err := survival.ParseLink(string(m.Link)); m.Kind != KindDiscreteHazard || err != nil || m.Link == "" {
		return fmt.Errorf("model kind %q with link %q is not supported by this build", m.Kind, m.Link)
	}
	if m.Features == nil {
		return errors.New("the model has no features")
	}
	if err := m.Features.Check(); err != nil {
		return fmt.Errorf("features: %w", err)
	}
	if m.Name != m.Features.Spec.Name {
		return fmt.Errorf("model name %q differs from its spec's %q", m.Name, m.Features.Spec.Name)
	}
	names := m.Features.Columns
	if m.Landmark != nil {
		if err := m.Landmark.check(); err != nil {
			return fmt.Errorf("horizon model: %w", err)
		}
		if m.CovObserved != nil {
			return errors.New("a landmark model has no observed-information covariance")
		}
		names = m.Landmark.columnNames(m.Features)
	}
	if len(cs) != len(names) {
		return fmt.Errorf("%d coefficients for %d design columns", len(cs), len(names))
	}
	if len(m.Cov) != len(cs)*len(cs) {
		return fmt.Errorf("covariance has %d entries for %d coefficients", len(m.Cov), len(cs))
	}
	if m.CovObserved != nil && len(m.CovObserved) != len(cs)*len(cs) {
		return fmt.Errorf("observed covariance has %d entries for %d coefficients", len(m.CovObserved), len(cs))
	}
	m.Coef = make([]float64, len(cs))
	m.StdErr = make([]float64, len(cs))
	if m.CovObserved != nil {
		m.StdErrObserved = make([]float64, len(cs))
	}
	for j, c := range cs {
		if c.Name != names[j] {
			return fmt.Errorf("coefficient %d is %q, design column %d is %q", j, c.Name, j, names[j])
		}
		if math.IsNaN(c.Estimate) || math.IsInf(c.Estimate, 0) {
			return fmt.Errorf("coefficient %q is not finite", c.Name)
		}
		m.Coef[j], m.StdErr[j] = c.Estimate, c.StdError
		if m.StdErrObserved != nil {
			m.StdErrObserved[j] = c.StdErrorObserved
		}
	}
	if m.Landmark != nil {
		m.Coef, m.StdErr, m.Cov = m.Landmark.setCoefficients(m.Features, m.Coef, m.StdErr, m.Cov)
	}
	return nil
}

// unversioned is the payload member the version leaves out.
const unversioned = "training"

// modelVersion returns the version of a payload in compact JSON: the first
// twelve hex digits of the SHA-256 of the payload with its "training"
// member cut out — the bytes of the other members as written, in the order
// written, joined by commas in one object. Marshal writes the members in a
// fixed order (that of payload's fields), so equal models give equal
// bytes; Load recomputes the version from the file's own bytes, so it does
// not depend on how this build would encode the payload, and a field added
// in a later build changes no saved version.
func modelVersion(compact []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(compact))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", errors.New("the model payload is not a JSON object")
	}
	h := sha256.New()
	h.Write([]byte{'{'})
	var seen []string
	hashed := 0
	for dec.More() {
		start := dec.InputOffset() // at the comma before the member, if any
		tok, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("the model payload: %w", err)
		}
		key, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return "", fmt.Errorf("the model payload: %w", err)
		}
		// Names are compared as Load's decoder matches them, ignoring
		// case. A second member of one name would be hashed, yet decoding
		// keeps only the last: the version would not name what loads.
		for _, name := range seen {
			if strings.EqualFold(name, key) {
				return "", fmt.Errorf("the model payload has %q twice", key)
			}
		}
		seen = append(seen, key)
		if strings.EqualFold(key, unversioned) {
			continue
		}
		member := bytes.TrimPrefix(compact[start:dec.InputOffset()], []byte{','})
		if hashed > 0 {
			h.Write([]byte{','})
		}
		h.Write(member)
		hashed++
	}
	h.Write([]byte{'}'})
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

func corrupt(format string, args ...any) error {
	return &caresignal.Error{Code: caresignal.ECORRUPT, Message: "refused model artifact: " + fmt.Sprintf(format, args...)}
}
