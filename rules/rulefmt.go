package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// File is one rule file.
type File struct {
	Groups []GroupSpec `yaml:"groups"`
}

// GroupSpec is a named group of rules on one message kind.
type GroupSpec struct {
	Name  string     `yaml:"name"`
	On    string     `yaml:"on"`
	Rules []RuleSpec `yaml:"rules"`
}

// RuleSpec is a rule as written in YAML (SPEC 5.1).
type RuleSpec struct {
	Name     string            `yaml:"name"`
	When     string            `yaml:"when"`
	For      yamlx.Duration    `yaml:"for"`
	Key      string            `yaml:"key"`
	Cooldown yamlx.Duration    `yaml:"cooldown"`
	Clear    string            `yaml:"clear"`
	KeepFor  yamlx.Duration    `yaml:"keep_for"`
	Absent   yamlx.Duration    `yaml:"absent"`
	Active   *ScheduleSpec     `yaml:"active"`
	Mode     string            `yaml:"mode"`
	Case     CaseSpec          `yaml:"case"`
	Labels   map[string]string `yaml:"labels"`
}

// ScheduleSpec says when a rule applies (all parts must agree; an empty part does not restrict).
type ScheduleSpec struct {
	// Days of the week, mon..sun (or "workdays" for mon..fri, "weekend" for sat, sun).
	Days []string `yaml:"days"`
	// Hours are windows "HH:MM-HH:MM"; a window whose end is not after its start runs past
	// midnight and belongs to the day it starts on.
	Hours []string `yaml:"hours"`
	// Dates are days "2025-06-01" or inclusive ranges "2025-06-01..2025-09-30".
	Dates []string `yaml:"dates"`
	// Holidays are dates (or ranges) on which the rule does not apply (working calendar).
	Holidays []string `yaml:"holidays"`
	// Workdays are make-up working days: they apply even when their weekday is not in Days.
	Workdays []string `yaml:"workdays"`
}

// CaseSpec is the case a firing rule opens.
type CaseSpec struct {
	Category    string `yaml:"category"`
	Urgency     string `yaml:"urgency"`
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
}

// Rule is a validated, compiled rule.
type Rule struct {
	Spec  RuleSpec
	Group string
	On    lanewatch.Kind
	File  string
	Line  int

	when  *vm.Program
	clear *vm.Program // nil: the rule clears when `when` stops holding
	key   *vm.Program // nil: device.id
	title *template.Template
	desc  *template.Template
	sched *Schedule // nil: always active
	hash  string    // identity for state carry-over: name, when, clear, key, absent
	// usesExtra: an expression or template reads msg.extra (else the map is not built).
	usesExtra bool
}

// Hash identifies the rule's state semantics: two rules with the same hash can share state
// (reload keeps the state of a rule whose name and expressions are unchanged).
func (r *Rule) Hash() string { return r.hash }

// Schedule returns the compiled `active` schedule, nil when the rule always applies.
func (r *Rule) Schedule() *Schedule { return r.sched }

// instant reports whether every match of the rule is an event of its own (no for, keep_for,
// clear): while its key is firing, each further match is passed on as an occurrence.
func (r *Rule) instant() bool {
	return r.Spec.For == 0 && r.Spec.KeepFor == 0 && r.clear == nil && r.Spec.Absent == 0
}

// IsAbsent reports whether the rule is a deadman rule (absent: instead of when:).
func (r *Rule) IsAbsent() bool { return r.Spec.Absent > 0 }

// Name returns the rule's name (unique in a set).
func (r *Rule) Name() string { return r.Spec.Name }

// Shadow reports whether the rule only records would-be cases.
func (r *Rule) Shadow() bool { return r.Spec.Mode == "shadow" }

// LoadOptions parameterise loading.
type LoadOptions struct {
	// Category reports whether a category code exists (nil accepts any 4-digit code).
	Category func(code string) bool
	Location *time.Location // for hour(), weekday() and schedules; default Asia/Shanghai (UTC if unknown)
}

