package payload

import (
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/valyala/fastjson"
)

// Plaque scan actions.
const (
	ActionView   = "view"
	ActionReport = "report"
)

// PlaqueScan decodes a plaque scan: scan_id, ts and action ("view" or "report") are required;
// category (4 digits) is optional (a report without one is a 9101 case, DOMAIN.md 8: the
// plaque service applies its default category); description (at most
// 2000 characters), reporter {name, phone} and photo (base64 JPEG or PNG, decoded) are
// optional. Whether the category exists in the catalog is for the caller to check. Unknown
// fields are ignored.
func (d *Decoder) PlaqueScan(p []byte, now time.Time) (*lanewatch.PlaqueScan, error) {
	l := d.limits()
	a := at{kind: "plaque", idx: -1}
	if len(p) > l.MaxMediaPayload {
		return nil, a.errorf(ReasonTooLarge, "", "payload of %d bytes is over the limit of %d", len(p), l.MaxMediaPayload)
	}
	parser, v, e := parse(&mediaParsers, p, a)
	if e != nil {
		return nil, e
	}
	defer release(&mediaParsers, parser, len(p))
	o, e := object(v, a)
	if e != nil {
		return nil, e
	}
	s, e := l.scan(o, now, a)
	if e != nil {
		return nil, e
	}
	return s, nil
}

// scan decodes the fields of a plaque scan object.
func (d *Decoder) scan(o *fastjson.Object, now time.Time, a at) (*lanewatch.PlaqueScan, *Error) {
	s := &lanewatch.PlaqueScan{}
	var err *Error

	v := o.Get("scan_id")
	if isNull(v) {
		return nil, a.errorf(ReasonMissingField, "scan_id", "required")
	}
	if s.ScanID, err = str(v, a, "scan_id", maxIDLen, true); err != nil {
		return nil, err
	}
	if s.ScanID == "" {
		return nil, a.errorf(ReasonMissingField, "scan_id", "empty")
	}

	v = o.Get("action")
	if isNull(v) {
		return nil, a.errorf(ReasonMissingField, "action", "required")
	}
	if v.Type() != fastjson.TypeString {
		return nil, a.errorf(ReasonBadType, "action", "want a string, got %s", v.Type())
	}
	switch b, _ := v.StringBytes(); string(b) {
	case ActionView:
		s.Action = ActionView
	case ActionReport:
		s.Action = ActionReport
	default:
		return nil, a.errorf(ReasonUnknownType, "action", "unknown action %q, want view or report", clip(string(b), 40))
	}

	v = o.Get("ts")
	if isNull(v) {
		return nil, a.errorf(ReasonMissingField, "ts", "required")
	}
	if s.TS, err = d.timestamp(v, now, a); err != nil {
		return nil, err
	}

	v = o.Get("category")
	if !isNull(v) && !emptyString(v) {
		if s.Category, err = str(v, a, "category", 4, true); err != nil {
			return nil, err
		}
		if _, ok := digits([]byte(s.Category)); !ok || len(s.Category) != 4 {
			return nil, a.errorf(ReasonBadType, "category", "%q is not a 4-digit category code", s.Category)
		}
	}

	if v = o.Get("description"); !isNull(v) {
		if s.Description, err = str(v, a, "description", maxDescriptionLen, false); err != nil {
			return nil, err
		}
	}

	if v = o.Get("reporter"); !isNull(v) {
		if v.Type() != fastjson.TypeObject {
			return nil, a.errorf(ReasonBadType, "reporter", "want an object {name, phone}, got %s", v.Type())
		}
		r, _ := v.Object()
		if v := r.Get("name"); !isNull(v) {
			if s.Reporter.Name, err = str(v, a, "reporter.name", maxNameLen, true); err != nil {
				return nil, err
			}
		}
		if v := r.Get("phone"); !isNull(v) {
			if s.Reporter.Phone, err = str(v, a, "reporter.phone", maxPhoneLen, true); err != nil {
				return nil, err
			}
		}
	}

	if v = o.Get("photo"); !isNull(v) && !emptyString(v) {
		if s.Photo, err = d.image(v, a, "photo", true); err != nil {
			return nil, err
		}
	}
	return s, nil
}
