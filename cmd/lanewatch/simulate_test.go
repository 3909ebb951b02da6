package main

import (
	"strings"
	"testing"

	"github.com/lanewatch/lanewatch/devices"
)

// TestSelectDevices: --only and --except pick devices by id, and a typo is an error naming it
// (make run drives sp-005 and sp-006 as JT/T 808 terminals and every other device over MQTT).
func TestSelectDevices(t *testing.T) {
	file := func() *devices.SeedFile {
		return &devices.SeedFile{Devices: []devices.SeedDevice{{ID: "sw-001"}, {ID: "sp-005"}, {ID: "sp-006"}, {ID: "cam-001"}}}
	}
	ids := func(f *devices.SeedFile) string {
		var out []string
		for _, d := range f.Devices {
			out = append(out, d.ID)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct{ only, except, want, err string }{
		{"", "", "sw-001,sp-005,sp-006,cam-001", ""},
		{"sp-005, sp-006", "", "sp-005,sp-006", ""},
		{"", "sp-005,sp-006", "sw-001,cam-001", ""},
		{"sw-001,sp-005", "sp-005", "sw-001", ""},
		{"sp-05", "", "", "--only sp-05: no such device in the file"},
		{"", "sp-007", "", "--except sp-007: no such device in the file"},
	} {
		f := file()
		err := selectDevices(f, tc.only, tc.except)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("only %q except %q: err %v, want %q", tc.only, tc.except, err, tc.err)
			}
		case err != nil || ids(f) != tc.want:
			t.Errorf("only %q except %q: %s (%v), want %s", tc.only, tc.except, ids(f), err, tc.want)
		}
	}
}
