package rules

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/yamlx"
)

var categoryRE = regexp.MustCompile(`^\d{4}$`)

// Parse decodes and validates one rule file. It returns every error it finds, each an
// *yamlx.Error with file:line:column, sorted by position; with any error it returns no rules.
func Parse(file string, data []byte, o LoadOptions) ([]*Rule, error) {
	rs, errs := parseFile(file, data, o)
	if len(errs) > 0 {
		return nil, errors.Join(sortErrors(errs)...)
	}
	return rs, nil
}

// parseFile is the two passes of Prometheus' rulefmt: a strict decode that collects every
// YAML-level error with its position (unknown keys, bad durations, wrong types), then the
// validation of what decoded (names, kinds, expressions compiled and type-checked against the
// environment, templates checked against it, schedules, categories). It returns the rules
// even when there are errors (LoadPaths checks duplicate names across files with them).
func parseFile(file string, data []byte, o LoadOptions) ([]*Rule, []*yamlx.Error) {
	if len(data) > yamlx.MaxFileBytes {
		return nil, []*yamlx.Error{{File: file, Msg: fmt.Sprintf("file is %d bytes, more than the limit of %d", len(data), yamlx.MaxFileBytes)}}
	}
	var f File
	errs := yamlx.DecodeAll(file, data, &f)
	bad := map[string]bool{} // paths whose value did not decode: no semantic error about them
	for _, e := range errs {
		if e.Path == "" {
			return nil, errs // syntax: nothing to validate
		}
		bad[e.Path] = true
	}
	pos, err := yamlx.ParsePositions(data)
	if err != nil {
		return nil, append(errs, asYAMLError(yamlx.Wrap(file, err)))
	}
	v := validator{file: file, pos: pos, bad: bad, o: o}
	if v.o.Location == nil {
		v.o.Location = DefaultLocation()
	}
	v.opts = append(exprOptions(v.o.Location), extraOptions()...) // extra.go: absent-safe vendor fields
	out := v.validateFile(&f)
	return out, append(errs, v.errs...)
}

func asYAMLError(err error) *yamlx.Error {
	var e *yamlx.Error
	if errors.As(err, &e) {
		return e
	}
	return &yamlx.Error{Msg: err.Error()}
}

// validator is the semantic pass over one decoded file.
type validator struct {
	file string
	pos  yamlx.Positions
	bad  map[string]bool
	o    LoadOptions
	opts []expr.Option
	errs []*yamlx.Error
}

// fail records an error at path, unless path (or a parent) failed to decode already.
func (v *validator) fail(path, format string, args ...any) {
	for q := path; q != ""; {
		if v.bad[q] {
			return
		}
		i := strings.LastIndexAny(q, ".[")
		if i <= 0 {
			break
		}
		q = q[:i]
	}
	v.errs = append(v.errs, v.pos.At(v.file, path, fmt.Sprintf(format, args...)))
}

func (v *validator) validateFile(f *File) []*Rule {
	var out []*Rule
	groups := map[string]bool{}
	names := map[string]int{} // rule name -> line
	for gi, g := range f.Groups {
		gp := fmt.Sprintf("groups[%d]", gi)
		if g.Name == "" {
			v.fail(gp, "group name is required")
		} else if groups[g.Name] {
			v.fail(gp+".name", "group %q defined twice", g.Name)
		}
		groups[g.Name] = true
		kind := lanewatch.Kind(g.On)
		if !validKind(kind) {
			v.fail(gp+".on", "on: %q is not one of telemetry, camera, plaque, status, coverage", g.On)
		}
		for ri, rs := range g.Rules {
			rp := fmt.Sprintf("%s.rules[%d]", gp, ri)
			r := v.rule(rp, g.Name, kind, rs)
			if line, dup := names[rs.Name]; dup && rs.Name != "" {
				v.fail(rp+".name", "rule %q already defined in %s:%d", rs.Name, v.file, line)
				continue
			}
			names[rs.Name] = r.Line
			out = append(out, r)
		}
	}
	return out
}

