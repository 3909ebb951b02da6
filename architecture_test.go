package lanewatch_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/lanewatch/lanewatch"

// archTables reads the two tables of ARCHITECTURE.md's "Dependency direction" section: which
// lanewatch packages each package may import, and which third-party modules only one package
// may import. A cell lists backquoted names separated by commas; "—" means none.
func archTables(t *testing.T) (allowed map[string][]string, owners map[string][]string) {
	t.Helper()
	f, err := os.Open("ARCHITECTURE.md")
	if err != nil {
		t.Fatalf("open ARCHITECTURE.md: %v", err)
	}
	defer f.Close()
	allowed, owners = map[string][]string{}, map[string][]string{}
	var in bool
	var table map[string][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			in = line == "## Dependency direction"
			continue
		}
		if !in || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 2 {
			continue
		}
		head := strings.TrimSpace(cells[0])
		switch head {
		case "package":
			table = allowed
			continue
		case "module":
			table = owners
			continue
		}
		if strings.HasPrefix(head, "---") || table == nil {
			continue
		}
		keys := names(head)
		if len(keys) != 1 {
			t.Fatalf("ARCHITECTURE.md: row %q: want one backquoted name in the first cell", line)
		}
		table[keys[0]] = names(cells[1])
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read ARCHITECTURE.md: %v", err)
	}
	if len(allowed) == 0 || len(owners) == 0 {
		t.Fatal("ARCHITECTURE.md: the Dependency direction section has no package or module table")
	}
	return allowed, owners
}

// names returns the backquoted names in a table cell.
func names(cell string) []string {
	var out []string
	parts := strings.Split(cell, "`")
	for i := 1; i < len(parts); i += 2 {
		out = append(out, parts[i])
	}
	return out
}

// TestDependencyDirection fails on every import of a lanewatch package that the table in
// ARCHITECTURE.md does not allow, on every package the table does not list, on every allowed
// edge no code uses (the document must stay true), and on a third-party module imported
// outside the packages that own it.
func TestDependencyDirection(t *testing.T) {
	allowed, owners := archTables(t)
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, msg := range checkDeps(allowed, owners, string(out)) {
		t.Error(msg)
	}
}

// TestCheckDepsCatches shows that each kind of breach is reported, on a made-up module.
func TestCheckDepsCatches(t *testing.T) {
	allowed := map[string][]string{"lanewatch": nil, "rules": {"lanewatch"}, "dispatch": {"lanewatch", "store/..."},
		"store": {"lanewatch"}, "store/sqlstore": {"store"}, "api": {"lanewatch"}}
	owners := map[string][]string{"github.com/gin-gonic/gin": {"api"}}
	ok := module + "\n" + module + "/rules " + module + "\n" + module + "/dispatch " + module + " " + module + "/store/sqlstore\n" +
		module + "/store " + module + "\n" + module + "/store/sqlstore " + module + "/store\n" +
		module + "/api " + module + " github.com/gin-gonic/gin/binding\n"
	if msgs := checkDeps(allowed, owners, ok); len(msgs) != 0 {
		t.Fatalf("a conforming tree: %q", msgs)
	}
	for _, tc := range []struct{ name, list, want string }{
		{"forbidden import", ok + module + "/rules " + module + "/dispatch\n", "rules imports dispatch, which ARCHITECTURE.md does not allow"},
		{"package without a row", ok + module + "/newpkg " + module + "\n", "package newpkg is not in ARCHITECTURE.md"},
		{"edge nobody uses", strings.Replace(ok, module+"/rules "+module+"\n", module+"/rules\n", 1), "lets rules import lanewatch, but nothing there does"},
		{"root importing a module", ok + module + " github.com/expr-lang/expr\n", "the root package imports github.com/expr-lang/expr"},
		{"module outside its owner", ok + module + "/rules " + module + " github.com/gin-gonic/gin\n", "rules imports github.com/gin-gonic/gin, which ARCHITECTURE.md allows only in api"},
	} {
		msgs := checkDeps(allowed, owners, tc.list)
		if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, tc.want) }) {
			t.Errorf("%s: got %q, want a message containing %q", tc.name, msgs, tc.want)
		}
	}
}

// checkDeps checks `go list -f '{{.ImportPath}} {{join .Imports " "}}'` output against the
// tables and returns one message per breach.
func checkDeps(allowed, owners map[string][]string, list string) []string {
	var msgs []string
	used := map[string]map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := rel(fields[0])
		key := pkg
		if _, ok := allowed[pkg]; !ok {
			key = parentWildcard(allowed, pkg)
		}
		if key == "" {
			msgs = append(msgs, fmt.Sprintf("package %s is not in ARCHITECTURE.md's dependency table", pkg))
			continue
		}
		may := allowed[key]
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				if pkg == "lanewatch" && strings.Contains(strings.Split(imp, "/")[0], ".") {
					msgs = append(msgs, fmt.Sprintf("the root package imports %s: it may import only the standard library", imp))
				}
				for mod, only := range owners {
					if (imp == mod || strings.HasPrefix(imp, mod+"/")) && !slices.Contains(only, pkg) {
						msgs = append(msgs, fmt.Sprintf("%s imports %s, which ARCHITECTURE.md allows only in %s", pkg, imp, strings.Join(only, ", ")))
					}
				}
				continue
			}
			dep := rel(imp)
			rule := matchRule(may, dep)
			if rule == "" {
				if pkg != "lanewatch" && strings.HasPrefix(dep, pkg+"/") {
					continue // a package may use its own subpackages
				}
				msgs = append(msgs, fmt.Sprintf("%s imports %s, which ARCHITECTURE.md does not allow", pkg, dep))
				continue
			}
			if used[key] == nil {
				used[key] = map[string]bool{}
			}
			used[key][rule] = true
		}
	}
	for pkg, may := range allowed {
		for _, m := range may {
			if !used[pkg][m] {
				msgs = append(msgs, fmt.Sprintf("ARCHITECTURE.md lets %s import %s, but nothing there does: remove the edge", pkg, m))
			}
		}
	}
	slices.Sort(msgs)
	return msgs
}

// rel turns an import path of this module into the name the table uses ("lanewatch" for the
// root).
func rel(imp string) string {
	if imp == module {
		return "lanewatch"
	}
	return strings.TrimPrefix(imp, module+"/")
}

// matchRule returns the entry of may that allows dep: the package itself, or "x/..." for x and
// everything under it.
func matchRule(may []string, dep string) string {
	for _, m := range may {
		if base, ok := strings.CutSuffix(m, "/..."); ok {
			if dep == base || strings.HasPrefix(dep, base+"/") {
				return m
			}
		} else if dep == m {
			return m
		}
	}
	return ""
}

// parentWildcard returns the row "x/..." of the table that covers pkg, or "".
func parentWildcard(allowed map[string][]string, pkg string) string {
	for k := range allowed {
		if base, ok := strings.CutSuffix(k, "/..."); ok && (pkg == base || strings.HasPrefix(pkg, base+"/")) {
			return k
		}
	}
	return ""
}
