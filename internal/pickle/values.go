// Package pickle decodes Python pickles (protocols 2 to 5) and joblib files
// without executing anything: a pickle is a program for a stack machine
// whose instructions may import any callable and call it, so this decoder
// resolves every import against an allow-list and refuses the rest, naming
// them. Allowed classes become inert *Object values holding their
// constructor arguments and state; a few allowed functions that build
// plain data (bytes, sets, numpy arrays and dtypes, numpy scalars) are
// evaluated by Go code of their own.
//
// Every allocation is bounded by the input actually present: a length
// field is checked against the bytes left before anything is allocated,
// so a small hostile file cannot make the decoder reserve memory it does
// not hold. Stack depth, memo size and decompressed size are bounded too.
package pickle

import (
	"fmt"
	"math/big"
)

// The decoded values are:
//
//	None          nil
//	bool, int64, *big.Int (integers past int64), float64
//	string        (str)
//	[]byte        (bytes and bytearray)
//	Tuple, *List, *Dict, *Set
//	*Global       a reference to an allowed class or function
//	*Object       an instance of an allowed class
//	*Array        a numpy array; *DType a numpy dtype

// Tuple is a Python tuple.
type Tuple []any

// List is a Python list; a pointer, because pickles build lists in place
// after sharing them through the memo.
type List struct{ Items []any }

// Dict is a Python dict with its keys in insertion order.
type Dict struct {
	Keys   []any
	Values []any
}

// Set is a Python set or frozenset.
type Set struct{ Items []any }

// Global names a module-level object: a class or a function.
type Global struct{ Module, Name string }

func (g *Global) String() string { return g.Module + "." + g.Name }

// Object is an instance of an allowed class: the arguments it was created
// with (NEWOBJ or REDUCE) and the state set on it (BUILD), usually a *Dict
// of its attributes.
type Object struct {
	Class  *Global
	Args   Tuple
	Kwargs *Dict
	State  any
}

// Get returns the value of a string key and whether it is there.
func (d *Dict) Get(key string) (any, bool) {
	if d == nil {
		return nil, false
	}
	for i, k := range d.Keys {
		if s, ok := k.(string); ok && s == key {
			return d.Values[i], true
		}
	}
	return nil, false
}

// set sets key to v, replacing an equal string or int key.
func (d *Dict) set(k, v any) {
	for i, old := range d.Keys {
		if keyEqual(old, k) {
			d.Values[i] = v
			return
		}
	}
	d.Keys = append(d.Keys, k)
	d.Values = append(d.Values, v)
}

func keyEqual(a, b any) bool {
	switch a := a.(type) {
	case string:
		b, ok := b.(string)
		return ok && a == b
	case int64:
		b, ok := b.(int64)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	}
	return false
}

// Attrs returns an object's attribute dict: its state when that is a dict,
// or the dict part of a (dict, slots) state tuple.
func (o *Object) Attrs() *Dict {
	switch s := o.State.(type) {
	case *Dict:
		return s
	case Tuple:
		if len(s) == 2 {
			if d, ok := s[0].(*Dict); ok {
				return d
			}
		}
	}
	return nil
}

// TypeName names a decoded value's Python type, for error messages.
func TypeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case Tuple:
		return "tuple"
	case *List:
		return "list"
	case *Dict:
		return "dict"
	case *Set:
		return "set"
	case *Global:
		return v.String()
	case *Object:
		return v.Class.String() + " object"
	case *Array:
		return "numpy array of " + v.DType.String()
	case *DType:
		return "numpy dtype"
	}
	return fmt.Sprintf("%T", v)
}
