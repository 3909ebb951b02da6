package rules

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
)

// TestShippedRuleTests runs the rule unit tests shipped in configs/rules.
func TestShippedRuleTests(t *testing.T) {
	files, err := filepath.Glob("../configs/rules/*_test.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule tests in configs/rules: %v", err)
	}
	var out bytes.Buffer
	if n := RunTestFiles(context.Background(), &out, files, LoadOptions{}); n != 0 {
		t.Fatalf("%d rule tests failed:\n%s", n, out.String())
	}
	t.Log(out.String())
}
