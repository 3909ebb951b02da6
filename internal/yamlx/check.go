package yamlx

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Errors is every error found in one or more YAML files, each an *Error; its text is one
// error per line (file:line:col: message).
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Err is es as an error: nil when es is empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// ReadCheck reads the file at path (bounded by MaxFileBytes) and checks it with Check.
func ReadCheck(path string, v any, validate func() error) error {
	data, err := Read(path)
	if err != nil {
		return err
	}
	return Check(path, data, v, validate)
}

// ReadLocate is Locate for errors found in the file at path after it was loaded (checks across
// files): it reads the file again for the positions. Nil err gives nil.
func ReadLocate(path string, err error) error {
	if err == nil {
		return nil
	}
	var pos Positions
	if data, rerr := Read(path); rerr == nil {
		pos, _ = ParsePositions(data)
	}
	return Errors(Locate(path, pos, err))
}

// Check is the two passes of a lanewatch YAML loader in one call: DecodeAll decodes data
// (named file) into v, collecting every unknown key (with "did you mean" when a known key is
// close), wrong type and bad value; then validate (may be nil) checks what decoded. Every
// error validate returns (errors.Join them to return several) is placed at the key it names:
// its message starts with the dotted key path as Positions names it ("routes[2].department:
// ...", "plaques[1] (P-7).party.name: ..."; a parenthesised note after an index is skipped).
// A validation error on a value that did not decode, or on its parent or child, is dropped:
// it follows from the decode error already reported. A syntax error stops before validate.
//
// The result is nil or Errors sorted by position (those without one, about a key that is
// missing, last), each error naming file, line, column and key.
func Check(file string, data []byte, v any, validate func() error) error {
	errs := DecodeAll(file, data, v)
	bad := map[string]bool{}   // paths that did not decode (or a typo left unset), with their parents and children
	exact := map[string]bool{} // mappings holding a typo
	for _, e := range errs {
		if e.Path == "" && e.Line > 0 && !strings.HasPrefix(e.Msg, "want ") {
			return Errors(errs) // syntax error: nothing decoded to validate
		}
		if m := unknownRE.FindStringSubmatch(e.Msg); m != nil {
			// `distrct: x` leaves district unset: "district: required" (or anything about what
			// district would have held) follows from the typo, as does an error on its mapping.
			parent := parentPath(e.Path)
			exact[parent] = true
			if m[2] != "" {
				bad[joinPath(parent, m[2])] = true
			}
			continue
		}
		bad[strings.TrimSuffix(e.Path, "#dup")] = true
		if k := lastKey(e.Path); k != "" && !strings.Contains(e.Msg, k) {
			e.Msg = k + ": " + e.Msg // name the key: `every: invalid duration "2 minutes"`
		}
	}
	if validate != nil {
		if verr := validate(); verr != nil {
			pos, _ := ParsePositions(data) // nil on a syntax error: errors then have no position
			for _, e := range Locate(file, pos, verr) {
				if !exact[e.Path] && !related(bad, e.Path) {
					errs = append(errs, e)
				}
			}
		}
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		if (a.Line == 0) != (b.Line == 0) { // errors without a position (a key missing) last
			return b.Line - a.Line
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return Errors(errs).Err()
}

// pathRE is the key path a validation message starts with, with an optional " (note)" after
// an index or key ("plaques[1] (P-7).party.name").
var pathRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_\-]*(?:\[\d+\]|\.[A-Za-z0-9_\-]+)*)(?: \([^()]*\))?((?:\[\d+\]|\.[A-Za-z0-9_\-]+)*)(?::| |,|/)`)

// Locate splits err (errors.Join trees are flattened) into *Error values positioned by pos at
// the key path each message starts with (see Check). An *Error that has a position already is
// kept as it is; a message without a known path gets no position.
func Locate(file string, pos Positions, err error) []*Error {
	var out []*Error
	for _, leaf := range leaves(err) {
		var ye *Error
		if errors.As(leaf, &ye) && ye.Line > 0 {
			c := *ye
			if c.File == "" {
				c.File = file
			}
			out = append(out, &c)
			continue
		}
		msg := leaf.Error()
		m := pathRE.FindStringSubmatch(msg)
		if m == nil {
			out = append(out, &Error{File: file, Msg: msg})
			continue
		}
		path := m[1] + m[2]
		e := pos.At(file, path, msg)
		e.Path = path
		out = append(out, e)
	}
	return out
}

// leaves flattens errors.Join trees (not %w chains: a wrapped error is one message).
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// unknownRE matches DecodeAll's unknown-key message; group 2 is the suggested key.
var unknownRE = regexp.MustCompile(`^unknown field "([^"]*)"(?: \(did you mean "([^"]*)"\?\))?$`)

// parentPath is the path of the mapping holding path's last key ("a[0].b" -> "a[0]").
func parentPath(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// related reports whether path, one of its parents or one of its children is in bad.
func related(bad map[string]bool, path string) bool {
	if path == "" || len(bad) == 0 {
		return false
	}
	for b := range bad {
		if b == path || isUnder(b, path) || isUnder(path, b) {
			return true
		}
	}
	return false
}

// isUnder reports whether path is below parent ("a.b[0].c" is under "a.b" and "a.b[0]").
func isUnder(path, parent string) bool {
	if parent == "" || !strings.HasPrefix(path, parent) || len(path) == len(parent) {
		return false
	}
	c := path[len(parent)]
	return c == '.' || c == '['
}

// lastKey is the last key of a dotted path ("routes[2].department" -> "department",
// "calendar.holidays[1]" -> "holidays").
func lastKey(path string) string {
	path = strings.TrimSuffix(path, "#dup")
	if i := strings.IndexByte(path, '['); i >= 0 && !strings.Contains(path[i:], ".") {
		path = path[:i]
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	return path
}

// DidYouMean is " (did you mean X?)" when a candidate is close to name (see Closest), else "";
// for validation messages naming an unknown reference.
func DidYouMean(name string, candidates []string) string {
	if best, ok := Closest(name, candidates); ok && best != name {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}
