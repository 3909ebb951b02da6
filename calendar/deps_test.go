package calendar

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoLanewatchPackage keeps the calendar neutral (ARCHITECTURE.md): dispatch and rules
// both import it, so it imports neither (nor any other lanewatch package).
func TestImportsNoLanewatchPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		if strings.HasPrefix(imp, "github.com/lanewatch/lanewatch") {
			t.Errorf("calendar imports %s", imp)
		}
	}
}
