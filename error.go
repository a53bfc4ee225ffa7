package caresignal

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the web handler.
const (
	EINVALID     = "invalid"     // the caller sent something wrong
	ETOOLARGE    = "too_large"   // the request exceeds a size limit
	ENOTFOUND    = "not_found"   // the thing asked for does not exist
	ECONFLICT    = "conflict"    // the request clashes with current state
	EUNAVAILABLE = "unavailable" // a dependency is down; retry later
	EINTERNAL    = "internal"    // a bug or an unexpected failure
	ECORRUPT     = "corrupt"     // stored data failed an integrity check
)

// Error is the error type of the whole program. Message is safe to show to a
// caller; Err, the cause, is for logs only and is never rendered.
type Error struct {
	Code    string // one of the E* constants
	Field   string // the offending input field, as the caller named it
	Message string // a sentence safe to show the caller
	Err     error  // the underlying cause, if any
}

// Error implements the error interface.
func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" && msg == "" {
		msg = "invalid " + e.Field
	}
	if e.Err != nil {
		if msg == "" {
			return e.Err.Error()
		}
		return msg + ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Invalidf returns an EINVALID error naming field.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Errorf returns an error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of the first *Error in err's
// chain, or a generic sentence for anything else, so that internal details
// never reach a response.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the offending field named by the first *Error in err's
// chain, or "".
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
