package dispatch

import (
	"strings"
	"testing"
)

// TestParseRoutingAllErrors: every mistake of a routing file is reported in one run, each at
// its line and column and naming its key, decode and validation errors together.
func TestParseRoutingAllErrors(t *testing.T) {
	src := `departments:
  - {id: road, name: Roads}
  - {id: road, name: Again}
  - {id: parks, supervisor: raod}
routes:
  - {category: "0101", department: prks}
  - {category: x1, department: road}
default_department: nobody
auto:
  - {sources: [citizen], min_confidence: 2}
limits:
  sign: 1 hour
  reminder_at: 1.5
calendar:
  weekdays: [mon, tues]
escalashun: true
`
	_, err := ParseRouting("r.yaml", []byte(src))
	want := []string{
		`r.yaml:3:6: departments[1].id: "road" defined twice`,
		`r.yaml:4:17: departments[2].supervisor: "raod" is not a department (did you mean "road"?)`,
		`r.yaml:6:24: routes[0].department: "prks" is not a department (did you mean "parks"?)`,
		`r.yaml:7:6: routes[1].category: "x1" is not a code or code prefix`,
		`r.yaml:8:1: default_department: "nobody" is not a department`,
		`r.yaml:10:16: auto[0].sources[0]: "citizen": only rule and camera cases may skip the operator`,
		`r.yaml:10:26: auto[0].min_confidence: 2 is not in 0..1`,
		`r.yaml:12:9: sign: invalid duration "1 hour" (use e.g. 90s, 2m, 1h30m, 3d)`,
		`r.yaml:13:3: limits.reminder_at: 1.5 is not in 0..1 (exclusive of 1)`,
		`r.yaml:15:19: calendar.weekdays[1]: "tues" is not one of mon, tue, wed, thu, fri, sat, sun`,
		`r.yaml:16:1: unknown field "escalashun"`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

// TestCheckRefs: route categories must begin a catalog code, route districts must be districts.
func TestCheckRefs(t *testing.T) {
	cat, err := ParseCatalog("c.yaml", []byte("categories:\n  - {code: '0101', name_zh: a, name_en: b, handle_limit: 4h}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := &RoutingFile{Routes: []Route{{Category: "01", District: "xiqu"}, {Category: "77", District: "xiqv"}, {Category: "x"}}}
	err = r.CheckRefs(cat, []string{"xiqu", "dongqu"})
	want := `routes[1].category: no category code starts with "77"` + "\n" +
		`routes[1].district: "xiqv" is not a district (did you mean "xiqu"?)`
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
	if err := r.CheckRefs(nil, nil); err != nil {
		t.Errorf("nothing to check against: %v", err)
	}
}
