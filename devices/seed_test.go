package devices

import (
	"os"
	"strings"
	"testing"
)

func TestParseSeed(t *testing.T) {
	shipped, err := os.ReadFile("../configs/devices.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseSeed("devices.yaml", shipped)
	if err != nil {
		t.Fatal(err)
	}
	g, err := LoadSeed("../configs/devices.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Devices) == 0 || len(f.Devices) != len(g.Devices) {
		t.Fatalf("ParseSeed %d devices, LoadSeed %d", len(f.Devices), len(g.Devices))
	}
	for _, tt := range []struct{ body, want string }{
		{"devices: [{id: a, type: tank, password: 12345678}]\n", "s.yaml:1:19: devices[0].type"},
		{"devices: [{id: a, type: sweeper, password: 12345678}, {id: a, type: sweeper, password: 12345678}]\n", `s.yaml:1:56: devices[1].id: duplicate id "a"`},
		{"devices: [{id: a, type: sweeper}]\n", "password or password_hash required"},
		{"devices: [{id: a, type: sweeper, password: 12345678, password_hash: $2a$x}]\n", "not both"},
		{"devices: [{id: a, type: sweeper, password: short}]\n", "password: shorter than"},
		{"devices: [{id: a, type: sweeper, password_hash: plain}]\n", "not a bcrypt hash"},
		{"devices: [{id: a, type: sweeper, pasword: x}]\n", `s.yaml:1:`},
	} {
		_, err := ParseSeed("s.yaml", []byte(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.body, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "12345678") {
			t.Errorf("%q: error reveals the password: %v", tt.body, err)
		}
	}
}

// FuzzParseSeed feeds arbitrary YAML to the device seed loader: valid devices or an error that
// names the file, never a panic, and never the clear password in the error.
func FuzzParseSeed(f *testing.F) {
	shipped, err := os.ReadFile("../configs/devices.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shipped)
	f.Add([]byte("devices: [{id: a, type: sweeper, password: short-pass-xyz, tags: {k: v}}]\n"))
	f.Add([]byte("devices: [{id: '', type: camera, password_hash: $2a$10$abc}]\n"))
	f.Add([]byte("devices: {id: a}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSeed("fuzz.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, d := range s.Devices {
			if err := d.device().Validate(); err != nil || seen[d.ID] || (d.Password == "") == (d.PasswordHash == "") {
				t.Fatalf("accepted invalid device %+v: %v", d, err)
			}
			seen[d.ID] = true
		}
	})
}
