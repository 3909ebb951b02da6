package yamlx

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// DecodeAll strictly decodes data into v like Decode, but does not stop at the first problem:
// every unknown key, duplicate key, type mismatch and bad value (a custom unmarshaler's error,
// e.g. a Duration) is collected, each as an *Error with its position and the dotted key path
// (Error.Path, as Positions names them) of the value concerned. What decodes is kept, so a
// caller can validate the rest of the document and report everything in one pass.
//
// v must be a pointer to a struct. A syntax error stops decoding (one error). Documents that
// use aliases or merge keys are decoded with Decode (first error only).
func DecodeAll(file string, data []byte, v any) (errs []*Error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			errs = append(errs, &Error{File: file, Msg: fmt.Sprintf("malformed YAML document (%v)", r)})
		}
	}()
	// Duplicate keys are collected below (with the others), not a syntax error that hides them.
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return []*Error{asError(file, err)}
	}
	if usesAliases(f) {
		if err := Decode(file, data, v); err != nil {
			return []*Error{asError(file, err)}
		}
		return nil
	}
	d := &collector{file: file}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return []*Error{{File: file, Msg: "yamlx: DecodeAll needs a non-nil pointer"}}
	}
	for _, doc := range f.Docs {
		d.decode("", doc.Body, rv.Elem())
	}
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i], d.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return d.errs
}

func asError(file string, err error) *Error {
	var e *Error
	if errors.As(Wrap(file, err), &e) {
		return e
	}
	return &Error{File: file, Msg: err.Error()}
}

func usesAliases(f *ast.File) bool {
	found := false
	for _, doc := range f.Docs {
		ast.Walk(visitFunc(func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AliasNode, *ast.MergeKeyNode:
				found = true
			case *ast.MappingValueNode:
				if _, ok := n.Key.(*ast.MergeKeyNode); ok {
					found = true
				}
			}
			return !found
		}), doc)
	}
	return found
}

type visitFunc func(ast.Node) bool

func (f visitFunc) Visit(n ast.Node) ast.Visitor {
	if f(n) {
		return f
	}
	return nil
}

type collector struct {
	file string
	errs []*Error
}

func (d *collector) fail(path string, n ast.Node, msg string) {
	e := &Error{File: d.file, Msg: msg, Path: path}
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Column = tk.Position.Line, tk.Position.Column
		}
	}
	d.errs = append(d.errs, e)
}

var nodeUnmarshaler = reflect.TypeFor[yaml.NodeUnmarshaler]()

// decode decodes n into rv (addressable), recording errors under path.
func (d *collector) decode(path string, n ast.Node, rv reflect.Value) {
	n = unwrap(n)
	if n == nil || n.Type() == ast.NullType {
		return
	}
	if rv.CanAddr() && rv.Addr().Type().Implements(nodeUnmarshaler) {
		d.leaf(path, n, rv)
		return
	}
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			rv.Set(reflect.New(rv.Type().Elem()))
		}
		d.decode(path, n, rv.Elem())
	case reflect.Struct:
		pairs, ok := mappingPairs(n)
		if !ok {
			d.fail(path, n, fmt.Sprintf("%swant a mapping, got %s", keyOf(path), describe(n)))
			return
		}
		fields := yamlFields(rv.Type())
		seen := map[string]bool{}
		for _, p := range pairs {
			key := p.Key.String()
			child := joinPath(path, key)
			if seen[key] {
				d.fail(child+"#dup", p.Key, fmt.Sprintf("key %q given twice", key))
				continue
			}
			seen[key] = true
			fi, ok := fields[key]
			if !ok {
				d.fail(child, p.Key, unknownField(key, fields))
				continue
			}
			d.decode(child, p.Value, rv.FieldByIndex(fi))
		}
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.fail(path, n, fmt.Sprintf("%swant a list, got %s", keyOf(path), describe(n)))
			return
		}
		out := reflect.MakeSlice(rv.Type(), len(seq.Values), len(seq.Values))
		for i, item := range seq.Values {
			d.decode(fmt.Sprintf("%s[%d]", path, i), item, out.Index(i))
		}
		rv.Set(out)
	case reflect.Map:
		pairs, ok := mappingPairs(n)
		if !ok || rv.Type().Key().Kind() != reflect.String {
			d.fail(path, n, fmt.Sprintf("%swant a mapping, got %s", keyOf(path), describe(n)))
			return
		}
		if rv.IsNil() {
			rv.Set(reflect.MakeMap(rv.Type()))
		}
		seen := map[string]bool{}
		for _, p := range pairs {
			key := p.Key.String()
			child := joinPath(path, key)
			if seen[key] {
				d.fail(child, p.Key, fmt.Sprintf("key %q given twice", key))
				continue
			}
			seen[key] = true
			ev := reflect.New(rv.Type().Elem()).Elem()
			d.decode(child, p.Value, ev)
			rv.SetMapIndex(reflect.ValueOf(key).Convert(rv.Type().Key()), ev)
		}
	default:
		d.leaf(path, n, rv)
	}
}

