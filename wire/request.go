package wire

import "github.com/caresignal/caresignal"

// Request is a decoded POST /api/engagement body.
type Request struct {
	Instances []caresignal.Instance
	// Raws holds each instance's JSON as received (slices of the body),
	// which the prediction log keeps.
	Raws [][]byte
	// Batch says the body used "instances", so that errors name
	// "instances[i].…".
	Batch bool
	// Fields are the outputs the request asks for ("outputs"); zero: all.
	Fields Fields
}

// DecodeRequest parses a POST /api/engagement body: one patient, or
// {"instances": [...]}. Keys must match exactly and appear once; anything
// else is an error. Errors are *caresignal.Error naming the field as a
// path ("instances[2].features.age"). k says what names to expect (nil:
// nothing known); it only saves allocations.
//
// A well-formed request takes fastDecode's single pass; anything else is
// decoded again by slowDecode, which names what is wrong. The two accept
// the same bodies with the same results (FuzzFastDecode).
func DecodeRequest(body []byte, k *Known) (Request, error) {
	if req, ok := fastDecode(body, k); ok {
		return req, nil
	}
	return slowDecode(body)
}

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
func fastDecode(body []byte, k *Known) (req Request, ok bool) {
	p := fastParser{b: body, width: 16}
	if k != nil {
		p.names, p.width = k.names, max(1, k.features)
	}
	var one fastInstance
	p.space()
	ok = p.object(func(key []byte) bool {
		switch string(key) {
		case "outputs":
			if req.Fields != 0 {
				return false
			}
			req.Fields, ok = p.outputs()
			return ok
		case "instances":
			if req.Batch || one.seen != 0 {
				return false
			}
			req.Batch = true
			req.Instances, req.Raws, ok = p.instances()
			return ok
		}
		return !req.Batch && p.field(&one, key)
	})
	p.space()
	if !ok || p.i != len(p.b) {
		return Request{}, false
	}
	if !req.Batch {
		if !one.done() {
			return Request{}, false
		}
		req.Instances, req.Raws = []caresignal.Instance{one.inst}, [][]byte{body}
	}
	return req, true
}

// fastInstance is one patient being read: which fields were seen (bits
// 1, 2, 4, 8, 16 for patient_id, features, months_enrolled, horizon,
// days_elapsed).
type fastInstance struct {
	seen uint8
	inst caresignal.Instance
}

const (
	seenPatientID uint8 = 1 << iota
	seenFeatures
	seenMonths
	seenHorizon
	seenDays
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
	case "days_elapsed":
		bit = seenDays
		n, _, ok := p.whole(0, caresignal.MonthDays-1)
		if !ok {
			return false
		}
		f.inst.DaysElapsed = n
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
