package pickle

import (
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
	"strings"
)

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
