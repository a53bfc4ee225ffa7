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
	"strings"
	"sync/atomic"
	"time"

	"github.com/caresignal/caresignal"
)

// The prediction record: one answered prediction as the log keeps it,
// enough to rescore it offline with the same model version and compare.
// Record is the typed form every writer builds and every reader gets;
// caresignal.PredictionRecord is the row the Store keeps. Stored and Read
// are the only ways between the two, so the stored route, the shadow
// marker, the outputs' format and the pseudonyms have one owner.

// Kind says what a record's inputs hold, and so how it is rescored.
type Kind uint8

// The kinds of record.
const (
	// KindPatient: one patient's request object in the POST
	// /api/engagement shape, answered with hazards and expected months.
	KindPatient Kind = iota + 1
	// KindPersonPeriod: one person-period row of MLflow /invocations,
	// answered with one hazard.
	KindPersonPeriod
)

// ScoreRoute is the route of the records batch scoring writes (caresignal
// score and the demo).
const ScoreRoute = "caresignal score"

// shadowSuffix marks the stored route of a shadow model's records.
const shadowSuffix = " (shadow)"

// Record is one prediction as the log keeps it.
type Record struct {
	ID    string // unique; empty: Stored draws one
	At    time.Time
	Model caresignal.ModelInfo
	// Route is the route pattern that served the prediction, or
	// ScoreRoute. It tells the record's Kind: routes ending in
	// /invocations hold person-period rows.
	Route string
	// Shadow marks a shadow model's answer: recorded beside production's,
	// never returned to the caller.
	Shadow    bool
	RequestID string
	PatientID string // as received; Stored pseudonymises it
	// Inputs is the instance as received (KindPatient), or the
	// person-period row (KindPersonPeriod).
	Inputs []byte
	// FeaturesHash identifies the transformed feature row the model
	// scored (see caresignal.Prediction); empty for imported models.
	FeaturesHash string
	// Outputs is {"hazard":[...],"expected_months":x}, from
	// Encoded.Outputs or AppendOutputs.
	Outputs []byte
}

// Outputs is what the log keeps of an answer: the hazards (from which
// survival, expected months and the median follow) and expected months.
type Outputs struct {
	Hazard         []float64 `json:"hazard"`
	ExpectedMonths float64   `json:"expected_months"`
}

// Kind tells what the record's inputs hold.
func (r *Record) Kind() Kind { return KindOf(r.Route) }

// KindOf tells what the inputs of a record of route hold.
func KindOf(route string) Kind {
	if strings.HasSuffix(route, "/invocations") {
		return KindPersonPeriod
	}
	return KindPatient
}

// IsShadow reports whether a stored route is a shadow model's.
func IsShadow(storedRoute string) bool { return strings.HasSuffix(storedRoute, shadowSuffix) }

// Stored returns the row the log stores for r. With a pseudonym key, the
// patient id is replaced by its keyed hash, in the row's patient_id and in
// the inputs' top-level "patient_id" (every other byte of the inputs stays
// as received). An empty ID is drawn with NewID.
func (r *Record) Stored(key []byte) caresignal.PredictionRecord {
	id := r.ID
	if id == "" {
		id = NewID()
	}
	route := r.Route
	if r.Shadow {
		route += shadowSuffix
	}
	patient, inputs := r.PatientID, r.Inputs
	if len(key) > 0 && patient != "" {
		patient = Pseudonym(key, patient)
		inputs = pseudonymiseInputs(inputs, patient)
	}
	return caresignal.PredictionRecord{ID: id, At: r.At, Model: r.Model.Name, Version: r.Model.Version, Route: route,
		RequestID: r.RequestID, PatientID: patient, Inputs: inputs, FeaturesHash: r.FeaturesHash, Outputs: r.Outputs}
}

// Read returns the typed form of a stored row.
func Read(rec *caresignal.PredictionRecord) Record {
	route, shadow := strings.CutSuffix(rec.Route, shadowSuffix)
	return Record{ID: rec.ID, At: rec.At, Model: caresignal.ModelInfo{Name: rec.Model, Version: rec.Version}, Route: route, Shadow: shadow,
		RequestID: rec.RequestID, PatientID: rec.PatientID, Inputs: rec.Inputs, FeaturesHash: rec.FeaturesHash, Outputs: rec.Outputs}
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

// DecodePatient reads a KindPatient record's inputs as the server reads
// a request of one patient.
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
