package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caresignal/caresignal"
)

// The prediction record. The log stores one record per request (an API
// request, a chunk of a batch scoring run), holding each instance's inputs
// and outputs: RequestLog builds it, and is the only builder of the
// stored row (caresignal.RequestRecord), so the stored route, the shadow
// marker, the kind, the outputs' format and the pseudonyms have one
// owner. The log is read a prediction at a time (the database's
// predictions view): Read turns such a row into a Record.

// Kind says what a record's inputs hold, and so how it is rescored and
// whether it describes a patient the care program serves.
type Kind uint8

// The kinds of record.
const (
	// KindPatient: one patient's request object in the POST
	// /api/engagement shape, answered with hazards and expected months.
	KindPatient Kind = iota + 1
	// KindPersonPeriod: one person-period row of MLflow /invocations,
	// answered with one hazard.
	KindPersonPeriod
	// KindWhatIf: a patient object scored from the what-if form. The
	// answer is real, but the inputs may be hypothetical: drift and
	// follow-up leave these out.
	KindWhatIf
)

var kindNames = [...]string{KindPatient: "patient", KindPersonPeriod: "person_period", KindWhatIf: "whatif"}

// String is the kind's stored name: patient, person_period or whatif.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// ParseKind reads a stored kind name; an empty or unknown one is the
// kind route implies (rows of earlier versions had no kind).
func ParseKind(name, route string) Kind {
	for k, n := range kindNames {
		if n != "" && n == name {
			return Kind(k)
		}
	}
	return KindOf(route)
}

// ScoreRoute is the route of the records batch scoring writes (caresignal
// score and the demo).
const ScoreRoute = "caresignal score"

// shadowSuffix marks the stored route of a shadow model's records.
const shadowSuffix = " (shadow)"

// RequestLog is the record of one request being built: fill in the
// header, Add each instance, then take Stored.
type RequestLog struct {
	ID    string // unique; empty: Stored draws one
	At    time.Time
	Model caresignal.ModelInfo
	// Route is the route pattern that served the request, or ScoreRoute.
	Route string
	Kind  Kind // zero: KindOf(Route)
	// Shadow marks a shadow model's answers: recorded beside
	// production's, never returned to the caller.
	Shadow    bool
	RequestID string
	// Key, when set, pseudonymises every patient id (see Pseudonym), in
	// the item and in the inputs' top-level "patient_id".
	Key []byte

	items []byte
	n     int
}

// Add appends one instance: its patient id as received (may be empty),
// its inputs as received (the request object, or the person-period row),
// the hash of the features scored (may be empty), and its outputs,
// appended to dst by out in AppendOutputs's form.
func (r *RequestLog) Add(patientID string, inputs []byte, featuresHash string, out func(dst []byte) ([]byte, error)) error {
	if len(r.Key) > 0 && patientID != "" {
		patientID = Pseudonym(r.Key, patientID)
		inputs = pseudonymiseInputs(inputs, patientID)
	}
	b := r.items
	if b == nil {
		// Room for the item's ids and a year of outputs, so that one
		// patient's record is one allocation.
		b = make([]byte, 0, 512+len(inputs))
	}
	prev := len(b)
	if r.n == 0 {
		b = append(b, '[')
	} else {
		b = append(b, ',')
	}
	b = append(b, '{')
	if patientID != "" {
		b = append(b, `"patient_id":`...)
		b = AppendString(b, patientID)
		b = append(b, ',')
	}
	if featuresHash != "" {
		b = append(b, `"features_hash":`...)
		b = AppendString(b, featuresHash)
		b = append(b, ',')
	}
	b = append(b, `"inputs":`...)
	b = append(b, inputs...)
	b = append(b, `,"outputs":`...)
	r.items = b
	b, err := out(b)
	if err != nil {
		r.items = r.items[:prev] // the half-written item goes
		return err
	}
	r.items = append(b, '}')
	r.n++
	return nil
}

// Grow makes room for n more bytes of items (their inputs, outputs and
// ids), so that a large request's record is built in one allocation.
func (r *RequestLog) Grow(n int) { r.items = slices.Grow(r.items, n) }

