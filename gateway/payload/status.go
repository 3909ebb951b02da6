package payload

import (
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/valyala/fastjson"
)

// Status decodes a device status message: a JSON object with the required boolean online and
// an optional ts (default now). Every other field is kept in Status.Fields (nil when there are
// none), decoded as encoding/json would into an any: string, float64, bool, nil,
// []any or map[string]any. More than Decoder.MaxFields other fields, or values nested more
// than 8 levels deep, are "too_large".
func (d *Decoder) Status(p []byte, now time.Time) (*lanewatch.Status, error) {
	l := d.limits()
	a := at{kind: "status", idx: -1}
	if len(p) > l.MaxPayload {
		return nil, a.errorf(ReasonTooLarge, "", "payload of %d bytes is over the limit of %d", len(p), l.MaxPayload)
	}
	parser, v, e := parse(&smallParsers, p, a)
	if e != nil {
		return nil, e
	}
	defer release(&smallParsers, parser, len(p))
	o, e := object(v, a)
	if e != nil {
		return nil, e
	}
	s, e := l.status(o, now, a)
	if e != nil {
		return nil, e
	}
	return s, nil
}

// status decodes the fields of a status object.
func (d *Decoder) status(o *fastjson.Object, now time.Time, a at) (*lanewatch.Status, *Error) {
	s := &lanewatch.Status{TS: now.UTC()}
	var onlineV, tsV *fastjson.Value
	var err *Error
	if n := o.Len(); n > d.MaxFields+2 {
		// Cheap early bound; the exact count is checked below.
		return nil, a.errorf(ReasonTooLarge, "", "more than %d fields", d.MaxFields)
	}
	o.Visit(func(key []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		switch string(key) {
		case "online":
			onlineV = v
			return
		case "ts":
			tsV = v
			return
		}
		name := string(key)
		if e := checkText(key, a, clip(name, maxExtraNameLen), false); e != nil {
			err = e
			return
		}
		val, e := anyValue(v, a, clip(name, maxExtraNameLen), 1)
		if e != nil {
			err = e
			return
		}
		if s.Fields == nil {
			s.Fields = make(map[string]any, o.Len())
		}
		s.Fields[name] = val
		if len(s.Fields) > d.MaxFields {
			err = a.errorf(ReasonTooLarge, "", "more than %d fields", d.MaxFields)
		}
	})
	if err != nil {
		return nil, err
	}
	if isNull(onlineV) {
		return nil, a.errorf(ReasonMissingField, "online", "required")
	}
	if s.Online, err = boolean(onlineV, a, "online"); err != nil {
		return nil, err
	}
	if !isNull(tsV) {
		if s.TS, err = d.timestamp(tsV, now, a); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// anyValue converts v the way encoding/json decodes into an any.
func anyValue(v *fastjson.Value, a at, field string, depth int) (any, *Error) {
	if depth > maxStatusDepth {
		return nil, a.errorf(ReasonTooLarge, field, "nested deeper than %d levels", maxStatusDepth)
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return nil, nil
	case fastjson.TypeTrue:
		return true, nil
	case fastjson.TypeFalse:
		return false, nil
	case fastjson.TypeNumber:
		return number(v, a, field)
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		if err := checkText(b, a, field, false); err != nil {
			return nil, err
		}
		return string(b), nil
	case fastjson.TypeArray:
		arr, _ := v.Array()
		out := make([]any, len(arr))
		for i, ev := range arr {
			x, err := anyValue(ev, a, field, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	default: // object
		o, _ := v.Object()
		out := make(map[string]any, o.Len())
		var err *Error
		o.Visit(func(key []byte, ev *fastjson.Value) {
			if err != nil {
				return
			}
			if err = checkText(key, a, field, false); err != nil {
				return
			}
			var x any
			if x, err = anyValue(ev, a, field, depth+1); err == nil {
				out[string(key)] = x
			}
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}
