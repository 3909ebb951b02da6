package camera

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseConfig feeds arbitrary YAML to the cameras.yaml loader: a config that passes its own
// validation, or errors that each name the file, never a panic.
func FuzzParseConfig(f *testing.F) {
	shipped, err := os.ReadFile("../configs/cameras.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shipped)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("fuzz.yaml", data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Fatalf("error line does not name the file: %q", line)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails validation: %v", err)
		}
	})
}

// TestParseConfigMatchesLoadConfig: the bytes and the file loaders agree, and a file with
// several mistakes reports each at its line.
func TestParseConfigMatchesLoadConfig(t *testing.T) {
	data, err := os.ReadFile("../configs/cameras.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseConfig("../configs/cameras.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadConfig("../configs/cameras.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("ParseConfig and LoadConfig differ")
	}
	bad := "incidents:\n  iou: 2\n  windw: 1m\ncameras:\n  - {id: c1, vendor: axis}\n  - {id: c1}\n"
	_, err = ParseConfig("c.yaml", []byte(bad))
	want := strings.Join([]string{
		`c.yaml:2:3: incidents.iou: 2 is not in 0..1`,
		`c.yaml:3:3: unknown field "windw" (did you mean "window"?)`,
		`c.yaml:5:14: cameras[0].vendor: "axis" is not hikvision or dahua`,
		`c.yaml:6:6: cameras[1].id: "c1" listed twice`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("errors:\n%v\nwant:\n%s", err, want)
	}
}
