package dahua

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits of one push.
const (
	MaxEvents = 64
	// Grid is the extent of Dahua's relative coordinates (0..8191).
	Grid = 8191
)

// Event is one decoded event line.
type Event struct {
	Code       string
	Action     string // Start | Stop | Pulse
	Index      int    // channel, from 0
	EventID    string // data.EventID, if sent
	UTC        time.Time
	Confidence float64 // 0..1; 0 when absent
	ObjectType string
	RegionName string // data.Name or data.RuleName
	BBox       [4]float64
	HasBBox    bool
}

type objectJSON struct {
	BoundingBox []float64 `json:"BoundingBox"`
	Confidence  *float64  `json:"Confidence"`
	ObjectType  string    `json:"ObjectType"`
}

type dataJSON struct {
	EventID    json.Number  `json:"EventID"`
	UTC        *float64     `json:"UTC"`
	Name       string       `json:"Name"`
	RuleName   string       `json:"RuleName"`
	Object     *objectJSON  `json:"Object"`
	Objects    []objectJSON `json:"Objects"`
	Confidence *float64     `json:"Confidence"`
}

// Decode finds every line starting with "Code=" in body (other lines, such as multipart
// boundaries and headers of the event stream, are skipped) and decodes it. A data={...} value
// may span lines. A body without any event is an error.
func Decode(body []byte) ([]Event, error) {
	var out []Event
	buf := body
	for {
		i := lineStart(buf, []byte("Code="))
		if i < 0 {
			break
		}
		if len(out) >= MaxEvents {
			return nil, fmt.Errorf("more than %d events in one push", MaxEvents)
		}
		ev, used, err := decodeEvent(buf[i:])
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", len(out)+1, err)
		}
		out = append(out, ev)
		buf = buf[i+max(used, 1):]
	}
	if len(out) == 0 {
		return nil, errors.New("no Code=... event line")
	}
	return out, nil
}

// lineStart returns the index of the first occurrence of prefix at the start of a line
// (after optional spaces), or -1.
func lineStart(b, prefix []byte) int {
	off := 0
	for len(b) > 0 {
		line := b
		if j := bytes.IndexByte(b, '\n'); j >= 0 {
			line = b[:j+1]
		}
		trimmed := bytes.TrimLeft(line, " \t")
		if bytes.HasPrefix(trimmed, prefix) {
			return off + len(line) - len(trimmed)
		}
		off += len(line)
		b = b[len(line):]
	}
	return -1
}

// decodeEvent decodes one event from the start of b and returns how many bytes it used.
func decodeEvent(b []byte) (Event, int, error) {
	var ev Event
	pos := 0
	seen := map[string]bool{}
	for pos < len(b) {
		if b[pos] == '\n' || b[pos] == '\r' {
			break
		}
		end := bytes.IndexAny(b[pos:], ";\r\n")
		field := b[pos:]
		if end >= 0 {
			field = b[pos : pos+end]
		}
		key, val, ok := bytes.Cut(field, []byte("="))
		k := string(bytes.TrimSpace(key))
		if !ok || k == "" {
			return ev, 0, fmt.Errorf("field %q: want key=value", clip(string(field)))
		}
		if seen[k] {
			return ev, 0, fmt.Errorf("field %s given twice", k)
		}
		seen[k] = true
		// data={...} may span lines; a plain value (data=key=value, sent by some events) has
		// nothing lanewatch reads and is skipped like any other unknown field below.
		if k == "data" && bytes.HasPrefix(bytes.TrimLeft(val, " \t"), []byte("{")) {
			start := pos + len(key) + 1
			dec := json.NewDecoder(bytes.NewReader(b[start:]))
			dec.UseNumber()
			var d dataJSON
			if err := dec.Decode(&d); err != nil {
				return ev, 0, fmt.Errorf("data: %w", err)
			}
			if err := ev.applyData(&d); err != nil {
				return ev, 0, err
			}
			pos = start + int(dec.InputOffset())
			if pos < len(b) && b[pos] == ';' {
				pos++
			}
			continue
		}
		v := string(bytes.TrimSpace(val))
		switch k {
		case "Code":
			ev.Code = v
		case "action":
			switch v {
			case "Start", "Stop", "Pulse":
				ev.Action = v
			default:
				return ev, 0, fmt.Errorf("action %q: want Start, Stop or Pulse", clip(v))
			}
		case "index":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 4096 {
				return ev, 0, fmt.Errorf("index %q: want a channel number", clip(v))
			}
			ev.Index = n
		}
		if end < 0 {
			pos = len(b)
			break
		}
		pos += end
		if b[pos] == ';' {
			pos++
		}
	}
	if ev.Code == "" {
		return ev, 0, errors.New("event code (Code=) is empty")
	}
	if ev.Action == "" {
		return ev, 0, errors.New("action is missing")
	}
	return ev, pos, nil
}

func (ev *Event) applyData(d *dataJSON) error {
	if d.EventID != "" {
		ev.EventID = d.EventID.String()
	}
	if d.UTC != nil {
		if *d.UTC < 0 || *d.UTC > 1e11 {
			return fmt.Errorf("data.UTC %g is not a unix time", *d.UTC)
		}
		ev.UTC = time.Unix(int64(*d.UTC), 0).UTC()
	}
	ev.RegionName = d.Name
	if ev.RegionName == "" {
		ev.RegionName = d.RuleName
	}
	obj := d.Object
	if obj == nil && len(d.Objects) > 0 {
		obj = &d.Objects[0]
	}
	conf := d.Confidence
	if obj != nil {
		ev.ObjectType = obj.ObjectType
		if obj.Confidence != nil {
			conf = obj.Confidence
		}
		if bb := obj.BoundingBox; bb != nil {
			if len(bb) != 4 {
				return fmt.Errorf("data.Object.BoundingBox: want 4 numbers, got %d", len(bb))
			}
			for _, v := range bb {
				if v < 0 || v > Grid {
					return fmt.Errorf("data.Object.BoundingBox: %g is off the 0..%d grid", v, Grid)
				}
			}
			ev.BBox = box(bb[0], bb[1], bb[2], bb[3])
			ev.HasBBox = true
		}
	}
	if conf != nil {
		c := *conf
		if c < 0 || c > 100 {
			return fmt.Errorf("confidence %g: want 0..100", c)
		}
		if c > 1 {
			c /= 100
		}
		ev.Confidence = c
	}
	return nil
}

// box converts Dahua corners [x1, y1, x2, y2] on the 0..8191 grid to a normalised [x, y, w, h].
func box(x1, y1, x2, y2 float64) [4]float64 {
	ax, bx := min(x1, x2)/Grid, max(x1, x2)/Grid
	ay, by := min(y1, y2)/Grid, max(y1, y2)/Grid
	return [4]float64{ax, ay, bx - ax, by - ay}
}

func clip(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "…"
	}
	return s
}
