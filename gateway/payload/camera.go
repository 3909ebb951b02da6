package payload

import (
	"net/url"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/valyala/fastjson"
)

// CameraTypes maps every known camera event type to the category code it reports
// (DOMAIN.md section 3). "heartbeat" and "inactive" are valid types that never open a case:
// their code is "". Treat the map as read-only.
var CameraTypes = map[string]string{
	"exposed_garbage":   "0101",
	"abandoned_vehicle": "0104",
	"mobile_vendor":     "0501",
	"street_vending":    "0504",
	"illegal_parking":   "0505",
	"clutter":           "0507",
	"outdoor_barbecue":  "0510",
	"heartbeat":         "",
	"inactive":          "",
}

// bboxEpsilon is the tolerance for x+w and y+h over 1 (float rounding on the device).
const bboxEpsilon = 1e-6

// Camera decodes a camera event: event_id, ts and type are required; confidence (0..1), bbox
// ([x, y, w, h], normalised), lat and lon (both or neither), snapshot (base64 JPEG, decoded)
// and snapshot_url (http or https) are optional, as are channel, vendor_code, region_id and state
// (start|stop|pulse). Unknown fields are ignored.
func (d *Decoder) Camera(p []byte, now time.Time) (*lanewatch.CameraEvent, error) {
	l := d.limits()
	a := at{kind: "camera", idx: -1}
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
	ev, e := l.camera(o, now, a)
	if e != nil {
		return nil, e
	}
	return ev, nil
}

