package notices

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct{ doc, want string }{
		{"notices: {enabled: true, sms: {url: x}}", "notices.owner_lookup.url"},
		{"notices: {enabled: true, owner_lookup: {url: x}}", "notices.sms.url"},
		{`notices: {limits: {"0505": 10s}}`, "notices.limits.0505"},
		{"notices: {text: '{{.plate'}", "notices.text"},
		{"notices: {seen_within: 25h}", "notices.seen_within"},
	} {
		var doc struct {
			Notices Config `yaml:"notices"`
		}
		if err := yamlx.Decode("n.yaml", []byte(tt.doc), &doc); err != nil {
			t.Fatalf("%s: %v", tt.doc, err)
		}
		doc.Notices.SetDefaults()
		if err := doc.Notices.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.doc, err, tt.want)
		}
	}
	var shipped struct {
		Campaigns any    `yaml:"campaigns"`
		Review    any    `yaml:"review"`
		Notices   Config `yaml:"notices"`
	}
	if err := yamlx.ReadFile("../configs/supervision.yaml", &shipped); err != nil {
		t.Fatal(err)
	}
	shipped.Notices.SetDefaults()
	if err := shipped.Notices.Validate(); err != nil || time.Duration(shipped.Notices.Limits["0505"]) != 15*time.Minute {
		t.Fatalf("shipped notices: %v %+v", err, shipped.Notices)
	}
	if got := MaskPlate("粤T·12345"); got != "粤T***45" {
		t.Errorf("MaskPlate = %q", got)
	}
}

func FuzzConfig(f *testing.F) {
	b, err := os.ReadFile("testdata/notices.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc struct {
			Notices Config `yaml:"notices"`
		}
		if yamlx.Decode("n.yaml", data, &doc) != nil {
			return
		}
		doc.Notices.SetDefaults()
		if doc.Notices.Validate() == nil {
			for code, d := range doc.Notices.Limits {
				if time.Duration(d) < time.Minute {
					t.Fatalf("valid config with limit %s for %s", time.Duration(d), code)
				}
			}
		}
	})
}
