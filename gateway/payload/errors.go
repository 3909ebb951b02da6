package payload

import (
	"errors"
	"fmt"
	"strconv"
)

// Reasons a payload is rejected. The set is fixed and small: it is used as a metric label.
const (
	ReasonBadJSON         = "bad_json"         // not JSON, or not the JSON shape expected at the top level
	ReasonTooLarge        = "too_large"        // payload, batch, image or field count over its limit
	ReasonMissingField    = "missing_field"    // a required field is absent or null
	ReasonBadType         = "bad_type"         // a field has the wrong JSON type or an unparsable format
	ReasonOutOfRange      = "out_of_range"     // a value is outside its allowed range or length
	ReasonFutureTimestamp = "future_timestamp" // ts is more than MaxFuture ahead of now
	ReasonStaleTimestamp  = "stale_timestamp"  // ts is more than MaxPast behind now
	ReasonUnknownType     = "unknown_type"     // camera event type or plaque action not known
	ReasonBadSnapshot     = "bad_snapshot"     // inline image or image URL not acceptable
)

// Reasons lists every Reason an *Error can carry, for pre-registering metric label values.
var Reasons = []string{
	ReasonBadJSON, ReasonTooLarge, ReasonMissingField, ReasonBadType, ReasonOutOfRange,
	ReasonFutureTimestamp, ReasonStaleTimestamp, ReasonUnknownType, ReasonBadSnapshot,
}

// Error is a rejected payload. Every error returned by a Decoder is an *Error.
type Error struct {
	// Reason is one of the Reason* constants.
	Reason string
	// Field is the path of the offending field, such as "telemetry[3].lat" or "camera.bbox";
	// just the kind ("telemetry") when the payload as a whole is at fault.
	Field string
	// Msg says what is wrong with the field.
	Msg string
}

// Error returns "field: message".
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// ReasonOf returns the Reason of the first *Error in err's chain, "" when err is nil or holds
// no *Error.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// at locates errors within a payload: the kind of payload and, for batches, the element index.
type at struct {
	kind string
	idx  int // -1 when not in a batch
}

// path returns the field path for field ("" for the element itself).
func (a at) path(field string) string {
	p := a.kind
	if a.idx >= 0 {
		p += "[" + strconv.Itoa(a.idx) + "]"
	}
	if field != "" {
		p += "." + field
	}
	return p
}

// errorf builds an *Error for field.
func (a at) errorf(reason, field, format string, args ...any) *Error {
	return &Error{Reason: reason, Field: a.path(field), Msg: fmt.Sprintf(format, args...)}
}
