package wire

import (
	"strconv"
	"strings"

	"github.com/caresignal/caresignal"
)

// Fields is the set of outputs a POST /api/engagement request asks for
// (its "outputs" field): each prediction then carries its patient_id, the
// outputs named, and its warnings when it has any. The zero value asks for
// every output.
type Fields uint8

// The outputs of one prediction, in the order the answer writes them.
const (
	FieldHazard Fields = 1 << iota
	FieldSurvival
	FieldExpectedMonths
	FieldMedianMonths
	FieldExplanation

	AllFields = FieldHazard | FieldSurvival | FieldExpectedMonths | FieldMedianMonths | FieldExplanation
)

// fieldNames are the outputs' names, in the order of their bits.
var fieldNames = [...]string{"hazard", "survival", "expected_months", "median_months", "explanation"}

// fieldOf returns the output named name, or 0.
func fieldOf(name []byte) Fields {
	for i, n := range fieldNames {
		if string(name) == n {
			return 1 << i
		}
	}
	return 0
}

// Has reports whether f asks for every output of x (the zero Fields asks
// for all).
func (f Fields) Has(x Fields) bool { return f == 0 || f&x == x }

// String lists the outputs' names, comma-separated.
func (f Fields) String() string {
	if f == 0 {
		f = AllFields
	}
	var names []string
	for i, n := range fieldNames {
		if f&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// outputs reads the fast path's "outputs" array: one or more known names,
// each once.
func (p *fastParser) outputs() (Fields, bool) {
	if !p.consume('[') {
		return 0, false
	}
	var f Fields
	for {
		p.space()
		s, ok := p.str()
		x := fieldOf(s)
		if !ok || x == 0 || f&x != 0 {
			return 0, false
		}
		f |= x
		p.space()
		if !p.consume(',') {
			return f, p.consume(']')
		}
	}
}

// decodeFields is the slow path's reading of "outputs", naming what is
// wrong.
func decodeFields(raw []byte) (Fields, error) {
	choose := `choose from "` + strings.Join(fieldNames[:], `", "`) + `"`
	if raw[0] != '[' {
		return 0, caresignal.Invalidf("outputs", "outputs must be an array of output names (%s), or left out for all of them", choose)
	}
	names := elements(raw, nil)
	if len(names) == 0 {
		return 0, caresignal.Invalidf("outputs", "outputs must name at least one output (%s), or be left out for all of them", choose)
	}
	var f Fields
	for i, name := range names {
		field := "outputs[" + strconv.Itoa(i) + "]"
		if name[0] != '"' {
			return 0, caresignal.Invalidf(field, "%s must be a string: %s", field, choose)
		}
		n := unquote(name)
		x := fieldOf([]byte(n))
		if x == 0 {
			return 0, caresignal.Invalidf(field, "%s %q is not an output: %s", field, n, choose)
		}
		if f&x != 0 {
			return 0, caresignal.Invalidf(field, "%s %q is named twice", field, n)
		}
		f |= x
	}
	return f, nil
}