// Len is the number of instances added.
func (r *RequestLog) Len() int { return r.n }

// Stored returns the row the log stores, or ok=false when no instance was
// added. An empty ID is drawn with NewID.
func (r *RequestLog) Stored() (rec caresignal.RequestRecord, ok bool) {
	if r.n == 0 {
		return caresignal.RequestRecord{}, false
	}
	id := r.ID
	if id == "" {
		id = NewID()
	}
	route := r.Route
	if r.Shadow {
		route += shadowSuffix
	}
	kind := r.Kind
	if kind == 0 {
		kind = KindOf(r.Route)
	}
	return caresignal.RequestRecord{ID: id, At: r.At, Model: r.Model.Name, Version: r.Model.Version, Route: route,
		Kind: kind.String(), RequestID: r.RequestID, Instances: r.n, Items: append(r.items, ']')}, true
}

// Record is one prediction as the log keeps it: one instance of a logged
// request.
type Record struct {
	ID    string
	At    time.Time
	Model caresignal.ModelInfo
	// Route is the route pattern that served the prediction, or
	// ScoreRoute.
	Route string
	Kind  Kind
	// Shadow marks a shadow model's answer: recorded beside production's,
	// never returned to the caller.
	Shadow    bool
	RequestID string
	PatientID string // pseudonymised, when the server was configured to
	// Inputs is the instance as received (KindPatient, KindWhatIf), or
	// the person-period row (KindPersonPeriod).
	Inputs []byte
	// FeaturesHash identifies the transformed feature row the model
	// scored (see caresignal.Prediction); empty for imported models.
	FeaturesHash string
	// Outputs is {"hazard":[...],"expected_months":x} (see AppendOutputs).
	Outputs []byte
}

// Outputs is what the log keeps of an answer: the hazards (from which
// survival, expected months and the median follow) and expected months.
type Outputs struct {
	Hazard         []float64 `json:"hazard"`
	ExpectedMonths float64   `json:"expected_months"`
}

// KindOf tells what the inputs of a record of route hold, for records
// stored without a kind.
func KindOf(route string) Kind {
	route, _ = strings.CutSuffix(route, shadowSuffix)
	if strings.HasSuffix(route, "/invocations") {
		return KindPersonPeriod
	}
	return KindPatient
}

// IsShadow reports whether a stored route is a shadow model's.
func IsShadow(storedRoute string) bool { return strings.HasSuffix(storedRoute, shadowSuffix) }

// Read returns the typed form of a row of the predictions view.
func Read(rec *caresignal.PredictionRecord) Record {
	route, shadow := strings.CutSuffix(rec.Route, shadowSuffix)
	return Record{ID: rec.ID, At: rec.At, Model: caresignal.ModelInfo{Name: rec.Model, Version: rec.Version}, Route: route,
		Kind: ParseKind(rec.Kind, route), Shadow: shadow, RequestID: rec.RequestID, PatientID: rec.PatientID, Inputs: rec.Inputs,
		FeaturesHash: rec.FeaturesHash, Outputs: rec.Outputs}
}

// Legacy converts a record of one prediction, as earlier versions wrote
// to their spill files, to the record of a request of one instance, under
// the same id. Its patient id and inputs are stored as they are (they were
// pseudonymised, if at all, when the line was written).
func Legacy(rec *caresignal.PredictionRecord) (caresignal.RequestRecord, error) {
	if !json.Valid(rec.Inputs) || !json.Valid(rec.Outputs) {
		return caresignal.RequestRecord{}, errors.New("the record's inputs or outputs are not JSON")
	}
	route, shadow := strings.CutSuffix(rec.Route, shadowSuffix)
	r := RequestLog{ID: rec.ID, At: rec.At, Model: caresignal.ModelInfo{Name: rec.Model, Version: rec.Version}, Route: route,
		Kind: ParseKind(rec.Kind, route), Shadow: shadow, RequestID: rec.RequestID}
	err := r.Add(rec.PatientID, rec.Inputs, rec.FeaturesHash, func(dst []byte) ([]byte, error) { return append(dst, rec.Outputs...), nil })
	if err != nil {
		return caresignal.RequestRecord{}, err
	}
	out, _ := r.Stored()
	return out, nil
}

