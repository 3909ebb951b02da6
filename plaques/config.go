package plaques

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// Config is the format of configs/plaques.yaml.
type Config struct {
	// Categories a plaque report may choose (the 门前三包 set); default 9101, 0101, 0102, 0504, 0507.
	Categories []string `yaml:"categories"`
	// DefaultCategory when a report names none; default 9101.
	DefaultCategory string    `yaml:"default_category"`
	RateLimit       RateLimit `yaml:"rate_limit"`
	Plaques         []Plaque  `yaml:"plaques"`
}

// RateLimit bounds public reports per client address and per plaque.
type RateLimit struct {
	PerAddress Limit `yaml:"per_address"` // default 5 per 10m
	PerPlaque  Limit `yaml:"per_plaque"`  // default 20 per 1h
}

// Limit is N events per Per (a token bucket per key: N at once, then one every Per/N).
type Limit struct {
	N   int            `yaml:"n"`
	Per yamlx.Duration `yaml:"per"`
}

// Plaque is one responsibility plaque.
type Plaque struct {
	ID       string  `yaml:"id" json:"id"`
	Address  string  `yaml:"address" json:"address"`
	District string  `yaml:"district" json:"district"`
	Lat      float64 `yaml:"lat" json:"lat"`
	Lon      float64 `yaml:"lon" json:"lon"`
	Party    Party   `yaml:"party" json:"party"`
}

// Party is the responsible shop or unit.
type Party struct {
	Name string `yaml:"name" json:"name"`
	// Contact is a phone number; only its masked form is ever shown publicly.
	Contact string `yaml:"contact" json:"contact"`
	// Department is the id cases are routed to (the party's department or its grid office).
	Department string   `yaml:"department" json:"department"`
	Duties     []string `yaml:"duties" json:"duties"`
}

var (
	idPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	catPattern = regexp.MustCompile(`^[0-9]{4}$`)
)

// LoadConfig reads and validates configs/plaques.yaml; known reports whether a category code
// exists in the catalog (nil skips that check). Every error is reported, each naming the
// file, line, column and key (yamlx.Check).
func LoadConfig(path string, known func(string) bool) (*Config, error) {
	var c Config
	if err := yamlx.ReadCheck(path, &c, func() error { return c.Validate(known) }); err != nil {
		return nil, err
	}
	return &c, nil
}

// ParseConfig is LoadConfig on bytes already read (file names them in errors).
func ParseConfig(file string, data []byte, known func(string) bool) (*Config, error) {
	var c Config
	if err := yamlx.Check(file, data, &c, func() error { return c.Validate(known) }); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate fills defaults and checks every entry, collecting all errors.
func (c *Config) Validate(known func(string) bool) error {
	if len(c.Categories) == 0 {
		c.Categories = []string{"9101", "0101", "0102", "0504", "0507"}
	}
	if c.DefaultCategory == "" {
		c.DefaultCategory = "9101"
	}
	if c.RateLimit.PerAddress.N == 0 {
		c.RateLimit.PerAddress = Limit{N: 5, Per: yamlx.Duration(10 * time.Minute)}
	}
	if c.RateLimit.PerPlaque.N == 0 {
		c.RateLimit.PerPlaque = Limit{N: 20, Per: yamlx.Duration(time.Hour)}
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for i, cat := range c.Categories {
		if !catPattern.MatchString(cat) || (known != nil && !known(cat)) {
			bad("categories[%d]: %q is not a category code in the catalog", i, cat)
		}
	}
	if !slices.Contains(c.Categories, c.DefaultCategory) {
		bad("default_category: %q is not in categories", c.DefaultCategory)
	}
	for name, l := range map[string]Limit{"per_address": c.RateLimit.PerAddress, "per_plaque": c.RateLimit.PerPlaque} {
		if l.N < 1 || l.Per <= 0 {
			bad("rate_limit.%s: want n >= 1 and per > 0", name)
		}
	}
	seen := map[string]bool{}
	for i, p := range c.Plaques {
		where := fmt.Sprintf("plaques[%d]", i)
		if seen[p.ID] {
			bad("%s.id: %q listed twice", where, p.ID)
		}
		seen[p.ID] = true
		for _, err := range p.check() {
			if p.ID != "" && idPattern.MatchString(p.ID) {
				errs = append(errs, fmt.Errorf("%s (%s).%w", where, p.ID, err))
			} else {
				errs = append(errs, fmt.Errorf("%s.%w", where, err))
			}
		}
	}
	return errors.Join(errs...)
}

// CheckDepartments checks that every plaque's party.department is one of departments (the
// routing file's); errors start with the key path (yamlx.Locate places them).
func (c *Config) CheckDepartments(departments []string) error {
	var errs []error
	for i, p := range c.Plaques {
		if d := p.Party.Department; d != "" && !slices.Contains(departments, d) { // "" : Validate reports it
			errs = append(errs, fmt.Errorf("plaques[%d].party.department: %q is not a department of the routing file%s",
				i, d, yamlx.DidYouMean(d, departments)))
		}
	}
	return errors.Join(errs...)
}

// check returns one error per bad field of p, each starting with the field's path
// (id, address, district, lat/lon, party.name, party.department, party.contact, party.duties).
func (p *Plaque) check() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !idPattern.MatchString(p.ID) {
		bad("id: %q is not a plaque id (1-128 letters, digits, . _ -)", p.ID)
	}
	if strings.TrimSpace(p.Address) == "" {
		bad("address: required")
	} else if utf8.RuneCountInString(p.Address) > 256 {
		bad("address: at most 256 characters")
	}
	if strings.TrimSpace(p.District) == "" {
		bad("district: required")
	} else if len(p.District) > 64 {
		bad("district: at most 64 bytes")
	}
	if p.Lat < -90 || p.Lat > 90 || p.Lon < -180 || p.Lon > 180 {
		bad("lat/lon: (%g, %g) is not a WGS-84 point", p.Lat, p.Lon)
	}
	if strings.TrimSpace(p.Party.Name) == "" {
		bad("party.name: required")
	} else if utf8.RuneCountInString(p.Party.Name) > 128 {
		bad("party.name: at most 128 characters")
	}
	if strings.TrimSpace(p.Party.Department) == "" {
		bad("party.department: required")
	} else if len(p.Party.Department) > 64 {
		bad("party.department: at most 64 bytes")
	}
	if len(p.Party.Contact) > 32 {
		bad("party.contact: at most 32 bytes")
	}
	if len(p.Party.Duties) > 32 {
		bad("party.duties: at most 32 entries")
	}
	for i, d := range p.Party.Duties {
		if strings.TrimSpace(d) == "" || utf8.RuneCountInString(d) > 256 {
			bad("party.duties[%d]: 1 to 256 characters", i)
		}
	}
	return errs
}
