package yamlx

import (
	"errors"
	"strings"
	"testing"
)

// TestDecodeMalformedNoPanic: documents that make go-yaml panic give an *Error naming the file.
func TestDecodeMalformedNoPanic(t *testing.T) {
	var v struct {
		Departments []struct{ ID string } `yaml:"departments"`
	}
	err := Decode("r.yaml", []byte("departments: !00000 00"), &v)
	var ye *Error
	if !errors.As(err, &ye) || ye.File != "r.yaml" || !strings.Contains(err.Error(), "r.yaml") {
		t.Fatalf("error = %v", err)
	}
}
