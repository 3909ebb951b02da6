package camera

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadShippedConfig(t *testing.T) {
	c, err := LoadConfig("../configs/cameras.yaml")
	if err != nil {
		t.Fatal(err)
	}
	def, per := c.Grouping()
	if def.IoU != 0.3 || def.Window.Minutes() != 30 || per["abandoned_vehicle"].Window.Hours() != 72 || per["illegal_parking"].Window.Minutes() != 20 {
		t.Fatalf("grouping = %+v %+v", def, per)
	}
	cam, ok := c.Camera("cam-005")
	if !ok {
		t.Fatal("cam-005 missing")
	}
	if typ, _ := c.TypeOf(cam, "fielddetection"); typ != "outdoor_barbecue" {
		t.Fatalf("per-camera override: %q", typ)
	}
	if typ, _ := c.TypeOf(cam, "parking"); typ != "illegal_parking" {
		t.Fatalf("vendor map: %q", typ)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key":  {"incidents: {iou: 0.3, nope: 1}\n", "nope"},
		"bad iou":      {"incidents: {iou: 3}\n", "incidents.iou"},
		"bad type":     {"vendors: {dahua: {event_codes: {X: flying_saucer}}}\n", "flying_saucer"},
		"bad vendor":   {"cameras: [{id: c1, vendor: axis}]\n", "axis"},
		"no password":  {"cameras: [{id: c1, vendor: dahua, username: u}]\n", "password"},
		"dup camera":   {"cameras: [{id: c1}, {id: c1}]\n", "twice"},
		"heartbeat ty": {"incidents: {types: {heartbeat: {iou: 0.5}}}\n", "detection type"},
	} {
		p := filepath.Join(t.TempDir(), "cameras.yaml")
		os.WriteFile(p, []byte(tc.yaml), 0o600)
		_, err := LoadConfig(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want mention of %q", name, err, tc.want)
		}
	}
}
