package lanewatch

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer. The HTTP API maps each to one status in one place.
const (
	EInvalid       = "invalid"       // bad input; 400
	EUnauthorized  = "unauthorized"  // missing or bad credentials; 401
	EForbidden     = "forbidden"     // authenticated but not allowed; 403
	ENotFound      = "not_found"     // no such object; 404
	EConflict      = "conflict"      // state does not allow it, or already exists; 409
	ETooLarge      = "too_large"     // body or upload over its limit; 413
	EUnprocessable = "unprocessable" // well-formed but semantically refused; 422
	ERateLimited   = "rate_limited"  // too many requests; 429
	EUnavailable   = "unavailable"   // a dependency is down; 503
	EInternal      = "internal"      // anything else; 500
)

// Error is a domain error with a machine-readable code and a message safe to show users.
type Error struct {
	Code    string
	Message string
	// Allowed lists the allowed actions when Code is EConflict for an illegal transition.
	Allowed []string
	// Err is the underlying cause, if any; it is not shown to users.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for any other
// non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EInternal
	}
}

// ErrorMessage returns the user-facing message of err.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "internal error"
	}
}

// ErrNotFound is returned by stores when an object does not exist; it carries ENotFound.
var ErrNotFound = &Error{Code: ENotFound, Message: "not found"}
