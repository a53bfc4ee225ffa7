package wire

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/caresignal/caresignal"
)

// Answer is the body of a successful POST /api/engagement.
type Answer struct {
	Model       caresignal.ModelInfo    `json:"model"`
	Predictions []caresignal.Prediction `json:"predictions"`
	// Fields are the outputs each prediction carries (zero: all of them).
	Fields Fields `json:"-"`
}

// A hand-written encoder for the answer, the server's hottest path: it
// writes exactly the bytes encoding/json writes for an Answer (a test
// holds the two together on random predictions), into a pooled buffer,
// without reflection.

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// Encoded is an answer encoded into a pooled buffer, and, when asked for,
// where each prediction's hazards and expected months lie in it.
type Encoded struct {
	bp    *[]byte
	b     []byte
	spans []outputSpan
}

// outputSpan locates one prediction's hazard array and expected months
// in an encoded body: [start, end) byte offsets.
type outputSpan struct{ hazard, expected [2]int }

// Encode encodes a, with a final newline, into a pooled buffer; with
// spans, it also notes where each prediction's outputs lie, for Outputs
// (when the answer carries both hazards and expected months; HasOutputs
// says).
// An answer holding a number JSON cannot write (NaN, ±Inf) is an
// EINTERNAL error: only a bug in a model gets there.
func Encode(a *Answer, spans bool) (Encoded, error) {
	var sp []outputSpan
	if spans && a.Fields.Has(FieldHazard|FieldExpectedMonths) {
		sp = make([]outputSpan, 0, len(a.Predictions))
	}
	bp := bufPool.Get().(*[]byte)
	b, sp, err := appendAnswer((*bp)[:0], a, sp)
	if err != nil {
		bufPool.Put(bp)
		return Encoded{}, &caresignal.Error{Code: caresignal.EINTERNAL, Message: "internal error", Err: fmt.Errorf("encoding an answer: %w", err)}
	}
	return Encoded{bp: bp, b: append(b, '\n'), spans: sp}, nil
}

// Bytes returns the encoded body; it is valid until Release.
func (e Encoded) Bytes() []byte { return e.b }

// Release gives the buffer back to the pool. Neither e nor what Bytes
// returned may be used after.
func (e Encoded) Release() {
	if e.bp != nil && cap(e.b) <= 1<<20 { // do not keep a huge batch's buffer around
		*e.bp = e.b
		bufPool.Put(e.bp)
	}
}

// HasOutputs reports whether AppendOutputs can copy the outputs from the
// body: Encode was asked for spans, and the answer carries both hazards
// and expected months.
func (e Encoded) HasOutputs() bool { return e.spans != nil }

// AppendOutputs appends what the prediction log keeps of prediction i,
// copied from the encoded body (so its floats are not formatted twice):
// {"hazard":[...],"expected_months":x}, as the package's AppendOutputs
// writes it. HasOutputs must be true.
func (e Encoded) AppendOutputs(dst []byte, i int) []byte {
	sp := e.spans[i]
	dst = append(dst, `{"hazard":`...)
	dst = append(dst, e.b[sp.hazard[0]:sp.hazard[1]]...)
	dst = append(dst, `,"expected_months":`...)
	dst = append(dst, e.b[sp.expected[0]:sp.expected[1]]...)
	return append(dst, '}')
}

// appendAnswer appends resp as JSON; when spans is not nil, it also
// appends each prediction's outputSpan to it.
func appendAnswer(b []byte, resp *Answer, spans []outputSpan) ([]byte, []outputSpan, error) {
	b = append(b, `{"model":{"name":`...)
	b = AppendString(b, resp.Model.Name)
	b = append(b, `,"version":`...)
	b = AppendString(b, resp.Model.Version)
	b = append(b, `},"predictions":`...)
	if resp.Predictions == nil {
		return append(b, "null}"...), spans, nil
	}
	b = append(b, '[')
	var err error
	for i := range resp.Predictions {
		if i > 0 {
			b = append(b, ',')
		}
		var sp *outputSpan
		if spans != nil {
			spans = append(spans, outputSpan{})
			sp = &spans[len(spans)-1]
		}
		if b, err = appendPrediction(b, &resp.Predictions[i], resp.Fields, sp); err != nil {
			return nil, nil, err
		}
	}
	return append(b, "]}"...), spans, nil
}

// appendPrediction appends p's patient id, the outputs f asks for and its
// warnings; sp, when not nil, receives where its hazards and expected
// months are.
func appendPrediction(b []byte, p *caresignal.Prediction, f Fields, sp *outputSpan) ([]byte, error) {
	var err error
	var mark outputSpan
	b = append(b, `{"patient_id":`...)
	b = AppendString(b, p.PatientID)
	if f.Has(FieldHazard) {
		b = append(b, `,"hazard":`...)
		mark.hazard[0] = len(b)
		if b, err = appendFloats(b, p.Hazard); err != nil {
			return nil, err
		}
		mark.hazard[1] = len(b)
	}
	if f.Has(FieldSurvival) {
		b = append(b, `,"survival":`...)
		if b, err = appendFloats(b, p.Survival); err != nil {
			return nil, err
		}
	}
	if f.Has(FieldExpectedMonths) {
		b = append(b, `,"expected_months":`...)
		mark.expected[0] = len(b)
		if b, err = AppendFloat(b, p.ExpectedMonths); err != nil {
			return nil, err
		}
		mark.expected[1] = len(b)
	}
	if sp != nil {
		*sp = mark
	}
	if f.Has(FieldMedianMonths) {
		b = append(b, `,"median_months":`...)
		if p.MedianMonths == nil {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendInt(b, int64(*p.MedianMonths), 10)
		}
	}
	if f.Has(FieldExplanation) {
		if b, err = appendExplanation(b, p.Explanation); err != nil {
			return nil, err
		}
	}
	if len(p.Warnings) > 0 {
		b = append(b, `,"warnings":[`...)
		for i, w := range p.Warnings {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, w)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// appendExplanation appends the "explanation" member.
func appendExplanation(b []byte, cs []caresignal.Contribution) ([]byte, error) {
	b = append(b, `,"explanation":`...)
	if cs == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i := range cs {
		c := &cs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"feature":`...)
		b = AppendString(b, c.Feature)
		b = append(b, `,"value":`...)
		b = AppendString(b, c.Value)
		b = append(b, `,"contribution":`...)
		var err error
		if b, err = AppendFloat(b, c.Contribution); err != nil {
			return nil, err
		}
		b = append(b, `,"text":`...)
		b = AppendString(b, c.Text)
		b = append(b, '}')
	}
	return append(b, ']'), nil
}
