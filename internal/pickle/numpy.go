package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DType is a numpy dtype: a kind ('f' float, 'i' signed and 'u' unsigned
// integer, 'b' bool, 'O' object, 'U' unicode, 'S' bytes, 'V' structured or
// raw), a byte order and an item size, and for a structured dtype its
// fields.
type DType struct {
	Kind      byte
	ByteOrder byte // '<', '>' or '|' (not applicable)
	ItemSize  int
	Names     []string
	Fields    map[string]Field
}

// Field is one field of a structured dtype.
type Field struct {
	DType  *DType
	Offset int
}

func (d *DType) String() string {
	if d == nil {
		return "unknown dtype"
	}
	if d.Names != nil {
		return fmt.Sprintf("structured dtype %v", d.Names)
	}
	return fmt.Sprintf("%c%c%d", d.ByteOrder, d.Kind, d.ItemSize)
}

// parseDType reads the type string numpy.dtype is called with: "f8",
// "<i4", "O8", "U5", "V64", "b1", "S3".
func parseDType(s string) (*DType, error) {
	d := &DType{ByteOrder: '<'}
	if s != "" && strings.ContainsRune("<>|=", rune(s[0])) {
		d.ByteOrder = s[0]
		s = s[1:]
	}
	if d.ByteOrder == '=' {
		d.ByteOrder = '<'
	}
	if s == "" {
		return nil, errors.New("empty dtype")
	}
	d.Kind = s[0]
	n, err := strconv.Atoi(s[1:])
	if s[1:] == "" {
		n, err = 0, nil
	}
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("dtype %q is not supported", s)
	}
	switch d.Kind {
	case 'f':
		if n != 2 && n != 4 && n != 8 {
			return nil, fmt.Errorf("dtype %q is not supported", s)
		}
	case 'i', 'u':
		if n != 1 && n != 2 && n != 4 && n != 8 {
			return nil, fmt.Errorf("dtype %q is not supported", s)
		}
	case 'b':
		n = 1
	case 'O':
		n = 8
	case 'U':
		n *= 4
	case 'S', 'V':
	default:
		return nil, fmt.Errorf("dtype %q is not supported", s)
	}
	if d.Kind == 'b' || d.Kind == 'O' || d.Kind == 'S' || d.Kind == 'V' || n == 1 {
		d.ByteOrder = '|'
	}
	d.ItemSize = n
	return d, nil
}

// setState applies a dtype's pickled state:
// (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata]).
func (d *DType) setState(state any) error {
	t, ok := state.(Tuple)
	if !ok || len(t) < 8 {
		return fmt.Errorf("dtype state is a %s, want an 8-tuple", TypeName(state))
	}
	if bo, ok := t[1].(string); ok && len(bo) == 1 {
		if bo == "=" {
			bo = "<"
		}
		d.ByteOrder = bo[0]
	}
	if t[2] != nil {
		return errors.New("numpy sub-array dtypes are not supported")
	}
	if es, ok := t[5].(int64); ok && es > 0 {
		if es > 1<<20 {
			return fmt.Errorf("dtype item size %d is too large", es)
		}
		d.ItemSize = int(es)
	}
	if t[3] == nil {
		return nil
	}
	names, ok := t[3].(Tuple)
	fields, ok2 := t[4].(*Dict)
	if !ok || !ok2 {
		return errors.New("structured dtype without names and fields")
	}
	d.Names = make([]string, len(names))
	d.Fields = make(map[string]Field, len(names))
	for i, n := range names {
		name, ok := n.(string)
		if !ok {
			return errors.New("structured dtype field name is not a string")
		}
		v, _ := fields.Get(name)
		ft, ok := v.(Tuple)
		if !ok || len(ft) < 2 {
			return fmt.Errorf("structured dtype field %q has no (dtype, offset)", name)
		}
		fd, ok := ft[0].(*DType)
		off, ok2 := ft[1].(int64)
		if !ok || !ok2 || off < 0 || fd.Names != nil || off+int64(fd.ItemSize) > int64(d.ItemSize) {
			return fmt.Errorf("structured dtype field %q is malformed", name)
		}
		d.Names[i] = name
		d.Fields[name] = Field{DType: fd, Offset: int(off)}
	}
	return nil
}

// Array is a numpy array in C (row-major) order: raw little- or big-endian
// items in Data, or Python objects in Objects for an object dtype.
type Array struct {
	DType   *DType
	Shape   []int
	Data    []byte
	Objects []any
}

// Len is the number of items.
func (a *Array) Len() int {
	n := 1
	for _, s := range a.Shape {
		n *= s
	}
	return n
}

