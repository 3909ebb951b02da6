package rules

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// Case titles and descriptions are Go templates over the data of templateData. At load they
// are checked against that data's schema (a field that does not exist is an error, vendor
// fields under .msg.extra and device tags excepted); every printed value goes through showFunc,
// so a missing vendor field prints as nothing (not "<no value>") and a time prints in the
// rule's zone as "2006-01-02 15:04:05" (not Go's String() with its monotonic "m=+…" suffix).

// showFunc is the name of the function every {{ … }} output is piped through.
const showFunc = "_lw_show"

// timeLayout is how templates print times.
const timeLayout = "2006-01-02 15:04:05"

// tplSchema describes what a template may reference below a name.
type tplSchema struct {
	fields map[string]*tplSchema // a struct's fields by name
	anyKey bool                  // a map: any key (its values are not checked)
	typ    reflect.Type          // the Go type, for method calls (.now.Format)
}

// schemaOf derives the schema of t from its expr tags (the names expressions use).
func schemaOf(t reflect.Type) *tplSchema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s := &tplSchema{typ: t}
	switch {
	case t == reflect.TypeFor[time.Time]():
	case t.Kind() == reflect.Map:
		s.anyKey = true
	case t.Kind() == reflect.Struct:
		s.fields = map[string]*tplSchema{}
		for i := range t.NumField() {
			f := t.Field(i)
			name := f.Tag.Get("expr")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			s.fields[name] = schemaOf(f.Type)
		}
	}
	return s
}

var (
	baseSchema   = templateSchemaFor(false)
	absentSchema = templateSchemaFor(true)
)

func templateSchemaFor(absent bool) *tplSchema {
	str, tm := schemaOf(reflect.TypeFor[string]()), schemaOf(reflect.TypeFor[time.Time]())
	s := &tplSchema{fields: map[string]*tplSchema{
		"rule": str, "key": str, "now": tm,
		"device": schemaOf(reflect.TypeFor[DeviceEnv]()),
		"msg":    schemaOf(reflect.TypeFor[Msg]()),
		"road":   schemaOf(reflect.TypeFor[RoadEnv]()),
	}}
	if absent {
		s.fields["absent"], s.fields["last_seen"] = str, tm
	}
	return s
}

// templateSchema is what the templates of a rule may reference.
func templateSchema(absent bool) *tplSchema {
	if absent {
		return absentSchema
	}
	return baseSchema
}

// templateFuncs are the helpers of case titles and descriptions beyond text/template's own.
func templateFuncs(loc *time.Location) template.FuncMap {
	return template.FuncMap{
		// pct formats a ratio as a whole percentage: pct 0.634 → "63%".
		"pct": func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) },
		showFunc: func(v any) string {
			switch v := v.(type) {
			case nil:
				return ""
			case time.Time:
				if v.IsZero() {
					return ""
				}
				return v.In(loc).Format(timeLayout)
			case string:
				return v
			}
			return fmt.Sprint(v)
		},
	}
}

// parseTemplate parses and checks a case template (nil for an empty text).
func parseTemplate(name, text string, loc *time.Location, schema *tplSchema) (*template.Template, error) {
	if text == "" {
		return nil, nil
	}
	t, err := template.New(name).Option("missingkey=zero").Funcs(templateFuncs(loc)).Parse(text)
	if err != nil {
		return nil, err
	}
	if err := checkTemplate(t.Root, schema, schema); err != nil {
		return nil, err
	}
	showAll(t.Tree, t.Root)
	return t, nil
}

// checkTemplate reports the first field reference under n that does not exist in the schema
// (dot is the schema of ".", nil where it is not known, e.g. inside range).
func checkTemplate(n parse.Node, dot, top *tplSchema) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkTemplate(c, dot, top); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return checkPipe(n.Pipe, dot, top)
	case *parse.TemplateNode:
		return checkPipe(n.Pipe, dot, top)
	case *parse.IfNode:
		return checkBranch(&n.BranchNode, dot, dot, top)
	case *parse.RangeNode:
		return checkBranch(&n.BranchNode, nil, dot, top)
	case *parse.WithNode:
		return checkBranch(&n.BranchNode, pipeSchema(n.Pipe, dot), dot, top)
	}
	return nil
}

func checkBranch(b *parse.BranchNode, inner, dot, top *tplSchema) error {
	if err := checkPipe(b.Pipe, dot, top); err != nil {
		return err
	}
	if err := checkTemplate(b.List, inner, top); err != nil {
		return err
	}
	if b.ElseList != nil {
		return checkTemplate(b.ElseList, dot, top)
	}
	return nil
}

