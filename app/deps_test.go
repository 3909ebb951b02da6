package app

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection fails on an import that ARCHITECTURE.md forbids.
func TestDependencyDirection(t *testing.T) {
	const mod = "github.com/lanewatch/lanewatch"
	forbidden := map[string][]string{
		"":                {"/"}, // the root imports no lanewatch package
		"gateway":         {"/rules", "/dispatch", "/influx", "/api", "/store", "/devices", "/app", "/wal"},
		"gateway/payload": {"/gateway", "/rules", "/dispatch", "/store"},
		"rules":           {"/dispatch", "/store", "/gateway", "/api", "/app", "/influx"},
		"dispatch":        {"/rules", "/gateway", "/api", "/app", "/influx"},
		"devices":         {"/gateway", "/rules", "/dispatch", "/api", "/app"},
		"influx":          {"/gateway", "/rules", "/dispatch", "/store", "/api", "/app"},
		"wal":             {"/"},
		"store":           {"/gateway", "/rules", "/dispatch", "/api", "/app", "/influx"},
		"api":             {"/app", "/gateway", "/influx", "/wal", "/store/sqlstore"},
		"store/sqlstore":  {"/gateway", "/rules", "/dispatch", "/api", "/app", "/influx", "/plaques", "/camera"},
		"simulators":      {"/gateway", "/rules", "/dispatch", "/store", "/api", "/influx", "/wal"},
		"coverage":        {"/rules", "/dispatch", "/gateway", "/api", "/app", "/camera"},
		"camera":          {"/rules", "/dispatch", "/gateway$", "/api", "/app", "/coverage"},
		"plaques":         {"/rules", "/dispatch", "/gateway", "/api", "/app", "/coverage"},
		"web":             {"/"},
		"cluster":         {"/rules", "/dispatch", "/gateway", "/api", "/app", "/influx", "/wal", "/coverage", "/devices", "/camera", "/plaques", "/store/sqlite", "/store/postgres"},
		"internal/fetch":  {"/"},
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], mod), "/")
		rules, ok := forbidden[pkg]
		if !ok {
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, mod+"/") || strings.HasPrefix(imp, mod+"/internal/") {
				continue
			}
			rel := strings.TrimPrefix(imp, mod)
			if strings.HasPrefix(rel, "/"+pkg+"/") && pkg != "" {
				continue // own subpackage
			}
			for _, f := range rules {
				exact, isExact := strings.CutSuffix(f, "$") // "/x$": the package itself, not its subpackages
				if f == "/" || rel == exact || (!isExact && strings.HasPrefix(rel, f+"/")) {
					t.Errorf("%s imports %s, which ARCHITECTURE.md forbids", fields[0], imp)
				}
			}
		}
	}
}
