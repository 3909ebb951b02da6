package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseTestFileAllErrors: a rule test file's mistakes are reported together.
func TestParseTestFileAllErrors(t *testing.T) {
	src := "rule_files: [vehicles.yaml]\ntests:\n  - name: a\n    tick: often\n    inputs:\n      - {at: 0s, device: sw-001, mesg: {speed_kmh: 3}}\n    expected_cases: [{rule: r, key: k, at: soon}]\n"
	_, err := ParseTestFile("t_test.yaml", []byte(src))
	want := []string{
		`t_test.yaml:4:11: invalid duration "often" (use e.g. 90s, 2m, 1h30m, 3d)`,
		`t_test.yaml:6:34: unknown field "mesg" (did you mean "msg"?)`,
		`t_test.yaml:7:44: invalid duration "soon" (use e.g. 90s, 2m, 1h30m, 3d)`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func FuzzParseTestFile(f *testing.F) {
	seeds, _ := filepath.Glob("../configs/rules/*_test.yaml")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("rule_files: [x.yaml]\ntests: [{tick: often, inputs: [{mesg: {}}]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tf, err := ParseTestFile("fuzz_test.yaml", data)
		if err != nil && tf != nil {
			t.Fatal("test file returned with an error")
		}
	})
}
