package dispatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/geo"
	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// RoutingFile is the format of configs/routing.yaml: departments, routes, auto-accept,
// duplicate radius, time limits, the working calendar and assessment weights.
type RoutingFile struct {
	Departments []Department `yaml:"departments"`
	// Contractors are the sanitation contractors (作业公司) that "@contractor" routes send
	// vehicle cases to: parties like departments, with contacts and a supervisor department.
	Contractors []Department `yaml:"contractors"`
	Routes      []Route      `yaml:"routes"`
	// DefaultDepartment receives cases no route matches (may be empty: the operator chooses).
	DefaultDepartment string     `yaml:"default_department"`
	Auto              []AutoRule `yaml:"auto"`
	// DuplicateRadiusM links citizen/plaque/camera cases of one category within this distance
	// of an open case; default 50, 0 keeps the default, negative disables.
	DuplicateRadiusM float64        `yaml:"duplicate_radius_m"`
	Limits           LimitsConfig   `yaml:"limits"`
	Calendar         CalendarConfig `yaml:"calendar"`
	Weights          Weights        `yaml:"assessment_weights"`
}

// Department is a handling unit with its contacts and supervisor.
type Department struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
	// Supervisor is the department id that overdue cases escalate to.
	Supervisor string   `yaml:"supervisor" json:"supervisor"`
	Contacts   Contacts `yaml:"contacts" json:"-"`
}

// Contacts are a department's addresses per notification channel.
type Contacts struct {
	SMS     []string `yaml:"sms"`
	WeChat  []string `yaml:"wechat"`
	Webhook string   `yaml:"webhook"`
}

// Route maps (category or prefix, district, road class) to a department. Empty fields match
// anything; the most specific matching route wins (longest category prefix, then district,
// then road class), the first in file order on a tie. Department "@contractor" routes to the
// case's contractor when it has one.
type Route struct {
	Category   string `yaml:"category"`
	District   string `yaml:"district"`
	RoadClass  string `yaml:"road_class"`
	Department string `yaml:"department"`
}

// AutoRule lets cases of matching categories skip the operator (DOMAIN.md section 1).
type AutoRule struct {
	Category      string   `yaml:"category"` // code or prefix; "" matches all
	Sources       []string `yaml:"sources"`  // rule, camera
	MinConfidence float64  `yaml:"min_confidence"`
	// Dispatch also dispatches to the routed department (else only accepts).
	Dispatch bool `yaml:"dispatch"`
}

// LimitsConfig are the time limits of DOMAIN.md section 2 (Go durations).
type LimitsConfig struct {
	Dispatch     yamlx.Duration `yaml:"dispatch"`      // working; default 1h
	Sign         yamlx.Duration `yaml:"sign"`          // working; default 1h
	UrgentSign   yamlx.Duration `yaml:"urgent_sign"`   // natural; default 30m
	ReminderAt   float64        `yaml:"reminder_at"`   // share of the limit used; default 0.8
	TickInterval yamlx.Duration `yaml:"tick_interval"` // deadline checks; default 30s
	// Verify is the working time after handle_by within which a case should be closed
	// (核查结案), for the assessment's 按期结案率; default one working day of the calendar.
	Verify yamlx.Duration `yaml:"verify"`
}

// Weights of the composite index (DOMAIN.md section 5); they should add up to 100.
type Weights struct {
	SignOnTime   float64 `yaml:"sign_on_time" json:"sign_on_time"`
	HandleOnTime float64 `yaml:"handle_on_time" json:"handle_on_time"`
	NoRework     float64 `yaml:"no_rework" json:"no_rework"`
	Satisfaction float64 `yaml:"satisfaction" json:"satisfaction"`
}

// ContractorDepartment is the route target meaning "the case's contractor".
const ContractorDepartment = "@contractor"

// LoadRouting reads and validates a routing file; every error is reported, each naming the
// file, line, column and key (yamlx.Check).
func LoadRouting(path string) (*RoutingFile, error) {
	var f RoutingFile
	if err := yamlx.ReadCheck(path, &f, f.Validate); err != nil {
		return nil, err
	}
	return &f, nil
}

