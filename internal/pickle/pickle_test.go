package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// The byte strings below are small protocol programs written opcode by
// opcode, each commented, to test the machine itself; real pickles written
// by Python are tested in model/sklearn against testdata/sklearn.

func TestDecodeValues(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("\x80\x04")                                                        // PROTO 4
	b.WriteString("}")                                                               // EMPTY_DICT
	b.WriteString("(")                                                               // MARK
	b.WriteString("\x8c\x01a" + "K\x07")                                             // "a": 7
	b.WriteString("\x8c\x01b" + "G?\xf8\x00\x00\x00\x00\x00\x00")                    // "b": 1.5 (big-endian double)
	b.WriteString("\x8c\x01c" + "]" + "(" + "N\x88\x89" + "e")                       // "c": [None, True, False]
	b.WriteString("\x8c\x01d" + "\x8a\x09" + "\x00\x00\x00\x00\x00\x00\x00\x00\x01") // "d": 2**64 (LONG1)
	b.WriteString("\x8c\x01e" + "J\xfb\xff\xff\xff" + "\x94" + "h\x00" + "\x86")     // "e": (-5, -5) via MEMOIZE/BINGET
	b.WriteString("u")                                                               // SETITEMS
	b.WriteString(".")                                                               // STOP
	v, err := Decode(b.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := v.(*Dict)
	get := func(k string) any { x, _ := d.Get(k); return x }
	if get("a") != int64(7) || get("b") != 1.5 {
		t.Errorf("a, b = %v, %v", get("a"), get("b"))
	}
	if l := get("c").(*List); len(l.Items) != 3 || l.Items[0] != nil || l.Items[1] != true || l.Items[2] != false {
		t.Errorf("c = %v", l.Items)
	}
	if s := TypeName(get("d")) + " " + get("d").(interface{ String() string }).String(); s != "int 18446744073709551616" {
		t.Errorf("d = %s", s)
	}
	if e := get("e").(Tuple); len(e) != 2 || e[0] != int64(-5) || e[1] != int64(-5) {
		t.Errorf("e = %v", e)
	}
}

func TestRefusesUnlistedImports(t *testing.T) {
	for _, p := range []string{
		// GLOBAL posix system; "echo"; TUPLE1; REDUCE; STOP
		"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00echo\x85R.",
		// STACK_GLOBAL builtins eval
		"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x031+1\x85R.",
		// an allowed-looking name in another module
		"\x80\x02csubprocess\nPopen\n)R.",
		// copyreg._reconstructor of a class not on the list
		"\x80\x02ccopyreg\n_reconstructor\ncos\n_wrap_close\n",
	} {
		_, err := Decode([]byte(p), Options{})
		var ref *RefusedError
		if !errors.As(err, &ref) {
			t.Errorf("%q: %v, want a refusal", p, err)
			continue
		}
		if !strings.Contains(err.Error(), ref.Global) || ref.Global == "" {
			t.Errorf("the refusal does not name the import: %v", err)
		}
	}
	// An allowed class is built, inertly, with its arguments.
	v, err := Decode([]byte("\x80\x02cm\nC\nK\x01\x85R}b."), Options{Classes: map[string]bool{"m.C": true}})
	if o, ok := v.(*Object); err != nil || !ok || o.Class.String() != "m.C" || len(o.Args) != 1 {
		t.Errorf("allowed class: %v %v", v, err)
	}
	// A type may be a value but not be called.
	if _, err := Decode([]byte("\x80\x02cnumpy\nfloat64\n)R."), Options{}); err == nil || !strings.Contains(err.Error(), "not be called") {
		t.Errorf("calling a type: %v", err)
	}
}

// TestLengthBombs: a length field claiming far more than the file holds
// must fail before anything that size is allocated (a 30-byte file claiming
// 2⁴⁰ bytes must not exhaust memory).
func TestLengthBombs(t *testing.T) {
	claim := func(op byte, size int) []byte {
		b := []byte{0x80, 0x04, op}
		n := make([]byte, 8)
		binary.LittleEndian.PutUint64(n, 1<<40)
		if size == 4 {
			binary.LittleEndian.PutUint32(n, 0xffffffff)
		}
		b = append(b, n[:size]...)
		return append(b, "abc."...)
	}
	for name, p := range map[string][]byte{
		"BINBYTES8":   claim(0x8e, 8),
		"BINUNICODE8": claim(0x8d, 8),
		"BYTEARRAY8":  claim(0x96, 8),
		"FRAME":       claim(0x95, 8),
		"BINBYTES":    claim('B', 4),
		"LONG4":       claim(0x8b, 4),
	} {
		if len(p) > 32 {
			t.Fatalf("%s: %d bytes", name, len(p))
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Decode(p, Options{})
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), "remain") {
			t.Errorf("%s: %v, want a truncation error", name, err)
		}
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
			t.Errorf("%s: decoding allocated %d bytes", name, grown)
		}
	}
}

func TestStructuralErrors(t *testing.T) {
	deep := "\x80\x02" + strings.Repeat("(", 100_000) + "."
	for p, want := range map[string]string{
		deep:                        "nesting deeper",
		"\x80\x02K\x01":             "without a STOP",
		"\x80\x02K\x01K\x02.":       "STOP with 2 values",
		"\x80\x02h\x05.":            "never stored",
		"\x80\x02a.":                "underflow",
		"\x80\x09.":                 "protocol 9",
		"\x80\x02K\x01b.":           "underflow",
		"\x80\x02Q.":                "persistent",
		"\x80\x02K\x01K\x02K\x03s.": "SETITEM on a int",
		"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00q9K\x00K\x01\x87R.": "not supported",
	} {
		_, err := Decode([]byte(p), Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			name := p
			if len(name) > 40 {
				name = name[:40] + "…"
			}
			t.Errorf("%q: %v, want %q", name, err, want)
		}
	}
}

func TestReadRefusesZipBombs(t *testing.T) {
	// A zlib stream of more zeros than the limit is refused at the limit,
	// not read whole (the limit is lowered to keep the test fast).
	defer func(old int) { limit = old }(limit)
	limit = 4 << 20
	var z bytes.Buffer
	w := zlibWriter(&z)
	chunk := make([]byte, 1<<20)
	for written := 0; written <= limit; written += len(chunk) {
		w.Write(chunk)
	}
	w.Close()
	_, err := Read(bytes.NewReader(z.Bytes()), Options{})
	if err == nil || !strings.Contains(err.Error(), "expands past") {
		t.Errorf("zip bomb: %v", err)
	}
	for _, p := range [][]byte{{0x1f, 0x8b, 8}, []byte("BZh9"), []byte("ZF0x"), []byte("hello")} {
		if _, err := Read(bytes.NewReader(p), Options{}); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to the decoder: it must return, without
// panicking, and allocate no more than a small multiple of its input.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("\x80\x04}(\x8c\x01aK\x07u."))
	f.Add([]byte("\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b\x87R(K\x01K\x02\x85cnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89C\x10\x00\x00\x00\x00\x00\x00\xf0?\x00\x00\x00\x00\x00\x00\x00@tb."))
	f.Add([]byte{0x80, 0x04, 0x8e, 0, 0, 0, 0, 0, 1, 0, 0, 'a', '.'})
	opt := Options{Classes: map[string]bool{"m.C": true}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		Decode(data, opt)
		runtime.ReadMemStats(&after)
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 64*uint64(len(data))+1<<20 {
			t.Fatalf("%d input bytes allocated %d", len(data), grown)
		}
	})
}
