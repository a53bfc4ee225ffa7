package pickle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Options configure Decode.
type Options struct {
	// Classes are the classes, as "module.Name", whose instances may be
	// created; they become *Object values. Anything else a pickle imports
	// must be one of the built-in data constructors (see functions) or a
	// type in Types, or decoding stops with a *RefusedError.
	Classes map[string]bool
	// Types are classes that may appear as values (a dtype parameter such
	// as numpy.float64) but may not be instantiated.
	Types map[string]bool
	// MaxDepth bounds the nesting of marks (tuples, lists and dicts built
	// from marked items); default 1,000.
	MaxDepth int
}

// RefusedError is returned when a pickle imports something not allowed.
type RefusedError struct{ Global string }

func (e *RefusedError) Error() string {
	return "refused: the pickle imports " + e.Global + ", which is not on the allow-list of classes this decoder builds"
}

// functions are the callables a pickle may call, evaluated by Go code that
// only builds data.
var functions = map[string]bool{
	"_codecs.encode":                        true,
	"copyreg._reconstructor":                true,
	"builtins.set":                          true,
	"builtins.frozenset":                    true,
	"builtins.bytearray":                    true,
	"builtins.slice":                        true,
	"builtins.bytes":                        true,
	"collections.OrderedDict":               true,
	"numpy.dtype":                           true,
	"numpy.core.multiarray._reconstruct":    true,
	"numpy.core.multiarray.scalar":          true,
	"numpy.core.numeric._frombuffer":        true,
	"numpy._core.multiarray._reconstruct":   true,
	"numpy._core.multiarray.scalar":         true,
	"numpy._core.numeric._frombuffer":       true,
	"joblib.numpy_pickle.NumpyArrayWrapper": true,
}

// types are always allowed as values.
var types = map[string]bool{
	"numpy.ndarray": true, "builtins.object": true,
	"numpy.float64": true, "numpy.float32": true, "numpy.int64": true, "numpy.int32": true,
	"numpy.uint8": true, "numpy.bool_": true, "numpy.object_": true, "numpy.str_": true,
	"builtins.float": true, "builtins.int": true, "builtins.str": true, "builtins.bool": true, "builtins.object_": true,
}

// Decode decodes one pickle from data and returns its value. Trailing
// bytes after the STOP opcode are an error.
func Decode(data []byte, opt Options) (any, error) {
	d := newDecoder(data, opt)
	v, err := d.run()
	if err != nil {
		return nil, err
	}
	if d.pos != len(data) {
		return nil, fmt.Errorf("pickle: %d bytes after the end of the pickle", len(data)-d.pos)
	}
	return v, nil
}

type decoder struct {
	data  []byte
	pos   int
	opt   Options
	stack []any
	marks []int
	memo  map[int]any
	// nested counts the pickles decoded inside this one (joblib object
	// arrays), to bound recursion.
	nested int
}

func newDecoder(data []byte, opt Options) *decoder {
	if opt.MaxDepth <= 0 {
		opt.MaxDepth = 1000
	}
	return &decoder{data: data, opt: opt, memo: map[int]any{}}
}

func (d *decoder) fail(format string, args ...any) error {
	return fmt.Errorf("pickle: at byte %d: %s", d.pos, fmt.Sprintf(format, args...))
}

