package gateway

import (
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
)

// A journal record is: version(1) kind(1) qos(1) received-unix-nanos(8) idlen(1) id topiclen(2)
// topic payload. The topic is kept only for unknown sub-topics (for the dead letter); for the
// four known topics it is empty and rebuilt from kind and id.
const recordVersion = 1

// kindByte maps kinds to their byte in a record; 0 means an unknown sub-topic.
func kindByte(k lanewatch.Kind) byte {
	switch k {
	case lanewatch.KindTelemetry:
		return 1
	case lanewatch.KindCamera:
		return 2
	case lanewatch.KindPlaque:
		return 3
	case lanewatch.KindStatus:
		return 4
	}
	return 0
}

var byteKinds = [...]lanewatch.Kind{0: "", 1: lanewatch.KindTelemetry, 2: lanewatch.KindCamera, 3: lanewatch.KindPlaque, 4: lanewatch.KindStatus}

// record is a decoded journal record header; Payload aliases the record bytes.
type record struct {
	Kind     lanewatch.Kind
	QoS      byte
	Received time.Time
	DeviceID string
	Topic    string
	Payload  []byte
}

func appendRecord(dst []byte, r *record) []byte {
	dst = append(dst, recordVersion, kindByte(r.Kind), r.QoS)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.Received.UnixNano()))
	dst = append(dst, byte(len(r.DeviceID)))
	dst = append(dst, r.DeviceID...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.Topic)))
	dst = append(dst, r.Topic...)
	return append(dst, r.Payload...)
}

var errBadRecord = errors.New("malformed journal record")

func parseRecord(b []byte, r *record) error {
	if len(b) < 12 || b[0] != recordVersion || int(b[1]) >= len(byteKinds) {
		return errBadRecord
	}
	r.Kind = byteKinds[b[1]]
	r.QoS = b[2]
	r.Received = time.Unix(0, int64(binary.BigEndian.Uint64(b[3:11]))).UTC()
	n := int(b[11])
	b = b[12:]
	if len(b) < n+2 {
		return errBadRecord
	}
	r.DeviceID = string(b[:n])
	b = b[n:]
	t := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if len(b) < t {
		return errBadRecord
	}
	r.Topic = string(b[:t])
	r.Payload = b[t:]
	return nil
}

// parseTopic splits a device topic into its kind and device id. ok is false for topics that are
// not device topics at all. kind is "" for a device's own topic with an unknown sub-topic.
func parseTopic(topic string) (kind lanewatch.Kind, id string, ok bool) {
	first, rest, found := strings.Cut(topic, "/")
	if !found {
		return "", "", false
	}
	id, sub, found := strings.Cut(rest, "/")
	if id == "" {
		return "", "", false
	}
	if !found { // e.g. vehicles/{id}: a device's own topic but no known one, dead-lettered
		switch first {
		case "vehicles", "cameras", "plaques", "devices":
			return "", id, true
		}
		return "", "", false
	}
	switch first {
	case "vehicles":
		if sub == "telemetry" {
			return lanewatch.KindTelemetry, id, true
		}
	case "cameras":
		if sub == "events" {
			return lanewatch.KindCamera, id, true
		}
	case "plaques":
		if sub == "scans" {
			return lanewatch.KindPlaque, id, true
		}
	case "devices":
		if sub == "status" {
			return lanewatch.KindStatus, id, true
		}
	default:
		return "", "", false
	}
	return "", id, true
}
