package jt808

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Message ids lanewatch handles.
const (
	MsgTerminalResponse   uint16 = 0x0001
	MsgHeartbeat          uint16 = 0x0002
	MsgUnregister         uint16 = 0x0003
	MsgRegister           uint16 = 0x0100
	MsgAuth               uint16 = 0x0102
	MsgLocation           uint16 = 0x0200
	MsgLocationQueryReply uint16 = 0x0201
	MsgBatch              uint16 = 0x0704
	MsgPlatformResponse   uint16 = 0x8001
	MsgRetransmitRequest  uint16 = 0x8003 // 补传分包请求
	MsgRegisterResponse   uint16 = 0x8100
	MsgSetParams          uint16 = 0x8103
	MsgLocationQuery      uint16 = 0x8201
	MsgText               uint16 = 0x8300
)

// Results of the general responses (0x0001, 0x8001).
const (
	ResultOK          byte = 0
	ResultFailure     byte = 1
	ResultBadMessage  byte = 2
	ResultUnsupported byte = 3
)

// Registration results (0x8100).
const (
	RegisterOK               byte = 0
	RegisterVehicleTaken     byte = 1
	RegisterNoVehicle        byte = 2
	RegisterTerminalTaken    byte = 3
	RegisterNoTerminal       byte = 4
	registerAuthCodeMaxBytes      = 64
)

// China Standard Time, the time zone of JT/T 808 BCD times.
var cst = time.FixedZone("CST", 8*3600)

func bodyErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBody, fmt.Sprintf(format, args...))
}

// DecodeGBK decodes GBK text (JT/T 808 STRING), dropping a trailing NUL.
func DecodeGBK(b []byte) (string, error) {
	b = bytes.TrimRight(b, "\x00")
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil || bytes.ContainsRune(s, utf8.RuneError) {
		return "", bodyErr("text is not GBK (% x)", b[:min(len(b), 16)])
	}
	return string(s), nil
}

// EncodeGBK encodes text as GBK; characters GBK lacks are an error.
func EncodeGBK(s string) ([]byte, error) {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return nil, bodyErr("text %q cannot be written in GBK: %v", s, err)
	}
	return b, nil
}

// Location is a location report (0x0200 body).
type Location struct {
	Alarm, Status uint32
	Lat, Lon      float64 // degrees, WGS-84; negative south / west (status bits 2, 3)
	AltitudeM     int     // metres
	SpeedKmh      float64 // 1/10 km/h on the wire
	Heading       int     // 0..359
	Time          time.Time
	// Items are the additional-information items, in their order on the wire.
	Items []Item
}

// Item is one additional-information item of a location report.
type Item struct {
	ID    byte
	Value []byte
}

// Item returns the value of the first item with id, nil when absent.
func (l *Location) Item(id byte) []byte {
	for _, it := range l.Items {
		if it.ID == id {
			return it.Value
		}
	}
	return nil
}

// Status bits used.
const (
	StatusACC        = 1 << 0
	StatusPositioned = 1 << 1
	StatusSouth      = 1 << 2
	StatusWest       = 1 << 3
)

// DecodeLocation decodes a 0x0200 body (also the location part of 0x0201 and 0x0704 items).
func DecodeLocation(b []byte) (*Location, error) {
	if len(b) < 28 {
		return nil, bodyErr("location is %d bytes, at least 28 expected", len(b))
	}
	l := &Location{Alarm: binary.BigEndian.Uint32(b), Status: binary.BigEndian.Uint32(b[4:])}
	lat, lon := binary.BigEndian.Uint32(b[8:]), binary.BigEndian.Uint32(b[12:])
	if lat > 90_000_000 || lon > 180_000_000 {
		return nil, bodyErr("latitude %d or longitude %d out of range", lat, lon)
	}
	l.Lat, l.Lon = float64(lat)/1e6, float64(lon)/1e6
	if l.Status&StatusSouth != 0 {
		l.Lat = -l.Lat
	}
	if l.Status&StatusWest != 0 {
		l.Lon = -l.Lon
	}
	l.AltitudeM = int(int16(binary.BigEndian.Uint16(b[16:])))
	l.SpeedKmh = float64(binary.BigEndian.Uint16(b[18:])) / 10
	l.Heading = int(binary.BigEndian.Uint16(b[20:]))
	t, err := decodeTime(b[22:28])
	if err != nil {
		return nil, err
	}
	l.Time = t
	rest := b[28:]
	for len(rest) > 0 {
		if len(rest) < 2 || len(rest) < 2+int(rest[1]) {
			return nil, bodyErr("additional item 0x%02x truncated", rest[0])
		}
		l.Items = append(l.Items, Item{ID: rest[0], Value: rest[2 : 2+int(rest[1])]})
		rest = rest[2+int(rest[1]):]
	}
	return l, nil
}

