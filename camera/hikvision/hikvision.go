package hikvision

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
	"time"
)

// Limits of one push.
const (
	// MaxXML bounds the XML document.
	MaxXML = 256 << 10
	// MaxParts bounds the parts of a multipart push.
	MaxParts = 16
)

// Region is a detection region of an alert, with the target's box if known.
type Region struct {
	ID      string
	BBox    [4]float64 // x, y, w, h normalised 0..1, origin top left
	HasBBox bool
}

// Alert is one decoded EventNotificationAlert with the pictures pushed along.
type Alert struct {
	IPAddress   string
	MACAddress  string
	ChannelID   int
	DateTime    time.Time
	EventType   string
	EventState  string // active | inactive
	Description string
	ActiveCount int
	Confidence  float64 // 0..1; 0 when the camera sent none
	Regions     []Region
	// Pictures are the JPEG parts of a multipart push, in order.
	Pictures [][]byte
}

type coordXML struct {
	X float64 `xml:"positionX"`
	Y float64 `xml:"positionY"`
}

type rectXML struct {
	X      float64 `xml:"X"`
	Y      float64 `xml:"Y"`
	Width  float64 `xml:"width"`
	Height float64 `xml:"height"`
}

type regionXML struct {
	RegionID   string     `xml:"regionID"`
	Coords     []coordXML `xml:"RegionCoordinatesList>RegionCoordinates"`
	TargetRect *rectXML   `xml:"TargetRect"`
}

type alertXML struct {
	XMLName         xml.Name    `xml:"EventNotificationAlert"`
	IPAddress       string      `xml:"ipAddress"`
	MACAddress      string      `xml:"macAddress"`
	ChannelID       string      `xml:"channelID"`
	DynChannelID    string      `xml:"dynChannelID"`
	DateTime        string      `xml:"dateTime"`
	ActivePostCount int         `xml:"activePostCount"`
	EventType       string      `xml:"eventType"`
	EventState      string      `xml:"eventState"`
	EventDesc       string      `xml:"eventDescription"`
	Confidence      string      `xml:"confidence"`
	Regions         []regionXML `xml:"DetectionRegionList>DetectionRegionEntry"`
}

// Decode decodes a push body of the given Content-Type: XML (application/xml, text/xml, or no
// type) or multipart/form-data with one XML part and JPEG parts. maxPicture bounds each
// picture. A body without an EventNotificationAlert is an error.
func Decode(contentType string, body io.Reader, maxPicture int64) (*Alert, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if contentType == "" {
		mt, err = "application/xml", nil
	}
	if err != nil {
		return nil, fmt.Errorf("content type %q: %w", contentType, err)
	}
	switch {
	case mt == "multipart/form-data" || mt == "multipart/mixed":
		return decodeMultipart(params["boundary"], body, maxPicture)
	case strings.HasSuffix(mt, "/xml"):
		b, err := readBounded(body, MaxXML)
		if err != nil {
			return nil, err
		}
		return DecodeXML(b)
	}
	return nil, fmt.Errorf("content type %q: want application/xml or multipart/form-data", mt)
}

func readBounded(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("part larger than %d bytes", limit)
	}
	return b, nil
}

func decodeMultipart(boundary string, body io.Reader, maxPicture int64) (*Alert, error) {
	if boundary == "" {
		return nil, errors.New("multipart body without a boundary")
	}
	mr := multipart.NewReader(body, boundary)
	var alert *Alert
	var pics [][]byte
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("multipart: %w", err)
		}
		if n >= MaxParts {
			return nil, fmt.Errorf("multipart: more than %d parts", MaxParts)
		}
		ct := p.Header.Get("Content-Type")
		name := strings.ToLower(p.FileName() + " " + p.FormName())
		switch {
		case strings.Contains(ct, "xml") || strings.Contains(name, ".xml"):
			if alert != nil {
				return nil, errors.New("multipart: more than one XML part")
			}
			b, err := readBounded(p, MaxXML)
			if err != nil {
				return nil, err
			}
			if alert, err = DecodeXML(b); err != nil {
				return nil, err
			}
		case strings.HasPrefix(ct, "image/") || strings.HasSuffix(strings.TrimSpace(name), ".jpg"):
			b, err := readBounded(p, maxPicture)
			if err != nil {
				return nil, fmt.Errorf("picture %q: %w", p.FileName(), err)
			}
			if len(b) < 3 || b[0] != 0xFF || b[1] != 0xD8 || b[2] != 0xFF {
				return nil, fmt.Errorf("picture %q: not a JPEG", p.FileName())
			}
			pics = append(pics, b)
		default:
			if _, err := io.Copy(io.Discard, io.LimitReader(p, MaxXML)); err != nil {
				return nil, fmt.Errorf("multipart: %w", err)
			}
		}
	}
	if alert == nil {
		return nil, errors.New("multipart: no EventNotificationAlert XML part")
	}
	alert.Pictures = pics
	return alert, nil
}

