package dispatch

import (
	"os"
	"strings"
	"testing"
)

// FuzzParseRouting feeds arbitrary YAML to the routing loader: a valid, defaulted routing file
// or a non-empty error naming the file, never a panic or a hang.
func FuzzParseRouting(f *testing.F) {
	shipped, err := os.ReadFile("../configs/routing.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shipped)
	f.Add([]byte("departments: [{id: a}, {id: a}]\n"))
	f.Add([]byte("departments: [{id: a, supervisor: z}]\nroutes: [{category: '01', department: a}]\n"))
	f.Add([]byte("auto: [{sources: [citizen]}]\n"))
	f.Add([]byte("limits: {dispatch: -1h, reminder_at: 1.5}\n"))
	f.Add([]byte("calendar: {hours: [x]}\n"))
	f.Add([]byte("routes: [{category: 12345, department: '@contractor'}]\n"))
	f.Add([]byte("departments: [{id: a}]\ncontractors: [{id: a}, {id: '@contractor'}, {id: c, supervisor: q}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRouting("fuzz.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if r.DuplicateRadiusM == 0 || r.Limits.TickInterval <= 0 || r.Limits.Verify == 0 {
			t.Fatalf("defaults not applied: %+v", r.Limits)
		}
		if _, err := NewCalendar(r.Calendar); err != nil {
			t.Fatalf("accepted calendar does not build: %v", err)
		}
		rt := NewRouter(r)
		for _, c := range r.Contractors {
			if d, ok := rt.Department(c.ID); !ok || d.ID != c.ID || c.ID == "" {
				t.Fatalf("accepted contractor %q is not a party", c.ID)
			}
			if c.Supervisor != "" {
				if _, ok := rt.Department(c.Supervisor); !ok {
					t.Fatalf("contractor %q escalates to unknown %q", c.ID, c.Supervisor)
				}
			}
		}
	})
}

// FuzzParseCatalog feeds arbitrary YAML to the category loader.
func FuzzParseCatalog(f *testing.F) {
	shipped, err := os.ReadFile("../configs/categories.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shipped)
	f.Add([]byte("categories: [{code: '0101', name_zh: a, name_en: b, handle_limit: 4h}, {code: '0101', name_zh: a, name_en: b, handle_limit: 4h}]\n"))
	f.Add([]byte("categories: [{code: 101, name_zh: a, name_en: b, handle_limit: soon}]\n"))
	f.Add([]byte("categories: {code: x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCatalog("fuzz.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, cat := range c.All() {
			if got, ok := c.Get(cat.Code); !ok || got.Code != cat.Code || len(cat.Code) != 4 {
				t.Fatalf("accepted category %+v not found by code", cat)
			}
		}
	})
}

func TestParseRoutingAndCatalogMatchLoaders(t *testing.T) {
	data, err := os.ReadFile("../configs/routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseRouting("routing.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadRouting("../configs/routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Departments) != len(b.Departments) || len(a.Routes) != len(b.Routes) || a.Weights != b.Weights {
		t.Fatalf("ParseRouting and LoadRouting differ")
	}
	if _, err := ParseRouting("r.yaml", []byte("routes: [{department: z}]\n")); err == nil || !strings.Contains(err.Error(), `r.yaml:1:11: routes[0].department: "z" is not a department`) {
		t.Fatalf("error = %v", err)
	}
	cats, err := os.ReadFile("../configs/categories.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCatalog("categories.yaml", cats)
	if err != nil {
		t.Fatal(err)
	}
	d, err := LoadCatalog("../configs/categories.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.All()) == 0 || len(c.All()) != len(d.All()) {
		t.Fatalf("ParseCatalog %d categories, LoadCatalog %d", len(c.All()), len(d.All()))
	}
	if _, err := ParseCatalog("c.yaml", []byte("categories: [{code: '01'}]\n")); err == nil || !strings.Contains(err.Error(), `c.yaml:1:15: categories[0].code: "01" is not 4 digits`) {
		t.Fatalf("error = %v", err)
	}
}