// AppendLocation appends the 0x0200 body of l.
func AppendLocation(dst []byte, l *Location) []byte {
	st := l.Status &^ (StatusSouth | StatusWest)
	lat, lon := l.Lat, l.Lon
	if lat < 0 {
		st |= StatusSouth
		lat = -lat
	}
	if lon < 0 {
		st |= StatusWest
		lon = -lon
	}
	dst = binary.BigEndian.AppendUint32(dst, l.Alarm)
	dst = binary.BigEndian.AppendUint32(dst, st)
	dst = binary.BigEndian.AppendUint32(dst, uint32(lat*1e6+0.5))
	dst = binary.BigEndian.AppendUint32(dst, uint32(lon*1e6+0.5))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(l.AltitudeM)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(l.SpeedKmh*10+0.5))
	dst = binary.BigEndian.AppendUint16(dst, uint16(l.Heading))
	dst = appendTime(dst, l.Time)
	for _, it := range l.Items {
		dst = append(dst, it.ID, byte(len(it.Value)))
		dst = append(dst, it.Value...)
	}
	return dst
}

func decodeTime(b []byte) (time.Time, error) {
	var v [6]int
	for i, x := range b[:6] {
		hi, lo := x>>4, x&0x0f
		if hi > 9 || lo > 9 {
			return time.Time{}, bodyErr("time byte 0x%02x is not BCD", x)
		}
		v[i] = int(hi)*10 + int(lo)
	}
	if v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 59 {
		return time.Time{}, bodyErr("time %02d-%02d-%02d %02d:%02d:%02d is not a time", v[0], v[1], v[2], v[3], v[4], v[5])
	}
	t := time.Date(2000+v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], 0, cst)
	if t.Day() != v[2] {
		return time.Time{}, bodyErr("day %d does not exist in %d-%02d", v[2], 2000+v[0], v[1])
	}
	return t.UTC(), nil
}

func appendTime(dst []byte, t time.Time) []byte {
	t = t.In(cst)
	for _, v := range []int{t.Year() % 100, int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second()} {
		dst = append(dst, byte(v/10)<<4|byte(v%10))
	}
	return dst
}

// DecodeBatch decodes a 0x0704 body: the locations it carries, and whether they are a
// blind-area backfill (type 1).
func DecodeBatch(b []byte) (locs []*Location, backfill bool, err error) {
	if len(b) < 3 {
		return nil, false, bodyErr("batch is %d bytes, at least 3 expected", len(b))
	}
	n := int(binary.BigEndian.Uint16(b))
	backfill = b[2] == 1
	rest := b[3:]
	for i := range n {
		if len(rest) < 2 {
			return nil, false, bodyErr("batch item %d of %d missing", i+1, n)
		}
		l := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+l {
			return nil, false, bodyErr("batch item %d truncated", i+1)
		}
		loc, err := DecodeLocation(rest[2 : 2+l])
		if err != nil {
			return nil, false, fmt.Errorf("batch item %d: %w", i+1, err)
		}
		locs = append(locs, loc)
		rest = rest[2+l:]
	}
	if len(rest) != 0 {
		return nil, false, bodyErr("%d bytes after the %d batch items", len(rest), n)
	}
	return locs, backfill, nil
}

// AppendBatch appends a 0x0704 body.
func AppendBatch(dst []byte, locs []*Location, backfill bool) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(locs)))
	t := byte(0)
	if backfill {
		t = 1
	}
	dst = append(dst, t)
	for _, l := range locs {
		item := AppendLocation(nil, l)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(item)))
		dst = append(dst, item...)
	}
	return dst
}

// Registration is a terminal registration (0x0100).
type Registration struct {
	Province, City uint16
	Manufacturer   string
	Model          string
	TerminalID     string
	PlateColor     byte
	Plate          string // GBK on the wire
}