// count multiplies a shape out, refusing negative sizes and overflow.
func count(shape []int) (int, error) {
	n := 1
	for _, s := range shape {
		if s < 0 {
			return 0, fmt.Errorf("negative array dimension %d", s)
		}
		if s != 0 && n > math.MaxInt32/s {
			return 0, fmt.Errorf("array shape %v is too large", shape)
		}
		n *= s
	}
	return n, nil
}

// shapeOf reads a shape tuple.
func shapeOf(v any) ([]int, error) {
	t, ok := v.(Tuple)
	if !ok {
		if n, ok := v.(int64); ok {
			t = Tuple{n}
		} else {
			return nil, fmt.Errorf("array shape is a %s", TypeName(v))
		}
	}
	shape := make([]int, len(t))
	for i, s := range t {
		n, ok := s.(int64)
		if !ok || n < 0 || n > math.MaxInt32 {
			return nil, fmt.Errorf("array shape %v is malformed", t)
		}
		shape[i] = int(n)
	}
	return shape, nil
}

// fill sets an array's contents from raw bytes or a list of objects, in
// order "C" or "F", checking that the sizes agree.
func (a *Array) fill(shape []int, dt *DType, data any, fortran bool) error {
	n, err := count(shape)
	if err != nil {
		return err
	}
	a.Shape, a.DType = shape, dt
	if dt.ItemSize <= 0 && dt.Kind != 'O' {
		return fmt.Errorf("arrays of %s (zero item size) are not supported", dt)
	}
	if dt.Kind == 'O' {
		var items []any
		switch d := data.(type) {
		case *List:
			items = d.Items
		case Tuple:
			items = d
		default:
			return fmt.Errorf("object array data is a %s, want a list", TypeName(data))
		}
		if len(items) != n {
			return fmt.Errorf("object array of shape %v holds %d items", shape, len(items))
		}
		a.Objects = items
		if fortran && len(shape) > 1 {
			a.Objects = transpose(items, shape, 1)
		}
		return nil
	}
	raw, ok := data.([]byte)
	if !ok {
		if s, isStr := data.(string); isStr {
			raw = latin1(s) // a Python 2 str
		} else {
			return fmt.Errorf("array data is a %s, want bytes", TypeName(data))
		}
	}
	if len(raw) != n*dt.ItemSize {
		return fmt.Errorf("array of shape %v and %s needs %d bytes, has %d", shape, dt, n*dt.ItemSize, len(raw))
	}
	a.Data = raw
	if fortran && len(shape) > 1 {
		a.Data = transposeBytes(raw, shape, dt.ItemSize)
	}
	return nil
}

// transpose reorders column-major items to row-major.
func transpose[T any](items []T, shape []int, size int) []T {
	out := make([]T, len(items))
	n := len(items) / size
	idx := make([]int, len(shape))
	for k := range n {
		// k is the column-major position: its index in reversed shape
		// order, read as row-major, is the row-major position.
		rem := k
		for i := range shape {
			idx[i] = rem % shape[i]
			rem /= shape[i]
		}
		pos := 0
		for i := range shape {
			pos = pos*shape[i] + idx[i]
		}
		copy(out[pos*size:(pos+1)*size], items[k*size:(k+1)*size])
	}
	return out
}

func transposeBytes(raw []byte, shape []int, size int) []byte { return transpose(raw, shape, size) }