// Validate fills defaults and checks references, collecting every error (each starting with
// the key path it concerns).
func (f *RoutingFile) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	deps := map[string]bool{}
	var ids []string
	idless := false // a department without id: references to it would all be errors too
	for i, d := range f.Departments {
		switch {
		case d.ID == "":
			bad("departments[%d].id: required", i)
			idless = true
		case deps[d.ID]:
			bad("departments[%d].id: %q defined twice", i, d.ID)
		}
		deps[d.ID] = true
		ids = append(ids, d.ID)
	}
	notDep := func(where, id string) {
		if !idless {
			bad("%s: %q is not a department%s", where, id, yamlx.DidYouMean(id, ids))
		}
	}
	for i, d := range f.Departments {
		if d.Supervisor != "" && !deps[d.Supervisor] {
			notDep(fmt.Sprintf("departments[%d].supervisor", i), d.Supervisor)
		}
	}
	cons := map[string]bool{}
	for i, d := range f.Contractors {
		switch {
		case d.ID == "" || d.ID == ContractorDepartment:
			return fmt.Errorf("contractors[%d]: id is required", i)
		case deps[d.ID]:
			return fmt.Errorf("contractors[%d]: id %q is also a department", i, d.ID)
		case cons[d.ID]:
			return fmt.Errorf("contractors[%d]: id %q defined twice", i, d.ID)
		case d.Supervisor != "" && !deps[d.Supervisor]:
			return fmt.Errorf("contractors[%d] (%s): supervisor %q is not a department", i, d.ID, d.Supervisor)
		}
		cons[d.ID] = true
	}
	for i, r := range f.Routes {
		switch {
		case r.Department == "":
			bad("routes[%d].department: required", i)
		case r.Department != ContractorDepartment && !deps[r.Department]:
			notDep(fmt.Sprintf("routes[%d].department", i), r.Department)
		}
		if strings.Trim(r.Category, "0123456789") != "" || len(r.Category) > 4 {
			bad("routes[%d].category: %q is not a code or code prefix", i, r.Category)
		}
	}
	if f.DefaultDepartment != "" && !deps[f.DefaultDepartment] {
		notDep("default_department", f.DefaultDepartment)
	}
	for i, a := range f.Auto {
		for j, s := range a.Sources {
			if s != lanewatch.SourceRule && s != lanewatch.SourceCamera {
				bad("auto[%d].sources[%d]: %q: only rule and camera cases may skip the operator", i, j, s)
			}
		}
		if a.MinConfidence < 0 || a.MinConfidence > 1 {
			bad("auto[%d].min_confidence: %v is not in 0..1", i, a.MinConfidence)
		}
		if strings.Trim(a.Category, "0123456789") != "" || len(a.Category) > 4 {
			bad("auto[%d].category: %q is not a code or code prefix", i, a.Category)
		}
	}
	if f.DuplicateRadiusM == 0 {
		f.DuplicateRadiusM = 50
	}
	l := &f.Limits
	if l.Dispatch == 0 {
		l.Dispatch = yamlx.Duration(time.Hour)
	}
	if l.Sign == 0 {
		l.Sign = yamlx.Duration(time.Hour)
	}
	if l.UrgentSign == 0 {
		l.UrgentSign = yamlx.Duration(30 * time.Minute)
	}
	if l.ReminderAt == 0 {
		l.ReminderAt = 0.8
	}
	if l.TickInterval == 0 {
		l.TickInterval = yamlx.Duration(30 * time.Second)
	}
	if l.ReminderAt < 0 || l.ReminderAt >= 1 {
		bad("limits.reminder_at: %v is not in 0..1 (exclusive of 1)", l.ReminderAt)
	}
	for _, d := range []struct {
		key string
		v   yamlx.Duration
	}{{"dispatch", l.Dispatch}, {"sign", l.Sign}, {"urgent_sign", l.UrgentSign}, {"tick_interval", l.TickInterval}} {
		if d.v < 0 {
			bad("limits.%s: must be positive", d.key)
		}
	}
	if f.Weights == (Weights{}) {
		f.Weights = Weights{SignOnTime: 25, HandleOnTime: 35, NoRework: 15, Satisfaction: 25}
	}
	if w := f.Weights; w.SignOnTime < 0 || w.HandleOnTime < 0 || w.NoRework < 0 || w.Satisfaction < 0 {
		bad("assessment_weights: weights must not be negative")
	}
	cal, err := NewCalendar(f.Calendar)
	if err != nil {
		errs = append(errs, err)
	} else if l.Verify == 0 {
		l.Verify = yamlx.Duration(cal.DayLength())
	}
	return errors.Join(errs...)
}

// Districts finds the district containing a point: the district polygons of
// configs/districts.geojson, parsed by internal/geo (the one parser of area files).
type Districts struct{ areas *geo.Areas }

// LoadDistricts reads a GeoJSON FeatureCollection of Polygon/MultiPolygon features whose
// property `id` names the district.
func LoadDistricts(path string) (*Districts, error) {
	a, err := geo.Load(path)
	if err != nil {
		return nil, err
	}
	return &Districts{areas: a}, nil
}