// DecodeRegistration decodes a 0x0100 body of version v.
func DecodeRegistration(b []byte, v Version) (*Registration, error) {
	manu, model, tid := 5, 20, 7
	if v == V2019 {
		manu, model, tid = 11, 30, 30
	}
	fixed := 4 + manu + model + tid + 1
	if len(b) < fixed {
		if v == V2013 && len(b) >= 4+5+8+7+1 { // 2011: an 8-byte model
			model, fixed = 8, 4+5+8+7+1
		} else {
			return nil, bodyErr("registration is %d bytes, at least %d expected", len(b), fixed)
		}
	}
	r := &Registration{Province: binary.BigEndian.Uint16(b), City: binary.BigEndian.Uint16(b[2:])}
	o := 4
	r.Manufacturer = cString(b[o : o+manu])
	o += manu
	r.Model = cString(b[o : o+model])
	o += model
	r.TerminalID = cString(b[o : o+tid])
	o += tid
	r.PlateColor = b[o]
	plate, err := DecodeGBK(b[o+1:])
	if err != nil {
		return nil, fmt.Errorf("plate: %w", err)
	}
	r.Plate = plate
	return r, nil
}

// AppendRegistration appends a 0x0100 body of version v.
func AppendRegistration(dst []byte, r *Registration, v Version) ([]byte, error) {
	manu, model, tid := 5, 20, 7
	if v == V2019 {
		manu, model, tid = 11, 30, 30
	}
	dst = binary.BigEndian.AppendUint16(dst, r.Province)
	dst = binary.BigEndian.AppendUint16(dst, r.City)
	dst = appendFixed(dst, r.Manufacturer, manu)
	dst = appendFixed(dst, r.Model, model)
	dst = appendFixed(dst, r.TerminalID, tid)
	dst = append(dst, r.PlateColor)
	plate, err := EncodeGBK(r.Plate)
	if err != nil {
		return nil, err
	}
	return append(dst, plate...), nil
}

func appendFixed(dst []byte, s string, n int) []byte {
	b := make([]byte, n)
	copy(b, s)
	return append(dst, b...)
}

// cString is b up to its first NUL, as text (ASCII fields).
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.ToValidUTF8(strings.TrimSpace(string(b)), "?")
}

// Auth is a terminal authentication (0x0102).
type Auth struct {
	Code     string
	IMEI     string // 2019
	Software string // 2019
}

// DecodeAuth decodes a 0x0102 body of version v.
func DecodeAuth(b []byte, v Version) (*Auth, error) {
	if v == V2013 {
		code, err := DecodeGBK(b)
		if err != nil {
			return nil, err
		}
		return &Auth{Code: code}, nil
	}
	if len(b) < 1 || len(b) < 1+int(b[0])+15+20 {
		return nil, bodyErr("2019 authentication is %d bytes, too short", len(b))
	}
	n := int(b[0])
	code, err := DecodeGBK(b[1 : 1+n])
	if err != nil {
		return nil, err
	}
	return &Auth{Code: code, IMEI: cString(b[1+n : 16+n]), Software: cString(b[16+n : 36+n])}, nil
}

// AppendAuth appends a 0x0102 body of version v.
func AppendAuth(dst []byte, a *Auth, v Version) ([]byte, error) {
	code, err := EncodeGBK(a.Code)
	if err != nil {
		return nil, err
	}
	if v == V2013 {
		return append(dst, code...), nil
	}
	if len(code) > 255 {
		return nil, bodyErr("auth code longer than 255 bytes")
	}
	dst = append(dst, byte(len(code)))
	dst = append(dst, code...)
	dst = appendFixed(dst, a.IMEI, 15)
	return appendFixed(dst, a.Software, 20), nil
}

// GeneralResponse is a general response (0x0001 from a terminal, 0x8001 from the platform).
type GeneralResponse struct {
	Serial uint16 // of the message answered
	MsgID  uint16 // of the message answered
	Result byte
}

// DecodeGeneralResponse decodes a 0x0001 or 0x8001 body.
func DecodeGeneralResponse(b []byte) (*GeneralResponse, error) {
	if len(b) != 5 {
		return nil, bodyErr("general response is %d bytes, 5 expected", len(b))
	}
	return &GeneralResponse{Serial: binary.BigEndian.Uint16(b), MsgID: binary.BigEndian.Uint16(b[2:]), Result: b[4]}, nil
}