func checkPipe(p *parse.PipeNode, dot, top *tplSchema) error {
	if p == nil {
		return nil
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			var err error
			switch a := a.(type) {
			case *parse.FieldNode:
				_, err = lookup(dot, a.Ident, "")
			case *parse.VariableNode:
				if len(a.Ident) > 1 && a.Ident[0] == "$" {
					_, err = lookup(top, a.Ident[1:], "$")
				}
			case *parse.PipeNode:
				err = checkPipe(a, dot, top)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// pipeSchema is the schema of a pipeline that is a single field reference ({{ with .road }}).
func pipeSchema(p *parse.PipeNode, dot *tplSchema) *tplSchema {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return nil
	}
	if f, ok := p.Cmds[0].Args[0].(*parse.FieldNode); ok {
		s, _ := lookup(dot, f.Ident, "")
		return s
	}
	return nil
}

// lookup follows idents from s; it fails on a name that is neither a field nor a method.
func lookup(s *tplSchema, idents []string, prefix string) (*tplSchema, error) {
	path := prefix
	for _, id := range idents {
		path += "." + id
		switch {
		case s == nil || s.anyKey:
			return nil, nil
		case s.fields != nil:
			if c, ok := s.fields[id]; ok {
				s = c
				continue
			}
		}
		if hasMethod(s.typ, id) {
			return nil, nil
		}
		if s == baseSchema && (id == "absent" || id == "last_seen") {
			return nil, fmt.Errorf("%s: no such field (.absent and .last_seen exist in absent rules only)", path)
		}
		return nil, fmt.Errorf("%s: no such field%s", path, known(s, id))
	}
	return s, nil
}

func hasMethod(t reflect.Type, name string) bool {
	if t == nil {
		return false
	}
	_, ok := t.MethodByName(name)
	return ok
}

// known suggests the close name, or lists the names of a small struct.
func known(s *tplSchema, id string) string {
	if len(s.fields) == 0 {
		return ""
	}
	names := make([]string, 0, len(s.fields))
	for k := range s.fields {
		names = append(names, k)
	}
	sort.Strings(names)
	if k, ok := yamlx.Closest(id, names); ok {
		return fmt.Sprintf(" (did you mean %q?)", k)
	}
	for _, k := range names {
		if strings.HasPrefix(id, k+"_") {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
	}
	if len(names) > 12 {
		return ""
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}

// showAll pipes the value of every printing action through showFunc.
func showAll(tree *parse.Tree, n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			showAll(tree, c)
		}
	case *parse.ActionNode:
		if len(n.Pipe.Decl) == 0 {
			id := parse.NewIdentifier(showFunc).SetTree(tree).SetPos(n.Pos)
			n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{id}})
		}
	case *parse.IfNode:
		showAll(tree, n.List)
		showAll(tree, n.ElseList)
	case *parse.RangeNode:
		showAll(tree, n.List)
		showAll(tree, n.ElseList)
	case *parse.WithNode:
		showAll(tree, n.List)
		showAll(tree, n.ElseList)
	}
}

// templateData is what case templates see: the names of the expression environment, each
// struct as a map of its expr names (so every field expressions can use, templates can too).
// Times are in the rule's zone ({{ .now.Format "15:04" }} is local time).
func templateData(env Env, r *Rule, key string) map[string]any {
	loc := r.location()
	road := structMap(reflect.ValueOf(RoadEnv{ID: "", Name: "", Class: "", District: "", Contractor: ""}), loc)
	if env.Road != nil {
		road = structMap(reflect.ValueOf(*env.Road), loc)
	}
	msg := structMap(reflect.ValueOf(env.Msg), loc)
	if env.Msg.Extra == nil {
		msg["extra"] = map[string]any{}
	}
	dev := structMap(reflect.ValueOf(env.Device), loc)
	if env.Device.Tags == nil {
		dev["tags"] = map[string]string{}
	}
	d := map[string]any{"rule": r.Name(), "key": key, "now": env.Now.In(loc), "device": dev, "msg": msg, "road": road}
	if r.IsAbsent() {
		d["absent"] = time.Duration(r.Spec.Absent).String()
		d["last_seen"] = env.Msg.TS.In(loc)
	}
	return d
}

func structMap(v reflect.Value, loc *time.Location) map[string]any {
	t := v.Type()
	m := make(map[string]any, t.NumField())
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("expr")
		if name == "" || name == "-" {
			continue
		}
		x := v.Field(i).Interface()
		if tm, ok := x.(time.Time); ok {
			x = tm.In(loc)
		}
		m[name] = x
	}
	return m
}

// executeTemplate renders t (nil: "") with data, trimmed.
func executeTemplate(t *template.Template, data any) (string, error) {
	if t == nil {
		return "", nil
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}

// renderCase renders the case of a firing. It always returns a usable Firing: a title template
// that fails falls back to the category's name (or code) and the key, a failing description to
// none; the error says what failed.
func renderCase(r *Rule, env Env, key string, at time.Time) (Firing, error) {
	data := templateData(env, r, key)
	f := Firing{Rule: r.Name(), Group: r.Group, Key: key, Category: r.Spec.Case.Category,
		Urgency: r.Spec.Case.Urgency, DeviceID: env.Device.ID, District: env.Device.District, Contractor: env.Device.Contractor,
		Location: locationOf(env), At: at, Shadow: r.Shadow(), Command: r.command}
	var errs []error
	var err error
	if f.Title, err = executeTemplate(r.title, data); err != nil {
		errs = append(errs, fmt.Errorf("title: %w", err))
		f.Title = strings.TrimSpace(r.fallbackTitle + " " + key)
	}
	if f.Title == "" {
		f.Title = r.Name() + " " + key
	}
	if f.Description, err = executeTemplate(r.desc, data); err != nil {
		errs = append(errs, fmt.Errorf("description: %w", err))
		f.Description = ""
	}
	return f, errors.Join(errs...)
}