// ParseDistricts decodes a districts GeoJSON document (file names it in errors).
func ParseDistricts(file string, data []byte) (*Districts, error) {
	a, err := geo.Parse(file, data)
	if err != nil {
		return nil, err
	}
	return &Districts{areas: a}, nil
}

// DistrictsOf wraps districts already parsed by internal/geo (for instance the coverage
// network's, coverage.Network.DistrictAreas), so one districts file is parsed once.
func DistrictsOf(a *geo.Areas) *Districts { return &Districts{areas: a} }

// Locate returns the id of the district containing loc ("" if none; first in file order on a
// shared border).
func (d *Districts) Locate(loc lanewatch.Location) string {
	if d == nil {
		return ""
	}
	return d.areas.Locate(loc.Lat, loc.Lon)
}

// Name returns the display name of a district in lang ("en" → name_en, else name_zh), falling
// back to the other name; "" for an unknown district.
func (d *Districts) Name(id, lang string) string {
	if d == nil || id == "" {
		return ""
	}
	for _, a := range d.areas.List() {
		if a.ID != id {
			continue
		}
		if lang == "en" && a.NameEN != "" || a.NameZH == "" {
			return a.NameEN
		}
		return a.NameZH
	}
	return ""
}

// FindIn geocodes an address to a district by the place list the districts file gives: the
// first district (in file order) whose name_zh, name_en or id the text contains ("" if none).
func (d *Districts) FindIn(text string) string {
	if d == nil || strings.TrimSpace(text) == "" {
		return ""
	}
	low := strings.ToLower(text)
	for _, a := range d.areas.List() {
		for _, n := range []string{a.NameZH, strings.ToLower(a.NameEN), strings.ToLower(a.ID)} {
			if len(n) >= 2 && strings.Contains(low, n) {
				return a.ID
			}
		}
	}
	return ""
}

// IDs returns the district ids in file order.
func (d *Districts) IDs() []string {
	if d == nil {
		return nil
	}
	return d.areas.IDs()
}

// Router picks the department of a case.
type Router struct {
	f    *RoutingFile
	deps map[string]*Department
	// cons are the configured contractors (also in deps: a contractor is notified, escalated
	// and acted for like a department).
	cons map[string]bool
}

// NewRouter returns a router over a validated routing file.
func NewRouter(f *RoutingFile) *Router {
	r := &Router{f: f, deps: map[string]*Department{}, cons: map[string]bool{}}
	for i := range f.Departments {
		r.deps[f.Departments[i].ID] = &f.Departments[i]
	}
	for i := range f.Contractors {
		r.deps[f.Contractors[i].ID] = &f.Contractors[i]
		r.cons[f.Contractors[i].ID] = true
	}
	return r
}

// Department returns a department or contractor by id.
func (r *Router) Department(id string) (Department, bool) {
	if d := r.deps[id]; d != nil {
		return *d, true
	}
	return Department{}, false
}

// Route returns the department for a case: the most specific matching route; the case's
// contractor for "@contractor" routes (when contractors are configured, only a configured one:
// an unknown contractor could be told nothing); else the default department.
func (r *Router) Route(c *lanewatch.Case, roadClass string) string {
	best, bestScore := "", -1
	for _, rt := range r.f.Routes {
		if !strings.HasPrefix(c.Category, rt.Category) ||
			(rt.District != "" && rt.District != c.District) ||
			(rt.RoadClass != "" && rt.RoadClass != roadClass) {
			continue
		}
		dep := rt.Department
		if dep == ContractorDepartment {
			if c.Contractor == "" || (len(r.cons) > 0 && !r.cons[c.Contractor]) {
				continue
			}
			dep = c.Contractor
		}
		score := len(rt.Category)*4 + b2i(rt.District != "")*2 + b2i(rt.RoadClass != "")
		if score > bestScore {
			best, bestScore = dep, score
		}
	}
	if best == "" {
		best = r.f.DefaultDepartment
	}
	return best
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// auto returns the auto rule for c, if any.
func (r *Router) auto(c *lanewatch.Case) (AutoRule, bool) {
	for _, a := range r.f.Auto {
		if !strings.HasPrefix(c.Category, a.Category) || c.Confidence < a.MinConfidence {
			continue
		}
		for _, s := range a.Sources {
			if s == c.Source {
				return a, true
			}
		}
	}
	return AutoRule{}, false
}

// distanceM is the great-circle distance between two points in metres.
func distanceM(a, b lanewatch.Location) float64 { return geo.Distance(a.Lat, a.Lon, b.Lat, b.Lon) }

// marshalVars encodes notification variables.
func marshalVars(v map[string]string) []byte {
	b, _ := json.Marshal(v)
	return b
}
