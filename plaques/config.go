package plaques

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

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

// Limit is N events per window.
type Limit struct {
	N   int            `yaml:"n"`
	Per yamlx.Duration `yaml:"per"`
}

// Plaque is one responsibility plaque.
type Plaque struct {
	ID       string  `yaml:"id"`
	Address  string  `yaml:"address"`
	District string  `yaml:"district"`
	Lat      float64 `yaml:"lat"`
	Lon      float64 `yaml:"lon"`
	Party    Party   `yaml:"party"`
}

// Party is the responsible shop or unit.
type Party struct {
	Name string `yaml:"name"`
	// Contact is a phone number; only its masked form is ever shown publicly.
	Contact string `yaml:"contact"`
	// Department is the id cases are routed to (the party's department or its grid office).
	Department string   `yaml:"department"`
	Duties     []string `yaml:"duties"`
}

var (
	idPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	catPattern = regexp.MustCompile(`^[0-9]{4}$`)
)

// LoadConfig reads and validates configs/plaques.yaml; known reports whether a category code
// exists in the catalog (nil skips that check).
func LoadConfig(path string, known func(string) bool) (*Config, error) {
	var c Config
	if err := yamlx.ReadFile(path, &c); err != nil {
		return nil, err
	}
	if err := c.Validate(known); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
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
		switch {
		case !idPattern.MatchString(p.ID):
			bad("%s.id: %q is not a plaque id (letters, digits, . _ -)", where, p.ID)
		case seen[p.ID]:
			bad("%s.id: %q listed twice", where, p.ID)
		}
		seen[p.ID] = true
		if p.Address == "" {
			bad("%s (%s).address: required", where, p.ID)
		}
		if p.District == "" {
			bad("%s (%s).district: required", where, p.ID)
		}
		if p.Lat < -90 || p.Lat > 90 || p.Lon < -180 || p.Lon > 180 {
			bad("%s (%s): (%g, %g) is not a WGS-84 point", where, p.ID, p.Lat, p.Lon)
		}
		if p.Party.Name == "" || p.Party.Department == "" {
			bad("%s (%s).party: name and department are required", where, p.ID)
		}
	}
	return errors.Join(errs...)
}
