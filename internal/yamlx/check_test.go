package yamlx

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

type checkFile struct {
	Departments []struct {
		ID         string `yaml:"id"`
		Supervisor string `yaml:"supervisor"`
	} `yaml:"departments"`
	Routes []struct {
		District   string `yaml:"district"`
		Department string `yaml:"department"`
	} `yaml:"routes"`
	Limits struct {
		Sign Duration `yaml:"sign"`
		N    int      `yaml:"n"`
	} `yaml:"limits"`
	Party struct {
		Name string `yaml:"name"`
	} `yaml:"party"`
}

// validate is a loader's validation pass: it collects errors starting with their key path.
func (f *checkFile) validate() error {
	var errs []error
	ids := map[string]bool{}
	var list []string
	for i, d := range f.Departments {
		switch {
		case d.ID == "":
			errs = append(errs, fmt.Errorf("departments[%d].id: required", i))
		case ids[d.ID]:
			errs = append(errs, fmt.Errorf("departments[%d] (%s).id: defined twice", i, d.ID))
		}
		ids[d.ID] = true
		list = append(list, d.ID)
	}
	for i, r := range f.Routes {
		if !ids[r.Department] {
			errs = append(errs, fmt.Errorf("routes[%d].department: %q is not a department%s", i, r.Department, DidYouMean(r.Department, list)))
		}
	}
	if f.Party.Name == "" {
		errs = append(errs, errors.New("party.name: required"))
	}
	if f.Limits.N < 0 {
		errs = append(errs, errors.New("limits.n: must not be negative"))
	}
	return errors.Join(errs...)
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{name: "good", in: "departments: [{id: a}]\nroutes: [{department: a}]\nparty: {name: p}\n"},
		{
			name: "decode and validation errors together, in file order, each naming its key",
			in: "departments:\n  - id: road\n  - id: road\nroutes:\n  - department: raod\n" +
				"limits:\n  sign: 1 hour\n  n: -1\nescalashun: true\nparty: {name: p}\n",
			want: []string{
				`f.yaml:3:5: departments[1] (road).id: defined twice`,
				`f.yaml:5:5: routes[0].department: "raod" is not a department (did you mean "road"?)`,
				`f.yaml:7:9: sign: invalid duration "1 hour" (use e.g. 90s, 2m, 1h30m, 3d)`,
				`f.yaml:8:3: limits.n: must not be negative`,
				`f.yaml:9:1: unknown field "escalashun"`,
			},
		},
		{
			name: "a typo of a key is one error, not also the key's absence",
			in:   "departments:\n  - idd: road\nparty: {name: p}\n",
			want: []string{`f.yaml:2:5: unknown field "idd" (did you mean "id"?)`},
		},
		{
			name: "a typo of a section's key is one error, not also the errors of the section's absence",
			in:   "prty:\n  name: p\n",
			want: []string{`f.yaml:1:1: unknown field "prty" (did you mean "party"?)`},
		},
		{
			name: "a typo without a close key does not hide the others",
			in:   "escalashun: 1\n",
			want: []string{`f.yaml:1:1: unknown field "escalashun"`, `f.yaml: party.name: required`},
		},
		{
			name: "a value that did not decode is not validated",
			in:   "departments:\n  - id: [a]\nlimits: {n: many}\nparty: {name: p}\n",
			want: []string{`f.yaml:2:9: id: want a string, got a list`, `f.yaml:3:13: n: want a whole number, got "many"`},
		},
		{
			name: "a syntax error stops before validation",
			in:   "departments: [\n",
			want: []string{`f.yaml:1:14: sequence end token ']' not found`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f checkFile
			err := Check("f.yaml", []byte(tt.in), &f, f.validate)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var es Errors
			if !errors.As(err, &es) || len(es) != len(tt.want) {
				t.Fatalf("error %v (%T), want %d errors", err, err, len(tt.want))
			}
			if got := err.Error(); got != strings.Join(tt.want, "\n") {
				t.Fatalf("errors:\n%s\nwant:\n%s", got, strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestLocate: a validation message's leading key path places it; without one it keeps the file.
func TestLocate(t *testing.T) {
	pos, err := ParsePositions([]byte("plaques:\n  - id: p\n    party:\n      name: x\n    lat: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	in := errors.Join(
		errors.New("plaques[0] (p).party.department: required"),
		errors.New("plaques[0].lat/lon: (1, 0) is not a point"),
		errors.New("something without a path: bad"),
	)
	var got []string
	for _, e := range Locate("p.yaml", pos, in) {
		got = append(got, e.Error())
	}
	want := []string{
		"p.yaml:3:5: plaques[0] (p).party.department: required",
		"p.yaml:5:5: plaques[0].lat/lon: (1, 0) is not a point",
		"p.yaml: something without a path: bad",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzCheck: Check never panics, and every error it returns is one line naming the file.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("departments:\n  - id: road\n  - id: road\nroutes:\n  - department: raod\nlimits:\n  sign: 1 hour\n"))
	f.Add([]byte("prty:\n  name: p\nescalashun: 1\n"))
	f.Add([]byte("departments: !00000 00\n"))
	f.Add([]byte("a: &x {id: 1}\nb: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c checkFile
		err := Check("fuzz.yaml", data, &c, c.validate)
		if err == nil {
			return
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "fuzz.yaml") {
				t.Fatalf("error line does not name the file: %q", line)
			}
		}
	})
}