// camera decodes the fields of a camera event object.
func (d *Decoder) camera(o *fastjson.Object, now time.Time, a at) (*lanewatch.CameraEvent, *Error) {
	ev := &lanewatch.CameraEvent{}
	var err *Error

	v := o.Get("event_id")
	if isNull(v) {
		return nil, a.errorf(ReasonMissingField, "event_id", "required")
	}
	if ev.EventID, err = str(v, a, "event_id", maxIDLen, true); err != nil {
		return nil, err
	}
	if ev.EventID == "" {
		return nil, a.errorf(ReasonMissingField, "event_id", "empty")
	}

	v = o.Get("type")
	if isNull(v) {
		return nil, a.errorf(ReasonMissingField, "type", "required")
	}
	if v.Type() != fastjson.TypeString {
		return nil, a.errorf(ReasonBadType, "type", "want a string, got %s", v.Type())
	}
	typ, _ := v.StringBytes()
	if _, ok := CameraTypes[string(typ)]; !ok {
		return nil, a.errorf(ReasonUnknownType, "type", "unknown camera event type %q", clip(string(typ), 40))
	}
	ev.Type = string(typ)

	v = o.Get("ts")
	if isNull(v) {
		return nil, a.errorf(ReasonMissingField, "ts", "required")
	}
	if ev.TS, err = d.timestamp(v, now, a); err != nil {
		return nil, err
	}

	if v = o.Get("confidence"); !isNull(v) {
		if ev.Confidence, err = number(v, a, "confidence"); err != nil {
			return nil, err
		}
		if err = inRange(ev.Confidence, 0, 1, a, "confidence"); err != nil {
			return nil, err
		}
	}

	// Optional vendor context (DOMAIN.md section 7), sent by HTTP push adapters and by cameras
	// that know it: channel, vendor event code, region and start/stop state.
	if v = o.Get("channel"); !isNull(v) {
		ch, err := number(v, a, "channel")
		if err != nil {
			return nil, err
		}
		if err = inRange(ch, 0, 4096, a, "channel"); err != nil {
			return nil, err
		}
		ev.Channel = int(ch)
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"vendor_code", &ev.VendorCode}, {"region_id", &ev.RegionID}, {"state", &ev.State}, {"plate", &ev.Plate}} {
		if v = o.Get(f.key); !isNull(v) {
			if *f.dst, err = str(v, a, f.key, maxIDLen, true); err != nil {
				return nil, err
			}
		}
	}
	switch ev.State {
	case "", "start", "stop", "pulse":
	default:
		return nil, a.errorf(ReasonOutOfRange, "state", "%q is not one of start, stop, pulse", clip(ev.State, 20))
	}

	if v = o.Get("bbox"); !isNull(v) {
		if err = bbox(v, a, &ev.BBox); err != nil {
			return nil, err
		}
		ev.HasBBox = true
	}

	latV, lonV := o.Get("lat"), o.Get("lon")
	switch {
	case isNull(latV) && isNull(lonV):
	case isNull(latV):
		return nil, a.errorf(ReasonMissingField, "lat", "required with lon")
	case isNull(lonV):
		return nil, a.errorf(ReasonMissingField, "lon", "required with lat")
	default:
		if ev.Lat, err = number(latV, a, "lat"); err != nil {
			return nil, err
		}
		if ev.Lon, err = number(lonV, a, "lon"); err != nil {
			return nil, err
		}
		if err = position(ev.Lat, ev.Lon, a); err != nil {
			return nil, err
		}
		ev.HasLocation = true
	}

	if v = o.Get("snapshot"); !isNull(v) && !emptyString(v) {
		if ev.Snapshot, err = d.image(v, a, "snapshot", false); err != nil {
			return nil, err
		}
	}
	if v = o.Get("snapshot_url"); !isNull(v) && !emptyString(v) {
		if ev.SnapshotURL, err = snapshotURL(v, a); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// bbox decodes [x, y, w, h], each within 0..1, with the box inside the frame.
func bbox(v *fastjson.Value, a at, dst *[4]float64) *Error {
	const field = "bbox"
	if v.Type() != fastjson.TypeArray {
		return a.errorf(ReasonBadType, field, "want an array [x, y, w, h], got %s", v.Type())
	}
	arr, _ := v.Array()
	if len(arr) != 4 {
		return a.errorf(ReasonBadType, field, "want 4 numbers [x, y, w, h], got %d values", len(arr))
	}
	for i, ev := range arr {
		f, err := number(ev, a, field)
		if err != nil {
			return err
		}
		if f < 0 || f > 1 {
			return a.errorf(ReasonOutOfRange, field, "%s %g out of range 0..1", "xywh"[i:i+1], f)
		}
		dst[i] = f
	}
	if dst[0]+dst[2] > 1+bboxEpsilon {
		return a.errorf(ReasonOutOfRange, field, "x+w = %g is over 1", dst[0]+dst[2])
	}
	if dst[1]+dst[3] > 1+bboxEpsilon {
		return a.errorf(ReasonOutOfRange, field, "y+h = %g is over 1", dst[1]+dst[3])
	}
	return nil
}

// snapshotURL decodes an absolute http or https URL.
func snapshotURL(v *fastjson.Value, a at) (string, *Error) {
	const field = "snapshot_url"
	if v.Type() != fastjson.TypeString {
		return "", a.errorf(ReasonBadType, field, "want a string, got %s", v.Type())
	}
	b, _ := v.StringBytes()
	if len(b) > maxURLLen {
		return "", a.errorf(ReasonOutOfRange, field, "longer than %d bytes", maxURLLen)
	}
	if err := checkText(b, a, field, true); err != nil {
		return "", err
	}
	s := string(b)
	u, err := url.Parse(s)
	if err != nil {
		return "", a.errorf(ReasonBadSnapshot, field, "invalid URL %q", clip(s, 80))
	}
	if scheme := strings.ToLower(u.Scheme); scheme != "http" && scheme != "https" || u.Host == "" {
		return "", a.errorf(ReasonBadSnapshot, field, "want an absolute http or https URL, got %q", clip(s, 80))
	}
	return s, nil
}

// emptyString reports whether v is the empty JSON string.
func emptyString(v *fastjson.Value) bool {
	if v.Type() != fastjson.TypeString {
		return false
	}
	b, _ := v.StringBytes()
	return len(b) == 0
}
