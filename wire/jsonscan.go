package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/caresignal/caresignal"
)

// A scanner of valid JSON that hands out raw values, so that each error
// can name its field exactly and the log can keep what was received.

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
		name := where
		if name == "" {
			name = "the request body"
		}
		if p := textProblem(raw[i:end], MaxStringBytes); p != "" {
			return caresignal.Invalidf(where, "%s has a key that %s", name, p)
		}
		key := unquote(raw[i:end])
		if key == "" {
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
