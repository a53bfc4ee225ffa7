package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/wire"
)

// readBody reads a request body of at most wire.MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var body []byte
	var err error
	if n := r.ContentLength; n > 0 && n <= wire.MaxBodyBytes {
		// The usual case: the size is known, so read into one buffer of
		// that size (plus one byte to see a body longer than announced).
		body, err = readAllInto(make([]byte, 0, n+1), http.MaxBytesReader(w, r.Body, wire.MaxBodyBytes))
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, wire.MaxBodyBytes))
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &caresignal.Error{Code: caresignal.ETOOLARGE, Message: fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit)}
		}
		return nil, &caresignal.Error{Code: caresignal.EINVALID, Message: "could not read the request body", Err: err}
	}
	return body, nil
}

// readAllInto is io.ReadAll into b's spare capacity, growing it only if
// the body is longer than announced.
func readAllInto(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
