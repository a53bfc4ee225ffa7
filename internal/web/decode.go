package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/caresignal/caresignal"
)

// MaxBodyBytes bounds a request body: a full batch of MaxInstances patients
// takes about a quarter of this.
const MaxBodyBytes = 2 << 20

// MaxPatientIDBytes bounds a patient id.
const MaxPatientIDBytes = 200

// DecodeRequest parses a POST /api/engagement body: one patient, or
// {"instances": [...]} (batch is then true). Keys must match exactly and
// appear once; anything else is an error. Errors are *caresignal.Error
// naming the field as a path ("instances[2].features.age").
func DecodeRequest(body []byte) (insts []caresignal.Instance, batch bool, err error) {
	insts, _, batch, err = decodeRequest(body, nil)
	return insts, batch, err
}

// decodeRequest is DecodeRequest that also returns each instance's JSON
// as received (slices of body). k says what to expect (may be nil).
// A well-formed request takes fastDecode's single pass; anything else is
// decoded again below, which names what is wrong.
func decodeRequest(body []byte, k *known) (insts []caresignal.Instance, raws [][]byte, batch bool, err error) {
	if insts, raws, batch, ok := fastDecode(body, k); ok {
		return insts, raws, batch, nil
	}
	return slowDecode(body)
}

// slowDecode is decodeRequest for any body: it checks the JSON first,
// then each field, and names the first problem.
func slowDecode(body []byte) (insts []caresignal.Instance, raws [][]byte, batch bool, err error) {
	if err := validJSON(body); err != nil {
		return nil, nil, false, err
	}
	var one wireInstance
	var instances []byte
	err = eachField(body, "", func(key string, val []byte) error {
		if key == "instances" {
			instances = val
			return nil
		}
		return one.set(key, val, "")
	})
	if err != nil {
		return nil, nil, false, err
	}
	if instances == nil {
		inst, err := one.instance("")
		if err != nil {
			return nil, nil, false, err
		}
		return []caresignal.Instance{inst}, [][]byte{body}, false, nil
	}
	if one.seen {
		return nil, nil, true, caresignal.Invalidf("instances", "send either one patient or \"instances\", not both")
	}
	if instances[0] != '[' {
		return nil, nil, true, caresignal.Invalidf("instances", "instances must be an array of patient objects")
	}
	raws = elements(instances, nil)
	if len(raws) == 0 || len(raws) > caresignal.MaxInstances {
		return nil, nil, true, caresignal.Invalidf("instances", "instances must hold 1 to %d patients, got %d", caresignal.MaxInstances, len(raws))
	}
	insts = make([]caresignal.Instance, len(raws))
	for i, raw := range raws {
		prefix := "instances[" + strconv.Itoa(i) + "]"
		var w wireInstance
		if err := eachField(raw, prefix, func(key string, val []byte) error { return w.set(key, val, prefix+".") }); err != nil {
			return nil, nil, true, err
		}
		if insts[i], err = w.instance(prefix + "."); err != nil {
			return nil, nil, true, err
		}
	}
	return insts, raws, true, nil
}

// validJSON checks that body is exactly one JSON value (the scanners below
// rely on it), reporting where it is broken.
func validJSON(body []byte) error {
	if json.Valid(body) {
		return nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return caresignal.Invalidf("", "request body is empty: send a JSON object")
	}
	var v any
	var syn *json.SyntaxError
	if err := json.Unmarshal(body, &v); errors.As(err, &syn) {
		if strings.Contains(syn.Error(), "after top-level value") {
			return caresignal.Invalidf("", "request body has data after the JSON object (at byte %d)", syn.Offset)
		}
		return caresignal.Invalidf("", "request body is not valid JSON (at byte %d)", syn.Offset)
	}
	return caresignal.Invalidf("", "request body is not valid JSON")
}

// eachField walks one JSON object, calling fn with each key, in document
// order, and its raw value. A key that appears twice is an error. raw must
// be valid JSON. where names the object in messages ("" for the body).
func eachField(raw []byte, where string, fn func(key string, val []byte) error) error {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		name := where
		if name == "" {
			name = "request body"
		}
		return caresignal.Invalidf(where, "%s must be a JSON object", name)
	}
	var seen keySet
	i = skipSpace(raw, i+1)
	for i < len(raw) && raw[i] != '}' {
		end := skipString(raw, i)
		key := unquote(raw[i:end])
		if key == "" {
			name := where
			if name == "" {
				name = "the request body"
			}
			return caresignal.Invalidf(where, "%s has a key that is empty", name)
		}
		if !seen.add(key) {
			field := join(where, key)
			return caresignal.Invalidf(field, "%s appears more than once", field)
		}
		i = skipSpace(raw, end)
		i = skipSpace(raw, i+1) // the colon
		end = skipValue(raw, i)
		if err := fn(key, raw[i:end]); err != nil {
			return err
		}
		i = skipSpace(raw, end)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return nil
}

// keySet finds repeated keys: a slice while there are few (no allocation
// for a typical request), a map past that, so that a body of 100,000 keys
// takes linear time, not quadratic.
type keySet struct {
	few  [16]string
	n    int
	many map[string]struct{}
}