func (v *validator) rule(rp, group string, kind lanewatch.Kind, rs RuleSpec) *Rule {
	at := v.pos.At(v.file, rp+".name", "") // the rule's position is its name's
	r := &Rule{Spec: rs, Group: group, On: kind, File: v.file, Line: at.Line, Column: at.Column, loc: v.o.Location}
	if !nameRE.MatchString(rs.Name) {
		v.fail(rp+".name", "rule name %q: want letters, digits, _ . : - (starting with a letter or _)", rs.Name)
	}
	switch {
	case rs.When == "" && rs.Absent == 0:
		if !v.bad[rp+".when"] && !v.bad[rp+".absent"] {
			v.fail(rp, "rule %q: one of when or absent is required", rs.Name)
		}
	case rs.When != "" && rs.Absent != 0:
		v.fail(rp+".absent", "rule %q: give when or absent, not both", rs.Name)
	}
	if kind == KindCoverage {
		// A coverage event is reported once per segment and deadline: there is no stream of
		// messages for for, keep_for, clear or absent to work on.
		for _, f := range []struct {
			set  bool
			name string
		}{{rs.For != 0, "for"}, {rs.KeepFor != 0, "keep_for"}, {rs.Clear != "", "clear"}, {rs.Absent != 0, "absent"}} {
			if f.set {
				v.fail(rp+"."+f.name, "rule %q: %s does not apply to coverage rules (each coverage event fires at most once)", rs.Name, f.name)
			}
		}
	}
	if rs.KeepFor != 0 && rs.Absent != 0 {
		v.fail(rp+".keep_for", "rule %q: keep_for applies to when rules, not absent", rs.Name)
	}
	if rs.Clear != "" && rs.Absent != 0 {
		v.fail(rp+".clear", "rule %q: clear applies to when rules, not absent (an absent rule clears when a message arrives)", rs.Name)
	}
	if rs.For != 0 && rs.Absent != 0 {
		v.fail(rp+".for", "rule %q: for applies to when rules; absent is itself the duration", rs.Name)
	}
	if rs.Active != nil {
		sc, serrs := compileScheduleCal(rs.Active, v.o.Location, v.o.Calendar)
		for _, se := range serrs {
			v.fail(rp+".active."+se.field, "rule %q: active: %s", rs.Name, se.msg)
		}
		r.sched = sc
	}
	switch rs.Mode {
	case "", "enforce", "shadow":
	default:
		v.fail(rp+".mode", "rule %q: mode %q is not one of enforce, shadow", rs.Name, rs.Mode)
	}
	boolOpts := append(slices.Clip(v.opts), expr.AsBool())
	if rs.When != "" {
		r.when = v.compile(rp+".when", rs.Name, "when", rs.When, boolOpts)
	}
	if rs.Clear != "" {
		r.clear = v.compile(rp+".clear", rs.Name, "clear", rs.Clear, boolOpts)
	}
	if rs.Key == "" && kind == KindCoverage {
		r.key = v.compile(rp, rs.Name, "default coverage key", defaultCoverageKey, v.opts)
	}
	if rs.Key != "" {
		r.key = v.compile(rp+".key", rs.Name, "key", rs.Key, v.opts)
	}
	c := rs.Case
	r.command = v.command(rp, rs)
	switch {
	case c == (CaseSpec{}) && r.command != nil:
		// A command instead of a case.
	case c.Category == "":
		if !v.bad[rp+".case.category"] {
			v.fail(rp+".case", "rule %q: case.category is required", rs.Name)
		}
	case v.o.Category != nil && !v.o.Category(c.Category):
		v.fail(rp+".case.category", "rule %q: unknown category %q", rs.Name, c.Category)
	case v.o.Category == nil && !categoryRE.MatchString(c.Category):
		v.fail(rp+".case.category", "rule %q: category %q is not a 4-digit code", rs.Name, c.Category)
	}
	if c.Urgency == "" {
		r.Spec.Case.Urgency = lanewatch.UrgencyNormal
	} else if !lanewatch.ValidUrgency(c.Urgency) {
		v.fail(rp+".case.urgency", "rule %q: urgency %q is not one of urgent, high, normal, low", rs.Name, c.Urgency)
	}
	schema := templateSchema(r.IsAbsent())
	var err error
	if r.title, err = parseTemplate(rs.Name+".title", c.Title, v.o.Location, schema); err != nil {
		v.fail(rp+".case.title", "rule %q: title: %v", rs.Name, err)
	}
	if r.desc, err = parseTemplate(rs.Name+".description", c.Description, v.o.Location, schema); err != nil {
		v.fail(rp+".case.description", "rule %q: description: %v", rs.Name, err)
	}
	r.fallbackTitle = c.Category
	if v.o.CategoryName != nil {
		if n := v.o.CategoryName(c.Category); n != "" {
			r.fallbackTitle = n
		}
	}
	r.hash = ruleHash(rs)
	r.usesExtra = strings.Contains(rs.When+rs.Clear+rs.Key+c.Title+c.Description, "extra")
	return r
}

// compile compiles one expression of a rule; nil (and an error recorded) when it does not.
func (v *validator) compile(path, rule, what, src string, opts []expr.Option) *vm.Program {
	p, err := expr.Compile(src, opts...)
	if err != nil {
		v.fail(path, "rule %q: %s: %s", rule, what, firstLine(err.Error()))
		return nil
	}
	return p
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
