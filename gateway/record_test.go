package gateway

import (
	"bytes"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch"
)

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []record{
		{Kind: lanewatch.KindTelemetry, QoS: 1, Received: time.Unix(1700000000, 123456789).UTC(), DeviceID: "sw-001", Payload: []byte(`{"a":1}`)},
		{Kind: "", QoS: 0, Received: time.Unix(1, 0).UTC(), DeviceID: "cam-9", Topic: "cameras/cam-9/other", Payload: nil},
	} {
		b := appendRecord(nil, &r)
		var got record
		if err := parseRecord(b, &got); err != nil {
			t.Fatalf("parse: %v", err)
		}
		if got.Kind != r.Kind || got.QoS != r.QoS || !got.Received.Equal(r.Received) || got.DeviceID != r.DeviceID ||
			got.Topic != r.Topic || !bytes.Equal(got.Payload, r.Payload) {
			t.Fatalf("round trip: got %+v want %+v", got, r)
		}
	}
	for _, bad := range [][]byte{nil, {9, 1, 0}, append([]byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200}, "short"...)} {
		var got record
		if err := parseRecord(bad, &got); err == nil {
			t.Fatalf("parseRecord(%v) accepted", bad)
		}
	}
}

func TestParseTopic(t *testing.T) {
	tests := []struct {
		topic string
		kind  lanewatch.Kind
		id    string
		ok    bool
	}{
		{"vehicles/sw-1/telemetry", lanewatch.KindTelemetry, "sw-1", true},
		{"cameras/c1/events", lanewatch.KindCamera, "c1", true},
		{"plaques/p1/scans", lanewatch.KindPlaque, "p1", true},
		{"devices/p1/status", lanewatch.KindStatus, "p1", true},
		{"vehicles/sw-1/other", "", "sw-1", true},
		{"vehicles//telemetry", "", "", false},
		{"foo/sw-1/telemetry", "", "", false},
		{"vehicles", "", "", false},
		{"vehicles/sw-1", "", "sw-1", true}, // two levels: journalled, then dead-lettered
		{"foo/sw-1", "", "", false},
		{"vehicles/", "", "", false},
	}
	for _, tt := range tests {
		k, id, ok := parseTopic(tt.topic)
		if k != tt.kind || id != tt.id || ok != tt.ok {
			t.Errorf("parseTopic(%q) = %q %q %v, want %q %q %v", tt.topic, k, id, ok, tt.kind, tt.id, tt.ok)
		}
	}
}

func TestFilterCovers(t *testing.T) {
	tests := []struct {
		allowed, filter string
		want            bool
	}{
		{"vehicles/+/telemetry", "vehicles/sw-1/telemetry", true},
		{"vehicles/+/telemetry", "vehicles/+/telemetry", true},
		{"vehicles/+/telemetry", "vehicles/#", false},
		{"vehicles/+/telemetry", "vehicles/+/+", false},
		{"vehicles/#", "vehicles/sw-1/telemetry", true},
		{"vehicles/#", "cameras/c/events", false},
		{"#", "anything/at/all", true},
		{"devices/+/status", "devices/x/status/extra", false},
	}
	for _, tt := range tests {
		if got := filterCovers(tt.allowed, tt.filter); got != tt.want {
			t.Errorf("filterCovers(%q, %q) = %v, want %v", tt.allowed, tt.filter, got, tt.want)
		}
	}
}
