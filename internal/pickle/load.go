package pickle

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// MaxBytes bounds a pickle, before and after decompression.
const MaxBytes = 512 << 20

// limit is MaxBytes; tests lower it.
var limit = MaxBytes

// Read reads a pickle file as pickle.dump or joblib.dump wrote it —
// plain, or joblib's zlib compression — and decodes it. Other compressions
// are refused, naming them.
func Read(r io.Reader, opt Options) (any, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, fmt.Errorf("pickle: the file is larger than %d MiB", limit>>20)
	}
	data, err = decompress(data)
	if err != nil {
		return nil, err
	}
	return Decode(data, opt)
}

// decompress undoes joblib's zlib compression, stopping at MaxBytes.
func decompress(data []byte) ([]byte, error) {
	switch {
	case len(data) >= 2 && data[0] == 0x78 && (uint16(data[0])<<8|uint16(data[1]))%31 == 0:
		zr, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("pickle: zlib-compressed file: %w", err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
		if err != nil {
			return nil, fmt.Errorf("pickle: zlib-compressed file: %w", err)
		}
		if len(out) > limit {
			return nil, fmt.Errorf("pickle: the zlib-compressed file expands past %d MiB: refused", limit>>20)
		}
		return out, nil
	case bytes.HasPrefix(data, []byte("ZF")):
		return nil, errors.New("pickle: a joblib file from before joblib 0.9.3 (ZF format) is not supported; re-save it with a current joblib")
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		return nil, errors.New("pickle: gzip-compressed files are not supported; save with joblib's zlib compression or none")
	case bytes.HasPrefix(data, []byte("BZh")):
		return nil, errors.New("pickle: bz2-compressed files are not supported; save with joblib's zlib compression or none")
	case bytes.HasPrefix(data, []byte{0xfd, '7', 'z', 'X', 'Z'}), bytes.HasPrefix(data, []byte{0x5d, 0x00, 0x00}):
		return nil, errors.New("pickle: xz or lzma-compressed files are not supported; save with joblib's zlib compression or none")
	case bytes.HasPrefix(data, []byte{0x04, 0x22, 0x4d, 0x18}):
		return nil, errors.New("pickle: lz4-compressed files are not supported; save with joblib's zlib compression or none")
	case len(data) == 0 || data[0] != 0x80:
		return nil, errors.New("pickle: not a pickle of protocol 2 or later (it does not start with the PROTO opcode)")
	}
	return data, nil
}