// leaf decodes a scalar (or a type with its own unmarshaler) with go-yaml.
func (d *collector) leaf(path string, n ast.Node, rv reflect.Value) {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
		if !rv.Addr().Type().Implements(nodeUnmarshaler) {
			d.fail(path, n, fmt.Sprintf("%swant a %s, got %s", keyOf(path), kindName(rv.Type()), describe(n)))
			return
		}
	}
	if rv.Kind() == reflect.String {
		// A scalar for a string field is its text: category: 0304 stays "0304".
		switch v := n.(type) {
		case *ast.StringNode:
			rv.SetString(v.Value)
			return
		case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
			rv.SetString(n.GetToken().Value)
			return
		}
	}
	p := reflect.New(rv.Type())
	if err := yaml.NodeToValue(n, p.Interface(), yaml.DisallowUnknownField()); err != nil {
		e := asError(d.file, err)
		switch {
		case strings.Contains(e.Msg, "overflow"):
			e.Msg = fmt.Sprintf("%s%s is out of range for a %s", keyOf(path), describe(n), kindName(rv.Type()))
		case strings.HasPrefix(e.Msg, "cannot unmarshal"):
			e.Msg = fmt.Sprintf("%swant a %s, got %s", keyOf(path), kindName(rv.Type()), describe(n))
		}
		if e.Line == 0 {
			if tk := n.GetToken(); tk != nil && tk.Position != nil {
				e.Line, e.Column = tk.Position.Line, tk.Position.Column
			}
		}
		e.Path = path
		d.errs = append(d.errs, e)
		return
	}
	rv.Set(p.Elem())
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.DocumentNode:
			n = v.Body
		default:
			return n
		}
	}
}

func mappingPairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, true
	}
	return nil, false
}

// keyOf is "KEY: " for the last key of path ("" at the top).
func keyOf(path string) string {
	if path == "" {
		return ""
	}
	return path[strings.LastIndexAny(path, ".")+1:] + ": "
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", strings.TrimSpace(n.String()))
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "whole number"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return "scalar"
}

// yamlFields maps the yaml key of every field of struct type t to its index (embedded structs
// with `yaml:",inline"` are flattened).
func yamlFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
			for k, idx := range yamlFields(f.Type) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = []int{i}
	}
	return out
}

// unknownField names an unknown key and, when one known key is close to it, suggests it.
func unknownField(key string, fields map[string][]int) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	if best, ok := Closest(key, names); ok {
		return fmt.Sprintf("unknown field %q (did you mean %q?)", key, best)
	}
	return fmt.Sprintf("unknown field %q", key)
}

// Closest returns the candidate nearest to name (at most two edits away, the first in sorted
// order on a tie), for "did you mean" hints.
func Closest(name string, candidates []string) (string, bool) {
	best, bestD := "", 3
	for _, k := range candidates {
		if dist := editDistance(name, k); dist < bestD || (dist == bestD && k < best) {
			best, bestD = k, dist
		}
	}
	return best, best != ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
