package yamlx

import (
	"strings"
	"testing"
	"time"
)

// TestDecodeAllCollects: Decode stops at the first error; DecodeAll reports every one, with
// positions and paths, and keeps what decoded.
func TestDecodeAllCollects(t *testing.T) {
	var v struct {
		Items []sample `yaml:"items"`
		Tags  map[string]string
	}
	src := "items:\n  - name: a\n    every: 2 minutes\n    colour: red\n  - name: b\n    every: 1m\n    name: c\ntags: [x]\n"
	errs := DecodeAll("f.yaml", []byte(src), &v)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error()+" @"+e.Path)
	}
	want := []string{
		`f.yaml:3:12: invalid duration "2 minutes" (use e.g. 90s, 2m, 1h30m, 3d) @items[0].every`,
		`f.yaml:4:5: unknown field "colour" @items[0].colour`,
		`f.yaml:7:5: key "name" given twice @items[1].name#dup`,
		`f.yaml:8:7: tags: want a mapping, got a list @tags`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(v.Items) != 2 || v.Items[1].Name != "b" || time.Duration(v.Items[1].Every) != time.Minute {
		t.Errorf("decoded %+v", v.Items)
	}
}

// TestDecodeAllAliases: a document with anchors and aliases is decoded by Decode.
func TestDecodeAllAliases(t *testing.T) {
	var v struct {
		A sample `yaml:"a"`
		B sample `yaml:"b"`
	}
	if errs := DecodeAll("f.yaml", []byte("a: &x {name: n, every: 1m}\nb: *x\n"), &v); len(errs) != 0 {
		t.Fatal(errs)
	}
	if v.B.Name != "n" {
		t.Errorf("alias not followed: %+v", v.B)
	}
	if errs := DecodeAll("f.yaml", []byte("a: {name: [\n"), &v); len(errs) != 1 || errs[0].Line == 0 {
		t.Errorf("syntax error: %v", errs)
	}
}