// AppendGeneralResponse appends a 0x0001 or 0x8001 body.
func AppendGeneralResponse(dst []byte, r GeneralResponse) []byte {
	dst = binary.BigEndian.AppendUint16(dst, r.Serial)
	dst = binary.BigEndian.AppendUint16(dst, r.MsgID)
	return append(dst, r.Result)
}

// RetransmitRequest is the body of 0x8003 (补传分包请求): the serial of the first package of
// the split message and the 1-based indexes of the packages to send again.
type RetransmitRequest struct {
	FirstSerial uint16
	Indexes     []uint16
}

// maxRetransmitIndexes is the most package indexes a 0x8003 body carries: the count is a BYTE
// in 2013 and a WORD in 2019, and a body is at most 1023 bytes (10-bit length), 2 + 2 + 2n.
func maxRetransmitIndexes(v Version) int {
	if v == V2019 {
		return (attrLenMask - 4) / 2
	}
	return 255
}

// retransmitCountLen is the size of the count field: BYTE in JT/T 808-2013 (table 6), WORD
// in JT/T 808-2019 (see TestRetransmitRequest for the public codecs that agree).
func retransmitCountLen(v Version) int {
	if v == V2019 {
		return 2
	}
	return 1
}

// AppendRetransmitRequest appends a 0x8003 body of version v: first serial WORD, count (BYTE
// in 2013, WORD in 2019), indexes WORD each.
func AppendRetransmitRequest(dst []byte, r RetransmitRequest, v Version) []byte {
	ids := r.Indexes[:min(len(r.Indexes), maxRetransmitIndexes(v))]
	dst = binary.BigEndian.AppendUint16(dst, r.FirstSerial)
	if retransmitCountLen(v) == 2 {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(ids)))
	} else {
		dst = append(dst, byte(len(ids)))
	}
	for _, i := range ids {
		dst = binary.BigEndian.AppendUint16(dst, i)
	}
	return dst
}

// DecodeRetransmitRequest decodes a 0x8003 body of version v.
func DecodeRetransmitRequest(b []byte, v Version) (*RetransmitRequest, error) {
	cl := retransmitCountLen(v)
	if len(b) < 2+cl {
		return nil, bodyErr("retransmit request is %d bytes, at least %d expected", len(b), 2+cl)
	}
	n := int(b[2])
	if cl == 2 {
		n = int(binary.BigEndian.Uint16(b[2:]))
	}
	if len(b) != 2+cl+2*n {
		return nil, bodyErr("retransmit request of %d packages is %d bytes, %d expected", n, len(b), 2+cl+2*n)
	}
	r := &RetransmitRequest{FirstSerial: binary.BigEndian.Uint16(b), Indexes: make([]uint16, n)}
	for i := range n {
		r.Indexes[i] = binary.BigEndian.Uint16(b[2+cl+2*i:])
	}
	return r, nil
}

// AppendRegisterResponse appends a 0x8100 body: the registration's serial, the result and,
// on success, the auth code.
func AppendRegisterResponse(dst []byte, serial uint16, result byte, code string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, serial)
	dst = append(dst, result)
	if result == RegisterOK {
		dst = append(dst, code...)
	}
	return dst
}

// DecodeRegisterResponse decodes a 0x8100 body.
func DecodeRegisterResponse(b []byte) (serial uint16, result byte, code string, err error) {
	if len(b) < 3 {
		return 0, 0, "", bodyErr("registration response is %d bytes, at least 3 expected", len(b))
	}
	return binary.BigEndian.Uint16(b), b[2], string(bytes.TrimRight(b[3:], "\x00")), nil
}

// Param is one terminal parameter of 0x8103: an id and its encoded value.
type Param struct {
	ID    uint32
	Value []byte
}

