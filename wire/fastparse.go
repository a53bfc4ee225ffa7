package wire

import (
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// The scanner of the fast path: JSON tokens read in place, validated as
// they are read.

type fastParser struct {
	b     []byte
	i     int
	names map[string]string
	width int // the usual number of features, to size their map
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

// str reads a string without escapes or control characters (C0, DEL or
// C1), in valid UTF-8, of at most MaxStringBytes, and returns its bytes
// without the quotes.
func (p *fastParser) str() ([]byte, bool) {
	if !p.consume('"') {
		return nil, false
	}
	start := p.i
	ascii := true
	for ; p.i < len(p.b); p.i++ {
		c := p.b[p.i]
		switch strByte[c] {
		case strPlain:
		case strQuote:
			s := p.b[start:p.i]
			p.i++
			if len(s) > MaxStringBytes || !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case strRefuse:
			return nil, false
		case strUTF8:
			// U+0080–U+009F, the C1 controls, are 0xC2 0x80–0x9F.
			if c == 0xc2 && p.i+1 < len(p.b) && p.b[p.i+1] < 0xa0 {
				return nil, false
			}
			ascii = false
		}
	}
	return nil, false
}

// What a byte of a string is to str.
const (
	strPlain  = iota // printable ASCII
	strQuote         // the closing quote
	strRefuse        // an escape, a C0 control or DEL: for the slow path
	strUTF8          // a byte of a character beyond ASCII
)

var strByte = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c == '"':
			t[c] = strQuote
		case c == '\\' || c < 0x20 || c == 0x7f:
			t[c] = strRefuse
		case c >= utf8.RuneSelf:
			t[c] = strUTF8
		}
	}
	return t
}()

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