// DecodeOutputs reads the record's outputs.
func (r *Record) DecodeOutputs() (Outputs, error) {
	var out Outputs
	err := json.Unmarshal(r.Outputs, &out)
	return out, err
}

// ErrNotOnePatient is DecodePatient's error for inputs that decode as a
// batch request.
var ErrNotOnePatient = errors.New("inputs are not one patient's request object")

// DecodePatient reads a KindPatient or KindWhatIf record's inputs as the
// server reads a request of one patient.
func (r *Record) DecodePatient() (caresignal.Instance, error) {
	req, err := DecodeRequest(r.Inputs, nil)
	if err != nil {
		return caresignal.Instance{}, err
	}
	if req.Batch || len(req.Instances) != 1 {
		return caresignal.Instance{}, ErrNotOnePatient
	}
	return req.Instances[0], nil
}

// AppendOutputs appends what the log keeps of an answer (see Outputs), in
// the answer's own number format. Numbers JSON cannot hold are an error.
func AppendOutputs(b []byte, hazard []float64, expected float64) ([]byte, error) {
	b = append(b, `{"hazard":`...)
	b, err := appendFloats(b, hazard)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"expected_months":`...)
	if b, err = AppendFloat(b, expected); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// NewID returns a unique record id: a random prefix drawn once per
// process and a counter, so ids cost no system call and two processes
// (or restarts) do not collide.
func NewID() string {
	// Fixed width, so one process's ids sort in the order they were made
	// and the primary key grows at its end.
	var b [16]byte
	n := idCounter.Add(1)
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = "0123456789abcdef"[n&15]
		n >>= 4
	}
	return idPrefix + string(b[:])
}

var (
	idCounter atomic.Uint64
	idPrefix  = func() string {
		var b [12]byte
		rand.Read(b[:])
		return hex.EncodeToString(b[:]) + "-"
	}()
)

// Pseudonym returns id's keyed hash ("h:" and 64 hex digits) under key;
// id itself when the key or the id is empty. Offline tools use it to
// match source records to a pseudonymised log.
func Pseudonym(key []byte, id string) string {
	if len(key) == 0 || id == "" {
		return id
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	return "h:" + hex.EncodeToString(m.Sum(nil))
}

// pseudonymiseInputs replaces the value of the top-level "patient_id" of
// a request object with pseudo, keeping every other byte as received. It
// returns inputs unchanged when they are not an object or have no string
// patient_id.
func pseudonymiseInputs(inputs []byte, pseudo string) []byte {
	dec := json.NewDecoder(bytes.NewReader(inputs))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return inputs
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return inputs
		}
		start := dec.InputOffset()
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return inputs
		}
		if key, _ := t.(string); key != "patient_id" || len(v) == 0 || v[0] != '"' {
			continue
		}
		end := int(dec.InputOffset())
		valueStart := end - len(v)
		if valueStart < int(start) {
			return inputs
		}
		q := AppendString(nil, pseudo)
		out := make([]byte, 0, len(inputs)-len(v)+len(q))
		out = append(append(append(out, inputs[:valueStart]...), q...), inputs[end:]...)
		return out
	}
	return inputs
}

// ScoreRunID names one batch scoring run in the request id of its
// records: "score@" and the data's as-of date, "#" and the run's start in
// nanoseconds (hex), so that records of one run group together and the
// as-of date of a back-dated run is known.
func ScoreRunID(asOf, started time.Time) string {
	return fmt.Sprintf("score@%s#%x", asOf.UTC().Format(time.DateOnly), started.UnixNano())
}

// ParseScoreRunID returns the as-of date of a ScoreRunID; ok is false
// for any other request id.
func ParseScoreRunID(id string) (asOf time.Time, ok bool) {
	rest, found := strings.CutPrefix(id, "score@")
	if !found {
		return time.Time{}, false
	}
	date, _, found := strings.Cut(rest, "#")
	if !found {
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, date)
	return t, err == nil
}
