package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func catalog(code string) bool {
	switch code {
	case "9001", "9002", "9004", "9005", "0504":
		return true
	}
	return false
}

// TestBadFiles checks every testdata/*.bad.yaml against the exact messages in its .want file.
func TestBadFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no bad files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(f, data, LoadOptions{Category: catalog})
			if err == nil {
				t.Fatal("parsed without error")
			}
			want, rerr := os.ReadFile(f + ".want")
			if rerr != nil {
				t.Fatalf("missing %s.want; got:\n%v", f, err)
			}
			if got := strings.TrimSpace(err.Error()); got != strings.TrimSpace(string(want)) {
				t.Errorf("errors differ\n got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.bad.yaml") // every error class of the validation pass
	for _, p := range append([]string{"../configs/rules/vehicles.yaml", "../configs/rules/cameras.yaml", "testdata/many_errors.bad.yaml"}, seeds...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Parse("fuzz.yaml", data, LoadOptions{})
		if err != nil && rs != nil {
			t.Fatal("rules returned with an error")
		}
		for _, r := range rs {
			if r.when == nil && !r.IsAbsent() {
				t.Fatalf("rule %q without when or absent", r.Name())
			}
		}
	})
}