// add records key and reports whether it was new.
func (k *keySet) add(key string) bool {
	if k.many != nil {
		if _, dup := k.many[key]; dup {
			return false
		}
		k.many[key] = struct{}{}
		return true
	}
	if slices.Contains(k.few[:k.n], key) {
		return false
	}
	if k.n < len(k.few) {
		k.few[k.n] = key
		k.n++
		return true
	}
	k.many = make(map[string]struct{}, 2*len(k.few))
	for _, s := range k.few {
		k.many[s] = struct{}{}
	}
	k.many[key] = struct{}{}
	return true
}

// elements returns the raw elements of a valid JSON array.
func elements(raw []byte, dst [][]byte) [][]byte {
	i := skipSpace(raw, 1)
	for i < len(raw) && raw[i] != ']' {
		end := skipValue(raw, i)
		dst = append(dst, raw[i:end])
		i = skipSpace(raw, end)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return dst
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}

// unquote returns the text of a valid JSON string literal.
func unquote(lit []byte) string {
	body := lit[1 : len(lit)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body)
	}
	var s string
	json.Unmarshal(lit, &s) // valid by construction
	return s
}

func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// wireInstance is one patient as sent, its scalars kept raw so that each
// error can name its field exactly.
type wireInstance struct {
	seen           bool // any field was set
	patientID      []byte
	features       []byte
	monthsEnrolled []byte
	horizon        []byte
}

// set records one field of a patient object; prefix is "" or "instances[i].".
func (w *wireInstance) set(key string, val []byte, prefix string) error {
	switch key {
	case "patient_id":
		w.patientID = val
	case "features":
		w.features = val
	case "months_enrolled":
		w.monthsEnrolled = val
	case "horizon":
		w.horizon = val
	default:
		return caresignal.Invalidf(prefix+key, "%s%s is not a known field", prefix, key)
	}
	w.seen = true
	return nil
}

// instance converts a decoded patient; prefix is "" or "instances[i].".
func (w *wireInstance) instance(prefix string) (caresignal.Instance, error) {
	inst := caresignal.Instance{Horizon: caresignal.DefaultHorizon}
	if w.patientID != nil && string(w.patientID) != "null" {
		if w.patientID[0] != '"' {
			return inst, caresignal.Invalidf(prefix+"patient_id", "%spatient_id must be a string", prefix)
		}
		inst.PatientID = unquote(w.patientID)
		if len(inst.PatientID) > MaxPatientIDBytes {
			return inst, caresignal.Invalidf(prefix+"patient_id", "%spatient_id is longer than %d bytes", prefix, MaxPatientIDBytes)
		}
	}
	if w.features == nil || string(w.features) == "null" {
		return inst, caresignal.Invalidf(prefix+"features", "%sfeatures is required: an object of feature values", prefix)
	}
	inst.Features = make(map[string]caresignal.Value, 16)
	err := eachField(w.features, prefix+"features", func(name string, raw []byte) error {
		v, err := featureValue(raw)
		if err != nil {
			field := prefix + "features." + name
			return caresignal.Invalidf(field, "%s %s", field, err)
		}
		inst.Features[name] = v
		return nil
	})
	if err != nil {
		return inst, err
	}
	if inst.MonthsEnrolled, err = integer(w.monthsEnrolled, 0, 0, caresignal.MaxMonthsEnrolled); err != nil {
		return inst, caresignal.Invalidf(prefix+"months_enrolled", "%smonths_enrolled %s", prefix, err)
	}
	if inst.Horizon, err = integer(w.horizon, caresignal.DefaultHorizon, 1, caresignal.MaxHorizon); err != nil {
		return inst, caresignal.Invalidf(prefix+"horizon", "%shorizon %s", prefix, err)
	}
	return inst, nil
}

// featureValue reads a feature: a JSON number, string or null.
func featureValue(raw []byte) (caresignal.Value, error) {
	switch c := raw[0]; {
	case c == 'n':
		return caresignal.NullValue(), nil
	case c == '"':
		return caresignal.Str(unquote(raw)), nil
	case c == '-' || c >= '0' && c <= '9':
		x, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsInf(x, 0) {
			return caresignal.Value{}, errors.New("must be a finite number")
		}
		return caresignal.Num(x), nil
	}
	return caresignal.Value{}, errors.New("must be a number, a string or null")
}

// integer reads an optional whole number in [lo, hi].
func integer(raw []byte, def, lo, hi int) (int, error) {
	if raw == nil || string(raw) == "null" {
		return def, nil
	}
	x, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || x != math.Trunc(x) {
		return 0, fmt.Errorf("must be a whole number between %d and %d", lo, hi)
	}
	if x < float64(lo) || x > float64(hi) {
		return 0, fmt.Errorf("must be between %d and %d, got %s", lo, hi, raw)
	}
	return int(x), nil
}

// readBody reads a request body of at most MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var body []byte
	var err error
	if n := r.ContentLength; n > 0 && n <= MaxBodyBytes {
		// The usual case: the size is known, so read into one buffer of
		// that size (plus one byte to see a body longer than announced).
		body, err = readAllInto(make([]byte, 0, n+1), http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &caresignal.Error{Code: caresignal.ETOOLARGE, Message: fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit)}
		}
		return nil, &caresignal.Error{Code: caresignal.EINVALID, Message: "could not read the request body", Err: err}
	}
	return body, nil
}

// readAllInto is io.ReadAll into b's spare capacity, growing it only if
// the body is longer than announced.
func readAllInto(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
