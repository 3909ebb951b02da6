package yamlx

import (
	"strings"
	"testing"
	"time"
)

type sample struct {
	Name  string   `yaml:"name"`
	Every Duration `yaml:"every"`
	Items []struct {
		ID string `yaml:"id"`
	} `yaml:"items"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{name: "good", in: "name: a\nevery: 2m\nitems:\n  - id: x\n"},
		{name: "unknown key", in: "name: a\nbogus: 1\n", wantErr: "f.yaml:2:1:"},
		{name: "nested unknown key", in: "items:\n  - id: x\n    idd: y\n", wantErr: "f.yaml:3:5:"},
		{name: "bad duration", in: "every: 2 minutes\n", wantErr: "f.yaml:1:"},
		{name: "duplicate key", in: "name: a\nname: b\n", wantErr: "f.yaml:2:1:"},
		{name: "syntax", in: "name: [a\n", wantErr: "f.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sample
			err := Decode("f.yaml", []byte(tt.in), &s)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if time.Duration(s.Every) != 2*time.Minute || s.Items[0].ID != "x" {
					t.Fatalf("decoded %+v", s)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

func TestPositions(t *testing.T) {
	p, err := ParsePositions([]byte("groups:\n  - name: g\n    rules:\n      - name: r\n        when: x > 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := p.At("r.yaml", "groups[0].rules[0].when", "bad")
	if e.Line != 5 || e.Column != 9 {
		t.Fatalf("when at %d:%d, want 5:9", e.Line, e.Column)
	}
	e = p.At("r.yaml", "groups[0].rules[0].missing", "bad")
	if e.Line != 4 {
		t.Fatalf("fallback to rule at line %d, want 4", e.Line)
	}
}
