package app

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch/camera"
	"github.com/lanewatch/lanewatch/coverage"
	"github.com/lanewatch/lanewatch/devices"
	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/internal/yamlx"
	"github.com/lanewatch/lanewatch/plaques"
	"github.com/lanewatch/lanewatch/rules"
)

// files are the files a config names, read and validated before New opens anything.
type files struct {
	catalog   *dispatch.Catalog
	routing   *dispatch.RoutingFile
	seed      *devices.SeedFile   // nil without devices_file
	cameras   *camera.Config      // empty without cameras_file
	plaques   *plaques.Config     // nil without plaques_file
	network   *coverage.Network   // nil without coverage.roads_file
	districts *dispatch.Districts // nil without dispatch.districts_file or when it is missing
	// districtsMissing: dispatch.districts_file names a file that does not exist (logged;
	// cases keep the district they are given).
	districtsMissing bool
}

// CheckConfig loads the config file at path like LoadConfig and then every file it names
// (categories, routing with its calendar, devices, cameras, plaques, road network, districts,
// zones, rules) as New does, without opening or starting anything. It returns every error of
// every file, one per line, each naming the file and, for YAML, the line, column and key.
func CheckConfig(path string, env []string) error {
	data, err := yamlx.Read(path)
	if err != nil {
		return err
	}
	cfg, cerr := parseConfig(path, data, env)
	loc, lerr := time.LoadLocation(cfg.TimeZone)
	if lerr != nil {
		loc = time.UTC // reported by parseConfig as time_zone
	}
	_, ferr := loadFiles(cfg, loc)
	return errors.Join(cerr, ferr)
}

// loadFiles reads and validates every file cfg names. A file's errors do not stop the others:
// the result joins the errors of all files (yamlx.Errors, one per line). What a file names in
// another (route categories and districts, plaque departments) is checked in the validation
// pass of the file that names it, so that an error it follows from is not reported twice.
func loadFiles(cfg *Config, loc *time.Location) (*files, error) {
	f := &files{routing: &dispatch.RoutingFile{}, cameras: &camera.Config{}}
	var errs []error
	var err error
	if f.catalog, err = dispatch.LoadCatalog(cfg.Resolve(cfg.CategoriesFile)); err != nil {
		errs = append(errs, err)
	}
	var known func(string) bool
	if f.catalog != nil {
		known = f.catalog.Has
	}

	// Area files (districts, zones) are parsed on their own, once each, so that an error names
	// its file (coverage's would name the road network) and is reported once.
	type areaFile struct {
		d   *dispatch.Districts
		err error
	}
	areas := map[string]areaFile{}
	area := func(p string, missingOK bool) areaFile {
		if a, done := areas[p]; done {
			return a
		}
		d, err := dispatch.LoadDistricts(p)
		areas[p] = areaFile{d, err}
		if err != nil && !(missingOK && errors.Is(err, fs.ErrNotExist)) {
			errs = append(errs, err)
		}
		return areas[p]
	}
	if c := cfg.Coverage; c.RoadsFile != "" {
		ok := true
		for _, p := range []string{c.DistrictsFile, c.ZonesFile} {
			if p != "" && area(cfg.Resolve(p), false).err != nil {
				ok = false
			}
		}
		if ok {
			if f.network, err = coverage.LoadFiles(coverage.Files{Roads: cfg.Resolve(c.RoadsFile), Districts: resolveOptional(cfg, c.DistrictsFile),
				Zones: resolveOptional(cfg, c.ZonesFile)}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if p := resolveOptional(cfg, cfg.Dispatch.DistrictsFile); p != "" {
		switch a := area(p, true); {
		case f.network != nil && p == resolveOptional(cfg, cfg.Coverage.DistrictsFile):
			f.districts = dispatch.DistrictsOf(f.network.DistrictAreas()) // one parse, shared
		case a.err == nil:
			f.districts = a.d
		default:
			f.districtsMissing = errors.Is(a.err, fs.ErrNotExist)
		}
	}

	routingOK := true
	if rf := cfg.Dispatch.RoutingFile; rf != "" {
		var ids []string // nil: districts not checked
		if f.districts != nil {
			ids = f.districts.IDs()
		}
		r := &dispatch.RoutingFile{} // f.catalog nil: categories not checked
		if err := yamlx.ReadCheck(cfg.Resolve(rf), r, func() error { return errors.Join(r.Validate(), r.CheckRefs(f.catalog, ids)) }); err != nil {
			errs, routingOK = append(errs, err), false
		} else {
			f.routing = r
		}
	}
	deps, depsOK := departments(cfg, f.routing, routingOK)
	if p := cfg.PlaquesFile; p != "" {
		c := &plaques.Config{}
		if err := yamlx.ReadCheck(cfg.Resolve(p), c, func() error {
			if !depsOK {
				return c.Validate(known)
			}
			return errors.Join(c.Validate(known), c.CheckDepartments(deps))
		}); err != nil {
			errs = append(errs, err)
		} else {
			f.plaques = c
		}
	}
	if cfg.DevicesFile != "" {
		if f.seed, err = devices.LoadSeed(cfg.Resolve(cfg.DevicesFile)); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.CamerasFile != "" {
		if f.cameras, err = camera.LoadConfig(cfg.Resolve(cfg.CamerasFile)); err != nil {
			errs, f.cameras = append(errs, err), &camera.Config{}
		}
	}
	if cfg.RulesDir != "" {
		o := rules.LoadOptions{Category: known, Location: loc}
		if routingOK {
			// The rules' `active: {days: [workdays]}` use routing's calendar (checked there).
			if cal, err := dispatch.NewCalendar(f.routing.Calendar); err == nil {
				o.Calendar = cal
			}
		}
		if _, err := rules.LoadPaths([]string{cfg.Resolve(cfg.RulesDir)}, o); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// departments returns the department ids of the routing file, for the checks of other files
// against it. When the routing file has errors elsewhere its departments are still used (what
// decoded of it); when they are in its departments, ok is false (no check, no cascade).
func departments(cfg *Config, routing *dispatch.RoutingFile, routingOK bool) (ids []string, ok bool) {
	if cfg.Dispatch.RoutingFile == "" {
		return nil, false
	}
	if !routingOK {
		path := cfg.Resolve(cfg.Dispatch.RoutingFile)
		data, err := yamlx.Read(path)
		if err != nil {
			return nil, false
		}
		routing = &dispatch.RoutingFile{}
		for _, e := range yamlx.DecodeAll(path, data, routing) {
			if e.Path == "" || e.Path == "departments" || strings.HasPrefix(e.Path, "departments[") {
				return nil, false
			}
		}
		for i, d := range routing.Departments {
			if d.ID == "" || slices.ContainsFunc(routing.Departments[:i], func(p dispatch.Department) bool { return p.ID == d.ID }) {
				return nil, false
			}
		}
	}
	for _, d := range routing.Departments {
		ids = append(ids, d.ID)
	}
	return ids, len(ids) > 0
}
