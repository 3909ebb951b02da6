package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// fixedNow is a day the shipped calendar covers with 30 days to spare.
func fixedNow() time.Time { return time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC) }

// TestRulesCheckWarnsCalendar: rules check warns (exit 0) when the config's working calendar
// does not cover the next 30 days.
func TestRulesCheckWarnsCalendar(t *testing.T) {
	var out, errb bytes.Buffer
	late := func() time.Time { return time.Date(2026, 12, 15, 2, 0, 0, 0, time.UTC) }
	if rc := rulesCheckArgs([]string{"--config", "../../configs/lanewatch.yaml", "../../configs/rules"}, &out, &errb, late); rc != 0 {
		t.Fatalf("rc=%d %s", rc, errb.String())
	}
	if want := "warning: working calendar has no holidays for 2027 (from 2027-01-01, in 17 days)"; !strings.HasPrefix(errb.String(), want) {
		t.Errorf("stderr = %q, want %q…", errb.String(), want)
	}
	errb.Reset()
	if rc := rulesCheckArgs([]string{"--config", "../../configs/lanewatch.yaml", "../../configs/rules"}, &out, &errb, fixedNow); rc != 0 || errb.Len() != 0 {
		t.Errorf("rc=%d stderr=%q", rc, errb.String())
	}
}

// shippedRules copies configs/rules (rule files only) and the category catalog into a
// temporary configs-like tree and returns the rules directory.
func shippedRules(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "configs")
	rdir := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../configs/rules/*.yaml")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.yaml") {
			continue
		}
		copyFile(t, f, filepath.Join(rdir, filepath.Base(f)))
	}
	copyFile(t, "../../configs/categories.yaml", filepath.Join(dir, "categories.yaml"))
	return rdir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// edit replaces old (which must occur) in file.
func edit(t *testing.T, file, old, repl string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(file, bytes.Replace(b, []byte(old), []byte(repl), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRulesCheckMistakeClasses makes each class of mistake of issue 20 in a copy of the
// shipped rules and checks that `rules check` names it with file:line:column, and that all of
// them together are reported in one run, sorted by file and line.
func TestRulesCheckMistakeClasses(t *testing.T) {
	type mistake struct {
		name, file, old, repl string
		want                  string // the error line, without the directory
	}
	mistakes := []mistake{
		{"unknown key", "vehicles.yaml", "        cooldown: 1h\n", "        colldown: 1h\n",
			`vehicles.yaml:15:9: unknown field "colldown" (did you mean "cooldown"?)`},
		{"bad duration", "vehicles.yaml", "        for: 2m\n", "        for: 2 minutes\n",
			`vehicles.yaml:13:14: invalid duration "2 minutes" (use e.g. 90s, 2m, 1h30m, 3d)`},
		{"unknown category", "vehicles.yaml", `category: "9002"`, `category: "7777"`,
			`vehicles.yaml:34:11: rule "working_above_speed_band": unknown category "7777"`},
		{"expression field", "vehicles.yaml", "when: msg.fuel_pct > 0 && msg.fuel_pct < 5", "when: msg.fuel > 0 && msg.fuel_pct < 5",
			`vehicles.yaml:44:9: rule "fuel_low": when: type rules.Msg has no field fuel (1:5)`},
		{"expression type", "vehicles.yaml", "clear: msg.fuel_pct >= 20", "clear: msg.fuel_pct + 20",
			`vehicles.yaml:45:9: rule "fuel_low": clear: expected bool, but got float64`},
		{"template field", "vehicles.yaml", `title: "{{ .device.id }} 燃油低于 5%"`, `title: "{{ .device.idd }} 燃油低于 5%"`,
			`vehicles.yaml:51:11: rule "fuel_low": title: .device.idd: no such field (did you mean "id"?)`},
		{"duplicate name across files", "cameras.yaml", "groups:\n", "groups:\n  - name: dup\n    on: telemetry\n    rules:\n      - name: fuel_low\n        when: msg.fuel_pct < 1\n        case: {category: \"9005\"}\n",
			`vehicles.yaml:43:9: rule "fuel_low" already defined in cameras.yaml:`},
	}
	run := func(t *testing.T, rdir string, args ...string) (int, []string) {
		var out, errb bytes.Buffer
		rc := rulesCheckArgs(append(args, rdir), &out, &errb, fixedNow)
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
			if l != "" {
				lines = append(lines, strings.ReplaceAll(l, rdir+string(filepath.Separator), ""))
			}
		}
		return rc, lines
	}
	for _, m := range mistakes {
		t.Run(m.name, func(t *testing.T) {
			rdir := shippedRules(t)
			edit(t, filepath.Join(rdir, m.file), m.old, m.repl)
			// Without --categories: the catalog next to the rules directory.
			rc, lines := run(t, rdir, "--categories", filepath.Join(filepath.Dir(rdir), "categories.yaml"))
			if rc != 1 || len(lines) != 2 || !strings.HasPrefix(lines[0], m.want) || lines[1] != "1 error" {
				t.Fatalf("rc=%d, stderr:\n%s\nwant %s", rc, strings.Join(lines, "\n"), m.want)
			}
		})
	}
	t.Run("all at once", func(t *testing.T) {
		rdir := shippedRules(t)
		for _, m := range mistakes {
			edit(t, filepath.Join(rdir, m.file), m.old, m.repl)
		}
		rc, lines := run(t, rdir, "--config", "../../configs/lanewatch.yaml")
		if rc != 1 || len(lines) != len(mistakes)+1 {
			t.Fatalf("rc=%d, %d lines:\n%s", rc, len(lines), strings.Join(lines, "\n"))
		}
		// Sorted by file and line: the vehicles.yaml errors in line order, and the duplicate
		// (reported in the later file) among them.
		for i, want := range []string{mistakes[1].want, mistakes[0].want, mistakes[2].want, mistakes[6].want, mistakes[3].want, mistakes[4].want, mistakes[5].want} {
			if !strings.HasPrefix(lines[i], want) {
				t.Errorf("line %d = %q, want %q", i, lines[i], want)
			}
		}
	})
	t.Run("config categories by default", func(t *testing.T) {
		rdir := shippedRules(t)
		edit(t, filepath.Join(rdir, "vehicles.yaml"), `category: "9002"`, `category: "7777"`)
		if rc, lines := run(t, rdir, "--config", "../../configs/lanewatch.yaml"); rc != 1 || !strings.Contains(lines[0], `unknown category "7777"`) {
			t.Fatalf("rc=%d %v", rc, lines)
		}
		// No config and no catalog anywhere: an error, not "1 rules OK".
		solo := filepath.Join(t.TempDir(), "r.yaml")
		if err := os.WriteFile(solo, []byte("groups:\n  - name: g\n    on: telemetry\n    rules:\n      - name: r\n        when: msg.speed_kmh > 1\n        case: {category: \"7777\"}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if rc := rulesCheckArgs([]string{solo}, &out, &errb, fixedNow); rc != 1 || !strings.Contains(errb.String(), "no category catalog") {
			t.Fatalf("rc=%d stdout=%q stderr=%q", rc, out.String(), errb.String())
		}
	})
}

// rulesCheckArgs runs rules check on command-line arguments (flags and paths), parsed as the
// command line parses them.
func rulesCheckArgs(args []string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := pflag.NewFlagSet("check", pflag.ContinueOnError)
	var rf ruleFlags
	addRuleFlags(fs, &rf)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rf.configSet = fs.Changed("config")
	return rulesCheck(rf, fs.Args(), stdout, stderr, now)
}