// take returns the next n bytes, refusing a length the input does not hold
// before anything is allocated.
func (d *decoder) take(n uint64) ([]byte, error) {
	if n > uint64(len(d.data)-d.pos) {
		return nil, d.fail("a length of %d bytes, but only %d remain: the file is truncated or corrupt", n, len(d.data)-d.pos)
	}
	b := d.data[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b, nil
}

func (d *decoder) byte1() (byte, error) {
	b, err := d.take(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (d *decoder) uint(n int) (uint64, error) {
	b, err := d.take(uint64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

func (d *decoder) line() (string, error) {
	i := bytes.IndexByte(d.data[d.pos:], '\n')
	if i < 0 {
		return "", d.fail("unterminated line")
	}
	s := string(d.data[d.pos : d.pos+i])
	d.pos += i + 1
	return s, nil
}

func (d *decoder) push(v any) { d.stack = append(d.stack, v) }

func (d *decoder) pop() (any, error) {
	if len(d.stack) == 0 || (len(d.marks) > 0 && len(d.stack) <= d.marks[len(d.marks)-1]) {
		return nil, d.fail("stack underflow")
	}
	v := d.stack[len(d.stack)-1]
	d.stack = d.stack[:len(d.stack)-1]
	return v, nil
}

func (d *decoder) top() (any, error) {
	if len(d.stack) == 0 {
		return nil, d.fail("stack underflow")
	}
	return d.stack[len(d.stack)-1], nil
}

// popN pops the top n items, in the order they were pushed.
func (d *decoder) popN(n int) ([]any, error) {
	floor := 0
	if len(d.marks) > 0 {
		floor = d.marks[len(d.marks)-1]
	}
	if len(d.stack)-n < floor {
		return nil, d.fail("stack underflow")
	}
	items := append([]any(nil), d.stack[len(d.stack)-n:]...)
	d.stack = d.stack[:len(d.stack)-n]
	return items, nil
}

// argWidth is the width in bytes of the little-endian count or index that
// follows a length-prefixed or memo opcode.
var argWidth = [256]int{
	'X': 4, 0x8c: 1, 0x8d: 8, // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
	'B': 4, 'C': 1, 0x8e: 8, 0x96: 8, // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
	'T': 4, 'U': 1, // BINSTRING, SHORT_BINSTRING
	0x8a: 1, 0x8b: 4, // LONG1, LONG4
	'q': 1, 'r': 4, 'h': 1, 'j': 4, // BINPUT, LONG_BINPUT, BINGET, LONG_BINGET
}

// counted reads the length that follows op and then that many bytes.
func (d *decoder) counted(op byte) ([]byte, error) {
	n, err := d.uint(argWidth[op])
	if err != nil {
		return nil, err
	}
	return d.take(n)
}

// popMark pops the items pushed since the last MARK.
func (d *decoder) popMark() ([]any, error) {
	if len(d.marks) == 0 {
		return nil, d.fail("no MARK to pop to")
	}
	m := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	items := append([]any(nil), d.stack[m:]...)
	d.stack = d.stack[:m]
	return items, nil
}

func (d *decoder) run() (any, error) {
	for {
		op, err := d.byte1()
		if err != nil {
			return nil, d.fail("the pickle ends without a STOP opcode")
		}
		if op == '.' { // STOP
			if len(d.stack) != 1 || len(d.marks) != 0 {
				return nil, d.fail("STOP with %d values on the stack", len(d.stack))
			}
			return d.stack[0], nil
		}
		if err := d.step(op); err != nil {
			return nil, err
		}
	}
}

func (d *decoder) step(op byte) error {
	switch op {
	case 0x80: // PROTO
		v, err := d.byte1()
		if err != nil {
			return err
		}
		if v > 5 {
			return d.fail("pickle protocol %d is not supported (at most 5)", v)
		}
	case 0x95: // FRAME: frames only group opcodes; check the length
		n, err := d.uint(8)
		if err != nil {
			return err
		}
		if n > uint64(len(d.data)-d.pos) {
			return d.fail("a frame of %d bytes, but only %d remain: the file is truncated or corrupt", n, len(d.data)-d.pos)
		}
	case '(': // MARK
		if len(d.marks) >= d.opt.MaxDepth {
			return d.fail("nesting deeper than %d levels", d.opt.MaxDepth)
		}
		d.marks = append(d.marks, len(d.stack))
	case '0': // POP
		if len(d.marks) > 0 && len(d.stack) == d.marks[len(d.marks)-1] {
			_, err := d.popMark()
			return err
		}
		_, err := d.pop()
		return err
	case '1': // POP_MARK
		_, err := d.popMark()
		return err
	case '2': // DUP
		v, err := d.top()
		if err != nil {
			return err
		}
		d.push(v)
	case 'N':
		d.push(nil)
	case 0x88:
		d.push(true)
	case 0x89:
		d.push(false)
	case 'J': // BININT
		v, err := d.uint(4)
		if err != nil {
			return err
		}
		d.push(int64(int32(uint32(v))))
	case 'K': // BININT1
		v, err := d.uint(1)
		if err != nil {
			return err
		}
		d.push(int64(v))
	case 'M': // BININT2
		v, err := d.uint(2)
		if err != nil {
			return err
		}
		d.push(int64(v))
	case 0x8a, 0x8b: // LONG1, LONG4
		b, err := d.counted(op)
		if err != nil {
			return err
		}
		d.push(decodeLong(b))
	case 'I': // INT (text)
		s, err := d.line()
		if err != nil {
			return err
		}
		switch s {
		case "01":
			d.push(true)
		case "00":
			d.push(false)
		default:
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return d.fail("bad INT %q", s)
			}
			d.push(v)
		}
	case 'L': // LONG (text)
		s, err := d.line()
		if err != nil {
			return err
		}
		v, ok := new(big.Int).SetString(strings.TrimSuffix(s, "L"), 10)
		if !ok {
			return d.fail("bad LONG %q", s)
		}
		d.push(normalise(v))
	case 'G': // BINFLOAT, big-endian
		b, err := d.take(8)
		if err != nil {
			return err
		}
		d.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'F': // FLOAT (text)
		s, err := d.line()
		if err != nil {
			return err
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return d.fail("bad FLOAT %q", s)
		}
		d.push(v)
	case 'X', 0x8c, 0x8d, 'T', 'U': // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8; BINSTRING, SHORT_BINSTRING (Python 2 str)
		b, err := d.counted(op)
		if err != nil {
			return err
		}
		d.push(string(b))
	case 'B', 'C', 0x8e, 0x96: // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
		b, err := d.counted(op)
		if err != nil {
			return err
		}
		d.push(b)
	case 0x98: // READONLY_BUFFER: no-op on an in-band buffer
	case ')':
		d.push(Tuple{})
	case 0x85, 0x86, 0x87: // TUPLE1..3
		items, err := d.popN(int(op - 0x84))
		if err != nil {
			return err
		}
		d.push(Tuple(items))
	case 't': // TUPLE
		items, err := d.popMark()
		if err != nil {
			return err
		}
		d.push(Tuple(items))
	case ']':
		d.push(&List{})
	case 'l': // LIST
		items, err := d.popMark()
		if err != nil {
			return err
		}
		d.push(&List{Items: items})
	case 'a': // APPEND
		v, err := d.pop()
		if err != nil {
			return err
		}
		return d.extend([]any{v})
	case 'e': // APPENDS
		items, err := d.popMark()
		if err != nil {
			return err
		}
		return d.extend(items)
	case '}':
		d.push(&Dict{})
	case 'd': // DICT
		items, err := d.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return d.fail("DICT with an odd number of items")
		}
		m := &Dict{}
		for i := 0; i < len(items); i += 2 {
			m.set(items[i], items[i+1])
		}
		d.push(m)
	case 's': // SETITEM
		kv, err := d.popN(2)
		if err != nil {
			return err
		}
		return d.setItems(kv)
	case 'u': // SETITEMS
		items, err := d.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return d.fail("SETITEMS with an odd number of items")
		}
		return d.setItems(items)
	case 0x8f:
		d.push(&Set{})
	case 0x90: // ADDITEMS
		items, err := d.popMark()
		if err != nil {
			return err
		}
		t, err := d.top()
		if err != nil {
			return err
		}
		s, ok := t.(*Set)
		if !ok {
			return d.fail("ADDITEMS to a %s", TypeName(t))
		}
		s.Items = append(s.Items, items...)
	case 0x91: // FROZENSET
		items, err := d.popMark()
		if err != nil {
			return err
		}
		d.push(&Set{Items: items})
	case 'p': // PUT (text)
		s, err := d.line()
		if err != nil {
			return err
		}
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 {
			return d.fail("bad PUT %q", s)
		}
		return d.put(i)
	case 'q', 'r': // BINPUT, LONG_BINPUT
		i, err := d.uint(argWidth[op])
		if err != nil {
			return err
		}
		return d.put(int(i))
	case 0x94: // MEMOIZE
		return d.put(len(d.memo))
	case 'g': // GET (text)
		s, err := d.line()
		if err != nil {
			return err
		}
		i, err := strconv.Atoi(s)
		if err != nil {
			return d.fail("bad GET %q", s)
		}
		return d.get(i)
	case 'h', 'j': // BINGET, LONG_BINGET
		i, err := d.uint(argWidth[op])
		if err != nil {
			return err
		}
		return d.get(int(i))
	case 'c': // GLOBAL
		mod, err := d.line()
		if err != nil {
			return err
		}
		name, err := d.line()
		if err != nil {
			return err
		}
		return d.global(mod, name)
	case 0x93: // STACK_GLOBAL
		mn, err := d.popN(2)
		if err != nil {
			return err
		}
		ms, ok1 := mn[0].(string)
		ns, ok2 := mn[1].(string)
		if !ok1 || !ok2 {
			return d.fail("STACK_GLOBAL with a %s and a %s", TypeName(mn[0]), TypeName(mn[1]))
		}
		return d.global(ms, ns)
	case 'R', 0x81, 0x92: // REDUCE, NEWOBJ, NEWOBJ_EX: callable, args[, kwargs]
		n := 2
		if op == 0x92 {
			n = 3
		}
		items, err := d.popN(n)
		if err != nil {
			return err
		}
		t, ok := items[1].(Tuple)
		var kw *Dict
		if n == 3 {
			kw, _ = items[2].(*Dict)
			ok = ok && kw != nil
		}
		if !ok {
			return d.fail("a call with %s arguments", TypeName(items[1]))
		}
		v, err := d.call(items[0], t, kw)
		if err != nil {
			return err
		}
		d.push(v)
	case 'b': // BUILD
		state, err := d.pop()
		if err != nil {
			return err
		}
		obj, err := d.top()
		if err != nil {
			return err
		}
		return d.build(obj, state)
	case 'P', 'Q':
		return d.fail("persistent ids are not supported")
	case 0x82, 0x83, 0x84:
		return d.fail("the copyreg extension registry is not supported")
	case 'i', 'o':
		return d.fail("protocol 0 and 1 class instances (INST, OBJ) are not supported; save with protocol 2 or later")
	case 0x97:
		return d.fail("out-of-band buffers are not supported")
	case 'S', 'V':
		return d.fail("protocol 0 text strings are not supported; save with protocol 2 or later")
	default:
		return d.fail("unknown opcode 0x%02x", op)
	}
	return nil
}

func (d *decoder) extend(items []any) error {
	t, err := d.top()
	if err != nil {
		return err
	}
	switch l := t.(type) {
	case *List:
		l.Items = append(l.Items, items...)
	case *Set:
		l.Items = append(l.Items, items...)
	default:
		return d.fail("APPEND to a %s", TypeName(t))
	}
	return nil
}

func (d *decoder) setItems(items []any) error {
	t, err := d.top()
	if err != nil {
		return err
	}
	m, ok := t.(*Dict)
	if !ok {
		return d.fail("SETITEM on a %s", TypeName(t))
	}
	for i := 0; i < len(items); i += 2 {
		m.set(items[i], items[i+1])
	}
	return nil
}

func (d *decoder) put(i int) error {
	v, err := d.top()
	if err != nil {
		return err
	}
	d.memo[i] = v
	return nil
}

func (d *decoder) get(i int) error {
	v, ok := d.memo[i]
	if !ok {
		return d.fail("memo key %d was never stored", i)
	}
	d.push(v)
	return nil
}

func (d *decoder) global(mod, name string) error {
	// Python 2 module names, as protocol 2 writes them for builtins.
	switch mod {
	case "__builtin__":
		mod = "builtins"
	case "copy_reg":
		mod = "copyreg"
	}
	full := mod + "." + name
	if !functions[full] && !types[full] && !d.opt.Classes[full] && !d.opt.Types[full] {
		return &RefusedError{Global: full}
	}
	d.push(&Global{Module: mod, Name: name})
	return nil
}

func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		shift := 64 - 8*uint(len(b))
		return int64(v<<shift) >> shift // sign-extend
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return normalise(v)
}

func normalise(v *big.Int) any {
	if v.IsInt64() {
		return v.Int64()
	}
	return v
}
