package payload

import (
	"strings"
	"testing"
	"time"
)

func TestCameraPlate(t *testing.T) {
	d := &Decoder{}
	now := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	ev, err := d.Camera([]byte(`{"event_id":"e1","ts":"2026-03-03T09:59:00Z","type":"illegal_parking","plate":"粤T·12345"}`), now)
	if err != nil || ev.Plate != "粤T·12345" {
		t.Fatalf("plate = %q, %v", ev.Plate, err)
	}
	ev, err = d.Camera([]byte(`{"event_id":"e1","ts":"2026-03-03T09:59:00Z","type":"illegal_parking"}`), now)
	if err != nil || ev.Plate != "" {
		t.Fatalf("no plate = %q, %v", ev.Plate, err)
	}
	if _, err := d.Camera([]byte(`{"event_id":"e1","ts":"2026-03-03T09:59:00Z","type":"illegal_parking","plate":12345}`), now); err == nil || !strings.Contains(err.Error(), "plate") {
		t.Fatalf("numeric plate: %v", err)
	}
}
