// Package yamlx decodes lanewatch's YAML files strictly: unknown keys, duplicate keys and type
// mismatches are errors that name the file, line and column. Every YAML loader in lanewatch uses
// it so that all configuration errors read the same way. Check (DecodeAll, then the loader's
// validation, each error placed at the key its message names) reports every error of a file in
// one run, with "did you mean" for a key close to a known one.
//
// It must not know any lanewatch file format; callers own their types and semantic checks.
package yamlx

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// MaxFileBytes bounds every YAML file lanewatch reads.
const MaxFileBytes = 16 << 20

// Error is a YAML error at a position in a file.
type Error struct {
	File   string
	Line   int
	Column int
	Msg    string
	// Path is the dotted key path of the value concerned ("groups[0].rules[1].for"), when
	// known (DecodeAll sets it).
	Path string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ReadFile reads and strictly decodes the YAML file at path into v.
func ReadFile(path string, v any) error {
	data, err := Read(path)
	if err != nil {
		return err
	}
	return Decode(path, data, v)
}

// Read reads the file at path, refusing one larger than MaxFileBytes.
func Read(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if fi.Size() > MaxFileBytes {
		return nil, &Error{File: path, Msg: fmt.Sprintf("file is %d bytes, more than the limit of %d", fi.Size(), MaxFileBytes)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// Decode strictly decodes data (named file in errors) into v: unknown keys and duplicate keys are
// errors. An empty document leaves v unchanged.
func Decode(file string, data []byte, v any) (err error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	defer func() {
		// go-yaml v1.19.2 panics on some malformed documents (found by fuzzing, e.g. a tag on a
		// scalar decoded into a slice); turn that into an error like any other.
		if r := recover(); r != nil {
			err = &Error{File: file, Msg: fmt.Sprintf("malformed YAML document (%v)", r)}
		}
	}()
	err = yaml.UnmarshalWithOptions(data, v, yaml.DisallowUnknownField())
	if err == nil {
		return nil
	}
	return Wrap(file, err)
}

// Wrap turns a go-yaml error into an *Error with the position of its token.
func Wrap(file string, err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		c := *pe
		c.File = file
		return &c
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		e := &Error{File: file, Msg: cleanMessage(ye.GetMessage())}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Column = tk.Position.Line, tk.Position.Column
		}
		return e
	}
	return &Error{File: file, Msg: cleanMessage(err.Error())}
}

func cleanMessage(s string) string {
	// go-yaml prefixes positions itself and may append source excerpts; keep the first line.
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// Positions maps dotted key paths of a YAML document ("groups[0].rules[1].when") to their
// line and column, for semantic errors found after decoding.
type Positions map[string]token.Position

// At returns the *Error for path with msg, positioned at path's node if known, else at the
// nearest known ancestor.
func (p Positions) At(file, path, msg string) *Error {
	for q := path; ; {
		if pos, ok := p[q]; ok {
			return &Error{File: file, Line: pos.Line, Column: pos.Column, Msg: msg}
		}
		i := strings.LastIndexAny(q, ".[")
		if i <= 0 {
			return &Error{File: file, Msg: msg}
		}
		q = q[:i]
	}
}

// ParsePositions parses data and records the position of every mapping value and sequence item.
func ParsePositions(data []byte) (Positions, error) {
	// Duplicate keys are the decoder's to report (DecodeAll collects them with the rest).
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, err
	}
	p := Positions{}
	for _, doc := range f.Docs {
		walk(p, "", doc.Body)
	}
	return p, nil
}

func walk(p Positions, path string, n ast.Node) {
	if n == nil {
		return
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil && path != "" {
		if _, ok := p[path]; !ok {
			p[path] = *tk.Position
		}
	}
	switch n := n.(type) {
	case *ast.MappingNode:
		for _, mv := range n.Values {
			walkPair(p, path, mv)
		}
	case *ast.MappingValueNode:
		walkPair(p, path, n)
	case *ast.SequenceNode:
		for i, v := range n.Values {
			walk(p, fmt.Sprintf("%s[%d]", path, i), v)
		}
	case *ast.DocumentNode:
		walk(p, path, n.Body)
	}
}

func walkPair(p Positions, path string, mv *ast.MappingValueNode) {
	key := mv.Key.String()
	child := key
	if path != "" {
		child = path + "." + key
	}
	if tk := mv.Key.GetToken(); tk != nil && tk.Position != nil {
		p[child] = *tk.Position
	}
	walk(p, child, mv.Value)
}

// Duration is a time.Duration that decodes from Go duration strings ("90s", "2m", "1h30m") and
// also accepts days ("2d"). Its errors carry the position of the bad value.
type Duration time.Duration

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (d *Duration) UnmarshalYAML(n ast.Node) error {
	s := strings.Trim(strings.TrimSpace(n.String()), `"'`)
	v, err := ParseDuration(s)
	if err != nil {
		return NodeError(n, err.Error())
	}
	*d = Duration(v)
	return nil
}

// NodeError returns an error positioned at n, for custom unmarshalers; Decode reports it with
// the file name.
func NodeError(n ast.Node, msg string) error {
	e := &Error{Msg: msg}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		e.Line, e.Column = tk.Position.Line, tk.Position.Column
	}
	return e
}

// MarshalYAML implements yaml.InterfaceMarshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// ParseDuration parses a Go duration or a whole number of days ("3d").
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 90s, 2m, 1h30m, 3d)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("invalid duration %q: negative", s)
	}
	return v, nil
}
