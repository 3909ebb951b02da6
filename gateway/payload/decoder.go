package payload

import (
	"bytes"
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Default limits, used for the zero fields of a Decoder.
const (
	DefaultMaxFuture       = 10 * time.Minute
	DefaultMaxPast         = 30 * 24 * time.Hour
	DefaultMaxBatch        = 1000
	DefaultMaxPayload      = 256 << 10 // telemetry and status
	DefaultMaxMediaPayload = 8 << 20   // camera events and plaque scans, which may inline images
	DefaultMaxImage        = 6 << 20   // decoded inline image
	DefaultMaxExtra        = 64
	DefaultMaxFields       = 32
)

// Fixed limits on strings.
const (
	maxIDLen          = 128  // event_id, scan_id (characters)
	maxDescriptionLen = 2000 // plaque description (characters)
	maxNameLen        = 128  // reporter name (characters)
	maxPhoneLen       = 32   // reporter phone (characters)
	maxURLLen         = 2048 // snapshot_url (bytes)
	maxExtraNameLen   = 64   // telemetry extra field name (bytes); longer names are ignored
	maxStatusDepth    = 8    // nesting of status field values
)

// Decoder decodes and validates device payloads. The zero value uses the Default* limits; a
// field left zero (or negative) takes its default. A Decoder is safe for concurrent use and
// must not be changed while in use.
type Decoder struct {
	// MaxFuture is how far ahead of now a timestamp may be (device clock skew).
	MaxFuture time.Duration
	// MaxPast is how far behind now a timestamp may be (offline backlog).
	MaxPast time.Duration
	// MaxBatch is the maximum number of points in one telemetry batch.
	MaxBatch int
	// MaxPayload is the maximum size in bytes of a telemetry or status payload.
	MaxPayload int
	// MaxMediaPayload is the maximum size in bytes of a camera event or plaque scan payload,
	// which may carry a base64 image inline.
	MaxMediaPayload int
	// MaxImage is the maximum size in bytes of a decoded inline image (snapshot, photo).
	MaxImage int
	// MaxExtra is the maximum number of extra fields in one telemetry point.
	MaxExtra int
	// MaxFields is the maximum number of extra fields in a status message.
	MaxFields int
}

// NewDecoder returns a Decoder with every limit set to its default.
func NewDecoder() *Decoder {
	d := &Decoder{}
	*d = d.limits()
	return d
}

// limits returns d with defaults filled in.
func (d *Decoder) limits() Decoder {
	l := *d
	if l.MaxFuture <= 0 {
		l.MaxFuture = DefaultMaxFuture
	}
	if l.MaxPast <= 0 {
		l.MaxPast = DefaultMaxPast
	}
	if l.MaxBatch <= 0 {
		l.MaxBatch = DefaultMaxBatch
	}
	if l.MaxPayload <= 0 {
		l.MaxPayload = DefaultMaxPayload
	}
	if l.MaxMediaPayload <= 0 {
		l.MaxMediaPayload = DefaultMaxMediaPayload
	}
	if l.MaxImage <= 0 {
		l.MaxImage = DefaultMaxImage
	}
	if l.MaxExtra <= 0 {
		l.MaxExtra = DefaultMaxExtra
	}
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	return l
}

// Parser pools. Media payloads get their own pool, and big parsers are not pooled, so that a
// few multi-megabyte snapshots do not pin their buffers in every pooled parser.
var (
	smallParsers fastjson.ParserPool
	mediaParsers fastjson.ParserPool
)

// bigParser is the payload size above which a media parser is dropped after use.
const bigParser = 1 << 20

// parse parses p with a pooled parser. The caller must call release(pp, parser, len(p)) once it
// no longer uses v.
func parse(pp *fastjson.ParserPool, p []byte, a at) (*fastjson.Parser, *fastjson.Value, *Error) {
	parser := pp.Get()
	v, err := parser.ParseBytes(p)
	if err != nil {
		pp.Put(parser)
		return nil, nil, a.errorf(ReasonBadJSON, "", "%s", clip(err.Error(), 200))
	}
	return parser, v, nil
}

// release returns parser to pp unless it parsed a big payload.
func release(pp *fastjson.ParserPool, parser *fastjson.Parser, n int) {
	if n <= bigParser {
		pp.Put(parser)
	}
}

// object returns v as an object or a bad_json error.
func object(v *fastjson.Value, a at) (*fastjson.Object, *Error) {
	if v.Type() != fastjson.TypeObject {
		return nil, a.errorf(ReasonBadJSON, "", "want a JSON object, got %s", v.Type())
	}
	o, _ := v.Object()
	return o, nil
}

// number returns v as a finite float64.
func number(v *fastjson.Value, a at, field string) (float64, *Error) {
	if v.Type() != fastjson.TypeNumber {
		return 0, a.errorf(ReasonBadType, field, "want a number, got %s", v.Type())
	}
	f, err := v.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, a.errorf(ReasonBadJSON, field, "invalid number %q", clip(v.String(), 40))
	}
	return f, nil
}

// boolean returns v as a bool.
func boolean(v *fastjson.Value, a at, field string) (bool, *Error) {
	switch v.Type() {
	case fastjson.TypeTrue:
		return true, nil
	case fastjson.TypeFalse:
		return false, nil
	}
	return false, a.errorf(ReasonBadType, field, "want a boolean, got %s", v.Type())
}

// str returns v as a string that is valid UTF-8 without NUL bytes and at most maxLen
// characters long. With id set, control characters are refused too.
func str(v *fastjson.Value, a at, field string, maxLen int, id bool) (string, *Error) {
	if v.Type() != fastjson.TypeString {
		return "", a.errorf(ReasonBadType, field, "want a string, got %s", v.Type())
	}
	b, _ := v.StringBytes()
	if len(b) > maxLen*utf8.UTFMax || utf8.RuneCount(b) > maxLen {
		return "", a.errorf(ReasonOutOfRange, field, "longer than %d characters", maxLen)
	}
	if e := checkText(b, a, field, id); e != nil {
		return "", e
	}
	return string(b), nil
}

