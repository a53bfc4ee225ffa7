package wire

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/caresignal/caresignal"
)

// MaxStringBytes bounds every string a request holds other than a patient
// id (MaxPatientIDBytes): a feature name, a category, and the names and
// ids of the Open Inference Protocol and MLflow requests. The models'
// feature names and levels are a few dozen bytes at most; a longer string
// is a mistake or an attack, and would be echoed in warnings and kept in
// the prediction log.
const MaxStringBytes = 200

// The text the API accepts: every string of a request, keys included,
// must be valid UTF-8 (a \u escape of half a surrogate pair is not) and
// hold no control character, raw or escaped: neither the C0 controls
// U+0000–U+001F and U+007F nor the C1 controls U+0080–U+009F, the
// characters Unicode classes as controls. No name, category or patient id
// needs one, PostgreSQL refuses U+0000 and invalid UTF-8 (the prediction
// log would have to set the record aside), and terminals act on both sets.

// TextProblem says what is wrong with s, a string already decoded (a web
// form's field), as text the API accepts, or "" when nothing is: the same
// rules as the JSON strings of a request, at most MaxStringBytes.
func TextProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case len(s) > MaxStringBytes:
		return fmt.Sprintf("is longer than %d bytes", MaxStringBytes)
	}
	for _, r := range s {
		if isControl(r) {
			return fmt.Sprintf("holds a control character (U+%04X)", r)
		}
	}
	return ""
}

// isControl reports whether r is a control character (Unicode's Cc).
func isControl(r rune) bool { return r < 0x20 || r >= 0x7f && r <= 0x9f }

// textProblem says what is wrong with the JSON string literal lit
// (quotes included, valid JSON) as text the API accepts, or "" when
// nothing is: it must be valid UTF-8, hold no control character and
// decode to at most limit bytes.
func textProblem(lit []byte, limit int) string {
	s := lit[1 : len(lit)-1]
	n := 0 // bytes decoded
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			var r rune
			switch s[i+1] {
			case 'u':
				r = hex4(s[i+2:])
				i += 6
				if r >= 0xd800 && r < 0xe000 {
					// Half of a surrogate pair: only a high half
					// followed by a low half is a character.
					if r >= 0xdc00 || i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
						return "is not valid UTF-8 (it holds half of a surrogate pair)"
					}
					lo := hex4(s[i+2:])
					if lo < 0xdc00 || lo >= 0xe000 {
						return "is not valid UTF-8 (it holds half of a surrogate pair)"
					}
					r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
					i += 6
				}
			case 'b':
				r, i = '\b', i+2
			case 'f':
				r, i = '\f', i+2
			case 'n':
				r, i = '\n', i+2
			case 'r':
				r, i = '\r', i+2
			case 't':
				r, i = '\t', i+2
			default: // " \ /
				r = rune(s[i+1])
				i += 2
			}
			if isControl(r) {
				return "holds a control character (" + codePoint(r) + ")"
			}
			n += utf8.RuneLen(r)
		case c < utf8.RuneSelf:
			if isControl(rune(c)) {
				return "holds a control character (" + codePoint(rune(c)) + ")"
			}
			i++
			n++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				return "is not valid UTF-8"
			}
			if isControl(r) {
				return "holds a control character (" + codePoint(r) + ")"
			}
			i += size
			n += size
		}
	}
	if n > limit {
		return "is longer than " + strconv.Itoa(limit) + " bytes"
	}
	return ""
}

// hex4 reads the four hex digits of a \u escape (valid JSON).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// codePoint writes r as U+XXXX.
func codePoint(r rune) string { return fmt.Sprintf("U+%04X", r) }

// checkStrings checks every string of the valid JSON value raw, keys
// included (eachField checks those), and names the first that is not
// text the API accepts by its path; where is raw's own path ("" for the
// body). A patient_id is bounded by MaxPatientIDBytes, any other string by
// MaxStringBytes.
func checkStrings(raw []byte, where string) error {
	i := skipSpace(raw, 0)
	if i >= len(raw) {
		return nil
	}
	switch raw[i] {
	case '"':
		limit := MaxStringBytes
		if where == "patient_id" || len(where) > len(".patient_id") && where[len(where)-len(".patient_id"):] == ".patient_id" {
			limit = MaxPatientIDBytes
		}
		if p := textProblem(raw[i:skipString(raw, i)], limit); p != "" {
			name := where
			if name == "" {
				name = "the request body"
			}
			return caresignal.Invalidf(where, "%s %s", name, p)
		}
	case '{':
		return eachField(raw[i:], where, func(key string, val []byte) error {
			return checkStrings(val, join(where, key))
		})
	case '[':
		for k, e := range elements(raw[i:], nil) {
			if err := checkStrings(e, where+"["+strconv.Itoa(k)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}