// Float64s returns the items as float64, converting numbers and bools.
func (a *Array) Float64s() ([]float64, error) {
	dt := a.DType
	if dt.Kind == 'O' {
		out := make([]float64, len(a.Objects))
		for i, o := range a.Objects {
			switch v := o.(type) {
			case float64:
				out[i] = v
			case int64:
				out[i] = float64(v)
			case bool:
				out[i] = b2f(v)
			case nil:
				out[i] = math.NaN()
			default:
				return nil, fmt.Errorf("object array item %d is a %s, not a number", i, TypeName(o))
			}
		}
		return out, nil
	}
	n := len(a.Data) / max(dt.ItemSize, 1)
	out := make([]float64, n)
	for i := range out {
		v, err := number(dt, a.Data[i*dt.ItemSize:(i+1)*dt.ItemSize])
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Int64s returns integer or bool items as int64.
func (a *Array) Int64s() ([]int64, error) {
	dt := a.DType
	if dt.Kind != 'i' && dt.Kind != 'u' && dt.Kind != 'b' {
		if dt.Kind == 'O' {
			out := make([]int64, len(a.Objects))
			for i, o := range a.Objects {
				v, ok := o.(int64)
				if !ok {
					return nil, fmt.Errorf("object array item %d is a %s, not an int", i, TypeName(o))
				}
				out[i] = v
			}
			return out, nil
		}
		return nil, fmt.Errorf("a %s array does not hold integers", dt)
	}
	n := len(a.Data) / dt.ItemSize
	out := make([]int64, n)
	for i := range out {
		out[i] = integer(dt, a.Data[i*dt.ItemSize:(i+1)*dt.ItemSize])
	}
	return out, nil
}

// Strings returns the items of an object array of strings or a fixed-width
// unicode array.
func (a *Array) Strings() ([]string, error) {
	switch a.DType.Kind {
	case 'O':
		out := make([]string, len(a.Objects))
		for i, o := range a.Objects {
			s, ok := o.(string)
			if !ok {
				return nil, fmt.Errorf("object array item %d is a %s, not a str", i, TypeName(o))
			}
			out[i] = s
		}
		return out, nil
	case 'U':
		size := a.DType.ItemSize
		out := make([]string, len(a.Data)/max(size, 1))
		order := byteOrder(a.DType)
		for i := range out {
			var b strings.Builder
			item := a.Data[i*size : (i+1)*size]
			for j := 0; j+4 <= len(item); j += 4 {
				r := rune(order.Uint32(item[j:]))
				if r == 0 {
					break
				}
				if !utf8.ValidRune(r) {
					return nil, fmt.Errorf("unicode array item %d is not valid text", i)
				}
				b.WriteRune(r)
			}
			out[i] = b.String()
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %s array does not hold strings", a.DType)
}

// Field returns one field of a structured array as an array of its own.
func (a *Array) Field(name string) (*Array, error) {
	f, ok := a.DType.Fields[name]
	if !ok || a.DType.ItemSize <= 0 {
		return nil, fmt.Errorf("structured array has no field %q (fields: %v)", name, a.DType.Names)
	}
	size := f.DType.ItemSize
	n := len(a.Data) / a.DType.ItemSize
	data := make([]byte, 0, n*size)
	for i := range n {
		off := i*a.DType.ItemSize + f.Offset
		data = append(data, a.Data[off:off+size]...)
	}
	return &Array{DType: f.DType, Shape: []int{n}, Data: data}, nil
}

func byteOrder(d *DType) binary.ByteOrder {
	if d.ByteOrder == '>' {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func number(d *DType, b []byte) (float64, error) {
	o := byteOrder(d)
	switch d.Kind {
	case 'f':
		switch d.ItemSize {
		case 8:
			return math.Float64frombits(o.Uint64(b)), nil
		case 4:
			return float64(math.Float32frombits(o.Uint32(b))), nil
		case 2:
			return half(o.Uint16(b)), nil
		}
	case 'i', 'u', 'b':
		v := integer(d, b)
		if d.Kind == 'u' && d.ItemSize == 8 {
			return float64(uint64(v)), nil
		}
		return float64(v), nil
	}
	return 0, fmt.Errorf("a %s array does not hold numbers", d)
}

func integer(d *DType, b []byte) int64 {
	o := byteOrder(d)
	signed := d.Kind == 'i'
	switch d.ItemSize {
	case 1:
		if signed {
			return int64(int8(b[0]))
		}
		return int64(b[0])
	case 2:
		if signed {
			return int64(int16(o.Uint16(b)))
		}
		return int64(o.Uint16(b))
	case 4:
		if signed {
			return int64(int32(o.Uint32(b)))
		}
		return int64(o.Uint32(b))
	}
	return int64(o.Uint64(b))
}

// half converts an IEEE 754 binary16 value.
func half(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// latin1 encodes a string's code points (all below 256) as bytes, as
// Python's str.encode("latin1") does.
func latin1(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		out = append(out, byte(r))
	}
	return out
}

// scalar evaluates numpy.core.multiarray.scalar(dtype, data): a numpy
// scalar as a plain Go value.
func scalar(dt *DType, data any) (any, error) {
	if dt.Kind == 'O' {
		return data, nil
	}
	raw, ok := data.([]byte)
	if !ok {
		s, isStr := data.(string)
		if !isStr {
			return nil, fmt.Errorf("numpy scalar data is a %s", TypeName(data))
		}
		raw = latin1(s)
	}
	if len(raw) != dt.ItemSize {
		return nil, fmt.Errorf("numpy scalar of %s has %d bytes", dt, len(raw))
	}
	switch dt.Kind {
	case 'b':
		return raw[0] != 0, nil
	case 'i', 'u':
		return integer(dt, raw), nil
	case 'f':
		return number(dt, raw)
	case 'U':
		a := &Array{DType: dt, Shape: []int{1}, Data: raw}
		s, err := a.Strings()
		if err != nil {
			return nil, err
		}
		return s[0], nil
	}
	return nil, fmt.Errorf("numpy scalars of %s are not supported", dt)
}