// paramKinds are the value types of the parameters lanewatch knows by id (JT/T 808 table 12);
// others take the type of the JSON value (number: DWORD, string: STRING).
var paramKinds = map[uint32]string{
	0x0001: "dword", 0x0002: "dword", 0x0003: "dword", 0x0010: "string", 0x0013: "string",
	0x0018: "dword", 0x0020: "dword", 0x0021: "dword", 0x0022: "dword", 0x0027: "dword",
	0x0028: "dword", 0x0029: "dword", 0x002c: "dword", 0x0030: "dword", 0x0055: "dword",
	0x0056: "dword", 0x0080: "dword", 0x0081: "word", 0x0082: "word", 0x0083: "string", 0x0084: "byte",
}

// ParseParam builds a parameter from a JSON-decoded key ("0x0029" or "41") and value.
func ParseParam(key string, value any) (Param, error) {
	id, err := strconv.ParseUint(key, 0, 32)
	if err != nil {
		return Param{}, bodyErr("parameter id %q is not a number like \"0x0029\"", key)
	}
	p := Param{ID: uint32(id)}
	kind := paramKinds[p.ID]
	switch v := value.(type) {
	case float64:
		if v < 0 || v != float64(uint32(v)) {
			return Param{}, bodyErr("parameter %s: %v is not an unsigned integer", key, v)
		}
		switch kind {
		case "", "dword":
			p.Value = binary.BigEndian.AppendUint32(nil, uint32(v))
		case "word":
			if v > 0xffff {
				return Param{}, bodyErr("parameter %s: %v does not fit a WORD", key, v)
			}
			p.Value = binary.BigEndian.AppendUint16(nil, uint16(v))
		case "byte":
			if v > 0xff {
				return Param{}, bodyErr("parameter %s: %v does not fit a BYTE", key, v)
			}
			p.Value = []byte{byte(v)}
		default:
			return Param{}, bodyErr("parameter %s is text, got a number", key)
		}
	case string:
		if kind != "" && kind != "string" {
			return Param{}, bodyErr("parameter %s is a number, got text", key)
		}
		if p.Value, err = EncodeGBK(v); err != nil {
			return Param{}, err
		}
	default:
		return Param{}, bodyErr("parameter %s: a number or text expected", key)
	}
	if len(p.Value) > 255 {
		return Param{}, bodyErr("parameter %s: longer than 255 bytes", key)
	}
	return p, nil
}

// AppendSetParams appends a 0x8103 body.
func AppendSetParams(dst []byte, ps []Param) ([]byte, error) {
	if len(ps) == 0 || len(ps) > 255 {
		return nil, bodyErr("set parameters needs 1..255 parameters, got %d", len(ps))
	}
	dst = append(dst, byte(len(ps)))
	for _, p := range ps {
		dst = binary.BigEndian.AppendUint32(dst, p.ID)
		dst = append(dst, byte(len(p.Value)))
		dst = append(dst, p.Value...)
	}
	return dst, nil
}

// DecodeSetParams decodes a 0x8103 body.
func DecodeSetParams(b []byte) ([]Param, error) {
	if len(b) < 1 {
		return nil, bodyErr("empty set parameters")
	}
	n := int(b[0])
	rest := b[1:]
	var ps []Param
	for i := range n {
		if len(rest) < 5 || len(rest) < 5+int(rest[4]) {
			return nil, bodyErr("parameter %d of %d truncated", i+1, n)
		}
		ps = append(ps, Param{ID: binary.BigEndian.Uint32(rest), Value: rest[5 : 5+int(rest[4])]})
		rest = rest[5+int(rest[4]):]
	}
	return ps, nil
}

// Text flags of 0x8300.
const (
	TextUrgent  byte = 1 << 0
	TextDisplay byte = 1 << 2
	TextTTS     byte = 1 << 3
)

// AppendText appends a 0x8300 body of version v (2019 adds the text type byte, 1 = notice).
func AppendText(dst []byte, flags byte, text string, v Version) ([]byte, error) {
	b, err := EncodeGBK(text)
	if err != nil {
		return nil, err
	}
	dst = append(dst, flags)
	if v == V2019 {
		dst = append(dst, 1)
	}
	return append(dst, b...), nil
}

// DecodeText decodes a 0x8300 body of version v.
func DecodeText(b []byte, v Version) (flags byte, text string, err error) {
	skip := 1
	if v == V2019 {
		skip = 2
	}
	if len(b) < skip {
		return 0, "", bodyErr("text message is %d bytes", len(b))
	}
	text, err = DecodeGBK(b[skip:])
	return b[0], text, err
}
