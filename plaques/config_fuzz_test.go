package plaques

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseConfig feeds arbitrary YAML to the plaques.yaml loader: a config that passes its
// own validation, or errors that each name the file, never a panic.
func FuzzParseConfig(f *testing.F) {
	shipped, err := os.ReadFile("../configs/plaques.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shipped)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("fuzz.yaml", data, nil)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Fatalf("error line does not name the file: %q", line)
				}
			}
			return
		}
		if err := c.Validate(nil); err != nil {
			t.Fatalf("accepted config fails validation: %v", err)
		}
	})
}

// TestParseConfigMatchesLoadConfig: the bytes and the file loaders agree, and a file with
// several mistakes reports each at its line, a typo'd key once (not also as the key missing).
func TestParseConfigMatchesLoadConfig(t *testing.T) {
	data, err := os.ReadFile("../configs/plaques.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseConfig("../configs/plaques.yaml", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadConfig("../configs/plaques.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("ParseConfig and LoadConfig differ")
	}
	bad := "categories: [\"9101\", \"12\"]\nrate_limit:\n  per_address: {n: 5, per: 10 minutes}\nplaques:\n" +
		"  - {id: p1, address: a, distrct: d, lat: 1, lon: 2, party: {name: n, department: x}}\n" +
		"  - {id: p1, address: a, district: d, lat: 1, lon: 2, party: {name: n, department: x}}\n"
	_, err = ParseConfig("p.yaml", []byte(bad), nil)
	want := strings.Join([]string{
		`p.yaml:1:22: categories[1]: "12" is not a category code in the catalog`,
		`p.yaml:3:28: per: invalid duration "10 minutes" (use e.g. 90s, 2m, 1h30m, 3d)`,
		`p.yaml:5:26: unknown field "distrct" (did you mean "district"?)`,
		`p.yaml:6:6: plaques[1].id: "p1" listed twice`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("errors:\n%v\nwant:\n%s", err, want)
	}
}
