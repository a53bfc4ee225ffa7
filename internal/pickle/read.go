package pickle

import "bytes"

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
