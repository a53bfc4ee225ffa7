package wire

import (
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/caresignal/caresignal"
)

// fastDecode is DecodeRequest's path for well-formed requests: one pass
// over the body that validates as it goes, with no allocation for the
// names and labels the server knows (k may be nil).
//
// It reports ok=false for anything it does not accept — invalid JSON, an
// unknown, empty or repeated key, a string with an escape or invalid
// UTF-8, a value of the wrong type, a number out of range, too many or no
// instances — and DecodeRequest then decodes the body the slow way, which
// names the problem. Whatever it accepts, the slow path accepts with the
// same instances and raws (FuzzFastDecode holds the two together), so it
// decides nothing on its own.
func fastDecode(body []byte, k *Known) (insts []caresignal.Instance, raws [][]byte, batch bool, ok bool) {
	p := fastParser{b: body, width: 16}
	if k != nil {
		p.names, p.width = k.names, max(1, k.features)
	}
	var one fastInstance
	p.space()
	ok = p.object(func(key []byte) bool {
		if string(key) != "instances" {
			return !batch && p.field(&one, key)
		}
		if batch || one.seen != 0 {
			return false
		}
		batch = true
		insts, raws, ok = p.instances()
		return ok
	})
	p.space()
	if !ok || p.i != len(p.b) {
		return nil, nil, false, false
	}
	if batch {
		return insts, raws, true, true
	}
	if !one.done() {
		return nil, nil, false, false
	}
	return []caresignal.Instance{one.inst}, [][]byte{body}, false, true
}

type fastParser struct {
	b     []byte
	i     int
	names map[string]string
	width int // the usual number of features, to size their map
}

// fastInstance is one patient being read: which fields were seen (bits
// 1, 2, 4, 8 for patient_id, features, months_enrolled, horizon).
type fastInstance struct {
	seen uint8
	inst caresignal.Instance
}

const (
	seenPatientID uint8 = 1 << iota
	seenFeatures
	seenMonths
	seenHorizon
)

// done fills the defaults and reports whether the instance is complete.
func (f *fastInstance) done() bool {
	if f.seen&seenFeatures == 0 {
		return false
	}
	if f.seen&seenHorizon == 0 {
		f.inst.Horizon = caresignal.DefaultHorizon
	}
	return true
}

func (p *fastParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) consume(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// literal consumes word (null, true, false) if it is next.
func (p *fastParser) literal(word string) bool {
	if len(p.b)-p.i >= len(word) && string(p.b[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

// object reads an object, calling value with each key once the parser
// stands at the key's value; value reads the value, or reports false.
func (p *fastParser) object(value func(key []byte) bool) bool {
	if !p.consume('{') {
		return false
	}
	p.space()
	if p.consume('}') {
		return true
	}
	for {
		p.space()
		key, ok := p.str()
		if !ok {
			return false
		}
		p.space()
		if !p.consume(':') {
			return false
		}
		p.space()
		if !value(key) {
			return false
		}
		p.space()
		if !p.consume(',') {
			return p.consume('}')
		}
	}
}

// str reads a string without escapes or control characters, in valid
// UTF-8, and returns its bytes without the quotes.
func (p *fastParser) str() ([]byte, bool) {
	if !p.consume('"') {
		return nil, false
	}
	start := p.i
	ascii := true
	for ; p.i < len(p.b); p.i++ {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// intern returns s as a string, without allocating when it is a name the
// server knows.
func (p *fastParser) intern(s []byte) string {
	if name, ok := p.names[string(s)]; ok {
		return name
	}
	return string(s)
}

// number reads a JSON number and its value: finite, as strconv.ParseFloat
// gives it.
func (p *fastParser) number() (float64, bool) {
	b, start := p.b, p.i
	i := start
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	digits := i
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	simple := i-digits <= 15 // an integer this short is exact in a float64
	if i < len(b) && b[i] == '.' {
		simple = false
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		simple = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	p.i = i
	if simple {
		n := 0
		for _, c := range b[digits:i] {
			n = n*10 + int(c-'0')
		}
		x := float64(n)
		if neg {
			x = -x
		}
		return x, true
	}
	// The string shares the body's bytes, which nothing writes to while
	// the request is decoded; ParseFloat keeps it only in its error.
	x, err := strconv.ParseFloat(unsafe.String(&b[start], i-start), 64)
	if err != nil || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

// whole reads an integer field in [lo, hi] (null: absent).
func (p *fastParser) whole(lo, hi int) (n int, isNull, ok bool) {
	if p.literal("null") {
		return 0, true, true
	}
	x, ok := p.number()
	if !ok || x != math.Trunc(x) || x < float64(lo) || x > float64(hi) {
		return 0, false, false
	}
	return int(x), false, true
}

// field reads the value of one patient field.
func (p *fastParser) field(f *fastInstance, key []byte) bool {
	var bit uint8
	switch string(key) {
	case "patient_id":
		bit = seenPatientID
		if !p.literal("null") {
			id, ok := p.str()
			if !ok || len(id) > MaxPatientIDBytes {
				return false
			}
			f.inst.PatientID = string(id)
		}
	case "features":
		bit = seenFeatures
		if !p.features(&f.inst) {
			return false
		}
	case "months_enrolled":
		bit = seenMonths
		n, _, ok := p.whole(0, caresignal.MaxMonthsEnrolled)
		if !ok {
			return false
		}
		f.inst.MonthsEnrolled = n
	case "horizon":
		bit = seenHorizon
		n, isNull, ok := p.whole(1, caresignal.MaxHorizon)
		if !ok {
			return false
		}
		if isNull {
			n = caresignal.DefaultHorizon
		}
		f.inst.Horizon = n
	default:
		return false
	}
	if f.seen&bit != 0 {
		return false
	}
	f.seen |= bit
	return true
}

// features reads the features object: names to numbers, strings or null.
func (p *fastParser) features(inst *caresignal.Instance) bool {
	inst.Features = make(map[string]caresignal.Value, p.width)
	return p.object(func(key []byte) bool {
		if len(key) == 0 {
			return false
		}
		if _, dup := inst.Features[string(key)]; dup {
			return false
		}
		var v caresignal.Value
		switch {
		case p.i >= len(p.b):
			return false
		case p.b[p.i] == '"':
			s, ok := p.str()
			if !ok {
				return false
			}
			v = caresignal.Str(p.intern(s))
		case p.literal("null"):
			v = caresignal.NullValue()
		default:
			x, ok := p.number()
			if !ok {
				return false
			}
			v = caresignal.Num(x)
		}
		inst.Features[p.intern(key)] = v
		return true
	})
}

// instances reads the batch array: 1 to MaxInstances patient objects.
func (p *fastParser) instances() ([]caresignal.Instance, [][]byte, bool) {
	if !p.consume('[') {
		return nil, nil, false
	}
	var insts []caresignal.Instance
	var raws [][]byte
	for {
		p.space()
		start := p.i
		var f fastInstance
		if !p.object(func(key []byte) bool { return p.field(&f, key) }) || !f.done() || len(insts) == caresignal.MaxInstances {
			return nil, nil, false
		}
		if insts == nil {
			// Guess the batch size from the first patient's length.
			n := min(caresignal.MaxInstances, max(1, len(p.b)/max(1, p.i-start)))
			insts = make([]caresignal.Instance, 0, n)
			raws = make([][]byte, 0, n)
		}
		insts = append(insts, f.inst)
		raws = append(raws, p.b[start:p.i])
		p.space()
		if !p.consume(',') {
			return insts, raws, p.consume(']')
		}
	}
}
