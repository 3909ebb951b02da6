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

	"github.com/expr-lang/expr/vm"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/calendar"
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
	Command  *CommandSpec      `yaml:"command"`
	Labels   map[string]string `yaml:"labels"`
}

// ScheduleSpec says when a rule applies (all parts must agree; an empty part does not restrict).
type ScheduleSpec struct {
	// Days of the week, mon..sun, "weekend" (sat, sun), or the working calendar's
	// "workdays" (working days: mon..fri without public holidays, with make-up working days)
	// and "holidays" (the days off: weekends and public holidays, not make-up days).
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
	Spec   RuleSpec
	Group  string
	On     lanewatch.Kind
	File   string
	Line   int
	Column int

	when  *vm.Program
	clear *vm.Program // nil: the rule clears when `when` stops holding
	key   *vm.Program // nil: device.id
	title *template.Template
	desc  *template.Template
	// fallbackTitle is the title when the title template fails at run time.
	fallbackTitle string
	loc           *time.Location // of templates and schedules
	sched         *Schedule      // nil: always active
	command       *FiringCommand // nil: no command action
	hash          string         // identity for state carry-over: name, when, clear, key, absent
	// usesExtra: an expression or template reads msg.extra (else the map is not built).
	usesExtra bool
}

// Hash identifies the rule's state semantics: two rules with the same hash can share state
// (reload keeps the state of a rule whose name and expressions are unchanged).
func (r *Rule) Hash() string { return r.hash }

func (r *Rule) location() *time.Location {
	if r.loc == nil {
		return time.UTC
	}
	return r.loc
}

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
	// CategoryName returns a category's name, for the fallback title of a case whose title
	// template fails at run time; nil (or "") uses the code.
	CategoryName func(code string) string
	// Calendar is the working calendar of `active: {days: [workdays]}` and `[holidays]` (the
	// calendar dispatch computes deadlines with); nil: workdays are mon..fri, holidays sat, sun.
	Calendar *calendar.Calendar
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
// (rule-test files, *_test.yaml, are skipped). Every error of every file is returned, joined,
// each an *yamlx.Error (file:line:column: message) sorted by file and position: YAML-level
// mistakes (unknown keys, bad durations) do not hide the semantic ones, and a rule name defined
// twice is reported even when the files have other errors.
func LoadPaths(paths []string, o LoadOptions) ([]*Rule, error) {
	files, err := ExpandPaths(paths)
	if err != nil {
		return nil, err
	}
	var all []*Rule
	var errs []*yamlx.Error
	var other []error
	names := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			other = append(other, fmt.Errorf("read rules: %w", err))
			continue
		}
		rs, ferrs := parseFile(f, data, o)
		errs = append(errs, ferrs...)
		for _, r := range rs {
			if r.Name() == "" {
				continue
			}
			if prev, dup := names[r.Name()]; dup {
				errs = append(errs, &yamlx.Error{File: f, Line: r.Line, Column: r.Column,
					Msg: fmt.Sprintf("rule %q already defined in %s", r.Name(), prev)})
				continue
			}
			names[r.Name()] = fmt.Sprintf("%s:%d", f, r.Line)
			all = append(all, r)
		}
	}
	if len(errs) == 0 && len(other) == 0 {
		return all, nil
	}
	return nil, errors.Join(append(other, sortErrors(errs)...)...)
}

// sortErrors orders errors by file, line and column (stable: one position keeps its order).
func sortErrors(errs []*yamlx.Error) []error {
	slices.SortStableFunc(errs, func(a, b *yamlx.Error) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
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

func ruleHash(rs RuleSpec) string {
	h := sha256.New()
	for _, part := range []string{rs.Name, rs.When, rs.Clear, rs.Key, time.Duration(rs.Absent).String()} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