// DecodeXML decodes one EventNotificationAlert document. Region coordinates are on Hikvision's
// 0..1000 grid with the origin at the bottom left; TargetRect is normalised 0..1 with the
// origin at the top left (values over 1 are read as the 0..1000 grid).
func DecodeXML(b []byte) (*Alert, error) {
	var x alertXML
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	if err := dec.Decode(&x); err != nil {
		return nil, fmt.Errorf("EventNotificationAlert: %w", err)
	}
	if x.EventType == "" {
		return nil, errors.New("EventNotificationAlert: eventType is missing")
	}
	a := &Alert{IPAddress: x.IPAddress, MACAddress: x.MACAddress, EventType: strings.TrimSpace(x.EventType),
		EventState: strings.ToLower(strings.TrimSpace(x.EventState)), Description: x.EventDesc, ActiveCount: x.ActivePostCount}
	ch := strings.TrimSpace(x.ChannelID)
	if ch == "" {
		ch = strings.TrimSpace(x.DynChannelID)
	}
	if ch != "" {
		n, err := strconv.Atoi(ch)
		if err != nil || n < 0 || n > 4096 {
			return nil, fmt.Errorf("EventNotificationAlert: channelID %q is not a channel number", ch)
		}
		a.ChannelID = n
	}
	switch a.EventState {
	case "", "active", "inactive":
	default:
		return nil, fmt.Errorf("EventNotificationAlert: eventState %q is not active or inactive", x.EventState)
	}
	if s := strings.TrimSpace(x.DateTime); s != "" {
		t, err := parseTime(s)
		if err != nil {
			return nil, fmt.Errorf("EventNotificationAlert: dateTime %q: %w", s, err)
		}
		a.DateTime = t
	}
	if s := strings.TrimSpace(x.Confidence); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 100 || f != f {
			return nil, fmt.Errorf("EventNotificationAlert: confidence %q is not a number in 0..100", s)
		}
		if f > 1 {
			f /= 100
		}
		a.Confidence = f
	}
	for i, r := range x.Regions {
		reg := Region{ID: strings.TrimSpace(r.RegionID)}
		switch {
		case r.TargetRect != nil:
			t := r.TargetRect
			vals := []float64{t.X, t.Y, t.Width, t.Height}
			scale := 1.0
			for _, v := range vals {
				if v != v || v < 0 || v > 1000 {
					return nil, fmt.Errorf("EventNotificationAlert: region %d: TargetRect value %g out of range", i+1, v)
				}
				if v > 1 {
					scale = 1000
				}
			}
			reg.BBox = box(t.X, t.Y, t.X+t.Width, t.Y+t.Height, scale, false)
			reg.HasBBox = true
		case len(r.Coords) >= 2:
			x1, y1, x2, y2 := r.Coords[0].X, r.Coords[0].Y, r.Coords[0].X, r.Coords[0].Y
			for _, c := range r.Coords {
				if c.X != c.X || c.Y != c.Y || c.X < 0 || c.X > 1000 || c.Y < 0 || c.Y > 1000 {
					return nil, fmt.Errorf("EventNotificationAlert: region %d: coordinate (%g, %g) is off the 0..1000 grid", i+1, c.X, c.Y)
				}
				x1, y1, x2, y2 = min(x1, c.X), min(y1, c.Y), max(x2, c.X), max(y2, c.Y)
			}
			reg.BBox = box(x1, y1, x2, y2, 1000, true)
			reg.HasBBox = true
		}
		a.Regions = append(a.Regions, reg)
	}
	return a, nil
}

// box normalises corners on a grid of size scale; flipY for a bottom-left origin.
func box(x1, y1, x2, y2, scale float64, flipY bool) [4]float64 {
	n := func(v float64) float64 { return min(1, max(0, v/scale)) }
	ax, bx := n(min(x1, x2)), n(max(x1, x2))
	ay, by := n(min(y1, y2)), n(max(y1, y2))
	if flipY {
		ay, by = 1-by, 1-ay
	}
	return [4]float64{ax, ay, bx - ax, by - ay}
}

// parseTime reads the ISAPI dateTime: RFC 3339 with or without a zone (no zone: UTC+8, the
// cameras' usual local time, is NOT assumed; it is read as UTC and documented).
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not an ISO 8601 time")
}