// DefaultLocation is Asia/Shanghai, or UTC when the time zone database lacks it.
func DefaultLocation() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.UTC
}

var nameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$`)

// LoadPaths loads every *.yaml / *.yml rule file under the given files and directories
// (rule-test files, *_test.yaml, are skipped). All errors of all files are returned joined.
func LoadPaths(paths []string, o LoadOptions) ([]*Rule, error) {
	files, err := ExpandPaths(paths)
	if err != nil {
		return nil, err
	}
	var all []*Rule
	var errs []error
	names := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("read rules: %w", err))
			continue
		}
		rs, err := Parse(f, data, o)
		if err != nil {
			errs = append(errs, err)
		}
		for _, r := range rs {
			if prev, dup := names[r.Name()]; dup {
				errs = append(errs, &yamlx.Error{File: f, Line: r.Line, Msg: fmt.Sprintf("rule %q already defined in %s", r.Name(), prev)})
				continue
			}
			names[r.Name()] = fmt.Sprintf("%s:%d", f, r.Line)
			all = append(all, r)
		}
	}
	return all, errors.Join(errs...)
}

// ExpandPaths lists the rule files named by paths (files as given; directories walked).
func ExpandPaths(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("rules path: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			n := d.Name()
			if !d.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) &&
				!strings.HasSuffix(strings.TrimSuffix(strings.TrimSuffix(n, ".yml"), ".yaml"), "_test") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walk rules dir %s: %w", p, err)
		}
	}
	sort.Strings(files)
	return files, nil
}

// Parse decodes and validates one rule file. It returns every error it finds, each with
// file:line:column.
func Parse(file string, data []byte, o LoadOptions) ([]*Rule, error) {
	var f File
	if err := yamlx.Decode(file, data, &f); err != nil {
		return nil, err
	}
	pos, err := yamlx.ParsePositions(data)
	if err != nil {
		return nil, yamlx.Wrap(file, err)
	}
	if o.Location == nil {
		o.Location = DefaultLocation()
	}
	opts := exprOptions(o.Location)
	var errs []error
	fail := func(path, format string, args ...any) {
		errs = append(errs, pos.At(file, path, fmt.Sprintf(format, args...)))
	}
	var out []*Rule
	groups := map[string]bool{}
	for gi, g := range f.Groups {
		gp := fmt.Sprintf("groups[%d]", gi)
		if g.Name == "" {
			fail(gp, "group name is required")
		} else if groups[g.Name] {
			fail(gp+".name", "group %q defined twice", g.Name)
		}
		groups[g.Name] = true
		kind := lanewatch.Kind(g.On)
		if !validKind(kind) {
			fail(gp+".on", "on: %q is not one of telemetry, camera, plaque, status, coverage", g.On)
		}
		for ri, rs := range g.Rules {
			rp := fmt.Sprintf("%s.rules[%d]", gp, ri)
			r := &Rule{Spec: rs, Group: g.Name, On: kind, File: file, Line: pos.At(file, rp, "").Line}
			if !nameRE.MatchString(rs.Name) {
				fail(rp+".name", "rule name %q: want letters, digits, _ . : - (starting with a letter or _)", rs.Name)
			}
			switch {
			case rs.When == "" && rs.Absent == 0:
				fail(rp, "rule %q: one of when or absent is required", rs.Name)
			case rs.When != "" && rs.Absent != 0:
				fail(rp+".absent", "rule %q: give when or absent, not both", rs.Name)
			}
			if kind == KindCoverage {
				// A coverage event is reported once per segment and deadline: there is no
				// stream of messages for for, keep_for, clear or absent to work on.
				for _, f := range []struct {
					set  bool
					name string
				}{{rs.For != 0, "for"}, {rs.KeepFor != 0, "keep_for"}, {rs.Clear != "", "clear"}, {rs.Absent != 0, "absent"}} {
					if f.set {
						fail(rp+"."+f.name, "rule %q: %s does not apply to coverage rules (each coverage event fires at most once)", rs.Name, f.name)
					}
				}
			}
			if rs.KeepFor != 0 && rs.Absent != 0 {
				fail(rp+".keep_for", "rule %q: keep_for applies to when rules, not absent", rs.Name)
			}
			if rs.Clear != "" && rs.Absent != 0 {
				fail(rp+".clear", "rule %q: clear applies to when rules, not absent (an absent rule clears when a message arrives)", rs.Name)
			}
			if rs.For != 0 && rs.Absent != 0 {
				fail(rp+".for", "rule %q: for applies to when rules; absent is itself the duration", rs.Name)
			}
			if rs.Active != nil {
				sc, serrs := compileSchedule(rs.Active, o.Location)
				for _, se := range serrs {
					fail(rp+".active."+se.field, "rule %q: active: %s", rs.Name, se.msg)
				}
				r.sched = sc
			}
			switch rs.Mode {
			case "", "enforce", "shadow":
			default:
				fail(rp+".mode", "rule %q: mode %q is not one of enforce, shadow", rs.Name, rs.Mode)
			}
			if rs.When != "" {
				p, err := expr.Compile(rs.When, append(slices.Clip(opts), expr.AsBool())...)
				if err != nil {
					fail(rp+".when", "rule %q: when: %s", rs.Name, firstLine(err.Error()))
				}
				r.when = p
			}
			if rs.Clear != "" {
				p, err := expr.Compile(rs.Clear, append(slices.Clip(opts), expr.AsBool())...)
				if err != nil {
					fail(rp+".clear", "rule %q: clear: %s", rs.Name, firstLine(err.Error()))
				}
				r.clear = p
			}
			if rs.Key == "" && kind == KindCoverage {
				p, err := expr.Compile(defaultCoverageKey, opts...)
				if err != nil {
					fail(rp, "rule %q: default coverage key: %s", rs.Name, firstLine(err.Error()))
				}
				r.key = p
			}
			if rs.Key != "" {
				p, err := expr.Compile(rs.Key, opts...)
				if err != nil {
					fail(rp+".key", "rule %q: key: %s", rs.Name, firstLine(err.Error()))
				}
				r.key = p
			}
			c := rs.Case
			switch {
			case c.Category == "":
				fail(rp+".case", "rule %q: case.category is required", rs.Name)
			case o.Category != nil && !o.Category(c.Category):
				fail(rp+".case.category", "rule %q: unknown category %q", rs.Name, c.Category)
			case o.Category == nil && !regexp.MustCompile(`^\d{4}$`).MatchString(c.Category):
				fail(rp+".case.category", "rule %q: category %q is not a 4-digit code", rs.Name, c.Category)
			}
			if c.Urgency == "" {
				r.Spec.Case.Urgency = lanewatch.UrgencyNormal
			} else if !lanewatch.ValidUrgency(c.Urgency) {
				fail(rp+".case.urgency", "rule %q: urgency %q is not one of urgent, high, normal, low", rs.Name, c.Urgency)
			}
			var err error
			if r.title, err = parseTemplate(rs.Name+".title", c.Title); err != nil {
				fail(rp+".case.title", "rule %q: title: %v", rs.Name, err)
			}
			if r.desc, err = parseTemplate(rs.Name+".description", c.Description); err != nil {
				fail(rp+".case.description", "rule %q: description: %v", rs.Name, err)
			}
			r.hash = ruleHash(rs)
			r.usesExtra = strings.Contains(rs.When+rs.Clear+rs.Key+c.Title+c.Description, "extra")
			out = append(out, r)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func ruleHash(rs RuleSpec) string {
	h := sha256.New()
	for _, part := range []string{rs.Name, rs.When, rs.Clear, rs.Key, time.Duration(rs.Absent).String()} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func parseTemplate(name, text string) (*template.Template, error) {
	if text == "" {
		return nil, nil
	}
	return template.New(name).Option("missingkey=zero").Funcs(templateFuncs).Parse(text)
}

// templateFuncs are the helpers of case titles and descriptions beyond text/template's own.
var templateFuncs = template.FuncMap{
	// pct formats a ratio as a whole percentage: pct 0.634 → "63%".
	"pct": func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) },
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