// checkText refuses invalid UTF-8, NUL bytes and, with id set, any control character.
func checkText(b []byte, a at, field string, id bool) *Error {
	if !utf8.Valid(b) {
		return a.errorf(ReasonBadType, field, "invalid UTF-8")
	}
	for _, c := range b {
		if c == 0 || id && (c < 0x20 || c == 0x7f) {
			return a.errorf(ReasonBadType, field, "control character %q", c)
		}
	}
	return nil
}

// isNull reports whether v is absent or JSON null.
func isNull(v *fastjson.Value) bool {
	return v == nil || v.Type() == fastjson.TypeNull
}

// timestamp decodes v (an RFC 3339 string or unix milliseconds) and checks it against now.
func (d *Decoder) timestamp(v *fastjson.Value, now time.Time, a at) (time.Time, *Error) {
	const field = "ts"
	var ts time.Time
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		var ok bool
		ts, ok = parseRFC3339(b)
		if !ok {
			t, err := time.Parse(time.RFC3339Nano, string(b))
			if err != nil {
				return time.Time{}, a.errorf(ReasonBadType, field, "%q is not an RFC 3339 time", clip(string(b), 40))
			}
			ts = t.UTC()
		}
	case fastjson.TypeNumber:
		ms, e := number(v, a, field)
		if e != nil {
			return time.Time{}, e
		}
		// Range-check in milliseconds first: huge values would overflow time.Time arithmetic.
		nowMs := float64(now.UnixMilli())
		if ms > nowMs+float64(d.MaxFuture.Milliseconds()) {
			return time.Time{}, a.errorf(ReasonFutureTimestamp, field, "%s is more than %v ahead of now", fmtMs(ms), d.MaxFuture)
		}
		if ms < nowMs-float64(d.MaxPast.Milliseconds()) {
			return time.Time{}, a.errorf(ReasonStaleTimestamp, field, "%s is more than %v old", fmtMs(ms), d.MaxPast)
		}
		whole := math.Floor(ms)
		ts = time.UnixMilli(int64(whole)).Add(time.Duration(math.Round((ms - whole) * 1e6))).UTC()
	case fastjson.TypeNull:
		return time.Time{}, a.errorf(ReasonMissingField, field, "required")
	default:
		return time.Time{}, a.errorf(ReasonBadType, field, "want an RFC 3339 string or unix milliseconds, got %s", v.Type())
	}
	if ts.After(now.Add(d.MaxFuture)) {
		return time.Time{}, a.errorf(ReasonFutureTimestamp, field, "%s is more than %v ahead of now", ts.Format(time.RFC3339Nano), d.MaxFuture)
	}
	if ts.Before(now.Add(-d.MaxPast)) {
		return time.Time{}, a.errorf(ReasonStaleTimestamp, field, "%s is more than %v old", ts.Format(time.RFC3339Nano), d.MaxPast)
	}
	return ts, nil
}

// fmtMs formats a unix-milliseconds number for an error message.
func fmtMs(ms float64) string {
	return strconv.FormatFloat(ms, 'f', -1, 64) + " ms"
}

// position checks a latitude and longitude pair.
func position(lat, lon float64, a at) *Error {
	if lat < -90 || lat > 90 {
		return a.errorf(ReasonOutOfRange, "lat", "%g out of range -90..90", lat)
	}
	if lon < -180 || lon > 180 {
		return a.errorf(ReasonOutOfRange, "lon", "%g out of range -180..180", lon)
	}
	if lat == 0 && lon == 0 {
		return a.errorf(ReasonOutOfRange, "lat", "position (0, 0) (null island): no GPS fix")
	}
	return nil
}

// inRange checks lo <= f <= hi.
func inRange(f, lo, hi float64, a at, field string) *Error {
	if !(f >= lo && f <= hi) {
		return a.errorf(ReasonOutOfRange, field, "%g out of range %g..%g", f, lo, hi)
	}
	return nil
}

// Image magic numbers.
var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
)

// image decodes a base64 (standard encoding, padded) image and checks its size and magic
// number: JPEG, or with png set also PNG.
func (d *Decoder) image(v *fastjson.Value, a at, field string, png bool) ([]byte, *Error) {
	if v.Type() != fastjson.TypeString {
		return nil, a.errorf(ReasonBadType, field, "want a base64 string, got %s", v.Type())
	}
	b, _ := v.StringBytes()
	if n := base64.StdEncoding.DecodedLen(len(b)); n > d.MaxImage+2 {
		return nil, a.errorf(ReasonTooLarge, field, "image of about %d bytes is over the limit of %d", n, d.MaxImage)
	}
	img := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Decode(img, b)
	if err != nil {
		return nil, a.errorf(ReasonBadSnapshot, field, "invalid base64: %v", err)
	}
	img = img[:n]
	if len(img) > d.MaxImage {
		return nil, a.errorf(ReasonTooLarge, field, "image of %d bytes is over the limit of %d", len(img), d.MaxImage)
	}
	switch {
	case bytes.HasPrefix(img, jpegMagic):
	case png && bytes.HasPrefix(img, pngMagic):
	default:
		if png {
			return nil, a.errorf(ReasonBadSnapshot, field, "not a JPEG or PNG image")
		}
		return nil, a.errorf(ReasonBadSnapshot, field, "not a JPEG image")
	}
	return img, nil
}

// clip shortens s to at most n bytes for an error message, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
