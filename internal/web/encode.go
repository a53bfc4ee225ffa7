package web

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/caresignal/caresignal"
)

// A hand-written encoder for the body of POST /api/engagement, the
// server's hottest path: it writes exactly the bytes encoding/json writes
// for a Response (a test holds the two together on random predictions),
// into a pooled buffer, without reflection.

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// encodedBody is a response body in a pooled buffer, and where each
// prediction's hazards and expected months lie in it (when asked for).
type encodedBody struct {
	bp    *[]byte
	b     []byte
	spans []outputSpan
}

// outputSpan locates one prediction's hazard array and expected months
// in an encoded body: [start, end) byte offsets.
type outputSpan struct{ hazard, expected [2]int }

// encodeResponse encodes resp into a pooled buffer, recording each
// prediction's outputs when spans is true. ok is false when resp cannot be
// written as JSON (a non-finite number).
func encodeResponse(resp *Response, spans []outputSpan) (encodedBody, bool) {
	bp := bufPool.Get().(*[]byte)
	b, spans, err := appendResponse((*bp)[:0], resp, spans)
	if err != nil {
		bufPool.Put(bp)
		return encodedBody{}, false
	}
	return encodedBody{bp: bp, b: append(b, '\n'), spans: spans}, true
}

// write answers 200 with the body and gives its buffer back to the pool.
func (e encodedBody) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(e.b)))
	w.WriteHeader(http.StatusOK)
	w.Write(e.b)
	if cap(e.b) <= 1<<20 { // do not keep a huge batch's buffer around
		*e.bp = e.b
		bufPool.Put(e.bp)
	}
}

// outputs returns what the prediction log keeps of prediction i, copied
// from the encoded body (so its floats are not formatted twice):
// {"hazard":[...],"expected_months":x}.
func (e encodedBody) outputs(i int) json.RawMessage {
	sp := e.spans[i]
	h, x := e.b[sp.hazard[0]:sp.hazard[1]], e.b[sp.expected[0]:sp.expected[1]]
	out := make([]byte, 0, len(h)+len(x)+32)
	out = append(out, `{"hazard":`...)
	out = append(out, h...)
	out = append(out, `,"expected_months":`...)
	out = append(out, x...)
	return append(out, '}')
}

// appendResponse appends resp as JSON; when spans is not nil, it also
// appends each prediction's outputSpan to it.
func appendResponse(b []byte, resp *Response, spans []outputSpan) ([]byte, []outputSpan, error) {
	b = append(b, `{"model":{"name":`...)
	b = appendString(b, resp.Model.Name)
	b = append(b, `,"version":`...)
	b = appendString(b, resp.Model.Version)
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
		if b, err = appendPrediction(b, &resp.Predictions[i], sp); err != nil {
			return nil, nil, err
		}
	}
	return append(b, "]}"...), spans, nil
}

// appendPrediction appends p; sp, when not nil, receives where its
// hazards and expected months are.
func appendPrediction(b []byte, p *caresignal.Prediction, sp *outputSpan) ([]byte, error) {
	var err error
	var mark outputSpan
	b = append(b, `{"patient_id":`...)
	b = appendString(b, p.PatientID)
	b = append(b, `,"hazard":`...)
	mark.hazard[0] = len(b)
	if b, err = appendFloats(b, p.Hazard); err != nil {
		return nil, err
	}
	mark.hazard[1] = len(b)
	b = append(b, `,"survival":`...)
	if b, err = appendFloats(b, p.Survival); err != nil {
		return nil, err
	}
	b = append(b, `,"expected_months":`...)
	mark.expected[0] = len(b)
	if b, err = appendFloat(b, p.ExpectedMonths); err != nil {
		return nil, err
	}
	mark.expected[1] = len(b)
	if sp != nil {
		*sp = mark
	}
	b = append(b, `,"median_months":`...)
	if p.MedianMonths == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(*p.MedianMonths), 10)
	}
	b = append(b, `,"explanation":`...)
	if p.Explanation == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Explanation {
			c := &p.Explanation[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"feature":`...)
			b = appendString(b, c.Feature)
			b = append(b, `,"value":`...)
			b = appendString(b, c.Value)
			b = append(b, `,"contribution":`...)
			if b, err = appendFloat(b, c.Contribution); err != nil {
				return nil, err
			}
			b = append(b, `,"text":`...)
			b = appendString(b, c.Text)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(p.Warnings) > 0 {
		b = append(b, `,"warnings":[`...)
		for i, w := range p.Warnings {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, w)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func appendFloats(b []byte, xs []float64) ([]byte, error) {
	if xs == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	var err error
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendFloat(b, x); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendFloat formats as encoding/json does: the shortest repr, in 'f'
// form between 1e-6 and 1e21, else 'e' with a two-digit exponent trimmed.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("json: unsupported value: %v", f)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does, HTML-safe: <, > and & are
// escaped, as are U+2028 and U+2029; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
