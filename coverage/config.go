package coverage

import (
	"errors"
	"fmt"
	"time"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// WorkRule is the working-state rule of one vehicle type: the flag that must be on and the
// speed band (km/h, inclusive) the vehicle must be inside.
type WorkRule struct {
	Flag   string  `yaml:"flag"` // brush_on | water_on
	MinKmh float64 `yaml:"min_kmh"`
	MaxKmh float64 `yaml:"max_kmh"`
}

// WorkRules holds the rule per vehicle type.
type WorkRules struct {
	Sweeper   WorkRule `yaml:"sweeper"`
	Washer    WorkRule `yaml:"washer"`
	Sprinkler WorkRule `yaml:"sprinkler"`
}

// Config is the `coverage:` section of the lanewatch config. Zero values take the defaults of
// DOMAIN.md section 6.
type Config struct {
	// RoadsFile, DistrictsFile and ZonesFile are the network's GeoJSON files; an empty RoadsFile
	// disables coverage.
	RoadsFile     string `yaml:"roads_file"`
	DistrictsFile string `yaml:"districts_file"`
	ZonesFile     string `yaml:"zones_file"`
	// Working is the working-state rule per vehicle type.
	Working WorkRules `yaml:"working"`
	// MatchRadiusM is the largest distance from a point to its segment; default 20.
	MatchRadiusM float64 `yaml:"match_radius_m"`
	// HeadingToleranceDeg is how far the heading may differ from the segment's direction;
	// default 45.
	HeadingToleranceDeg float64 `yaml:"heading_tolerance_deg"`
	// MinHeadingKmh: below this speed the heading is ignored; default 1.
	MinHeadingKmh float64 `yaml:"min_heading_kmh"`
	// StickinessM favours the vehicle's previous segment by this many metres; default 3.
	StickinessM float64 `yaml:"stickiness_m"`
	// SigmaM is the GPS error the sequence matcher expects (metres, the σ of its distance
	// emission); default 5.
	SigmaM float64 `yaml:"sigma_m"`
	// BetaM scales the transition: a route that is BetaM longer (or shorter) than the straight
	// line between two points is e times less likely; default 5.
	BetaM float64 `yaml:"beta_m"`
	// Lag is how many later points the matcher sees before it decides a point; default 5.
	Lag int `yaml:"lag"`
	// LagTimeout: a vehicle silent this long has its undecided points decided (so coverage
	// stays live when a vehicle stops sending); default 5s. A vehicle that resumes later (but
	// within max_gap) goes on on the same path.
	LagTimeout yamlx.Duration `yaml:"lag_timeout"`
	// RouteBoundM is the longest route between two consecutive points (shortest paths up to
	// it are precomputed); default 2 × max_gap_m.
	RouteBoundM float64 `yaml:"route_bound_m"`
	// MaxGap and MaxGapM: consecutive points further apart in time or space do not mark the
	// stretch between them; defaults 60s and 200.
	MaxGap  yamlx.Duration `yaml:"max_gap"`
	MaxGapM float64        `yaml:"max_gap_m"`
	// PlanThreshold is the coverage a planned main segment must reach by its deadline;
	// default 0.8.
	PlanThreshold float64 `yaml:"plan_threshold"`
	// ReportInterval is how often coverage is written to InfluxDB and the metrics; default 1m.
	ReportInterval yamlx.Duration `yaml:"report_interval"`
	// KeepDays is how many recent days stay in memory; older days are read from the store;
	// default 3.
	KeepDays int `yaml:"keep_days"`
	// HandoffIdle: a working vehicle silent this long (and again after six times as long) has
	// its next point looked up in InfluxDB, in case it went on on another node; default 10s.
	HandoffIdle yamlx.Duration `yaml:"handoff_idle"`
}

// Defaults of Config.
const (
	DefaultMatchRadiusM   = 20
	DefaultHeadingTolDeg  = 45
	DefaultMaxGap         = time.Minute
	DefaultMaxGapM        = 200
	DefaultPlanThreshold  = 0.8
	DefaultReportInterval = time.Minute
	DefaultHandoffIdle    = 10 * time.Second
	DefaultLagTimeout     = 5 * time.Second
	DefaultSigmaM         = 5
	DefaultBetaM          = 5
	DefaultLag            = 5
)

// SetDefaults fills zero fields with their defaults.
func (c *Config) SetDefaults() {
	def := func(r *WorkRule, flag string, lo, hi float64) {
		if r.Flag == "" {
			r.Flag = flag
		}
		if r.MinKmh == 0 && r.MaxKmh == 0 {
			r.MinKmh, r.MaxKmh = lo, hi
		}
	}
	def(&c.Working.Sweeper, "brush_on", 3, 12)
	def(&c.Working.Washer, "water_on", 3, 15)
	def(&c.Working.Sprinkler, "water_on", 5, 20)
	if c.MatchRadiusM == 0 {
		c.MatchRadiusM = DefaultMatchRadiusM
	}
	if c.HeadingToleranceDeg == 0 {
		c.HeadingToleranceDeg = DefaultHeadingTolDeg
	}
	if c.MinHeadingKmh == 0 {
		c.MinHeadingKmh = 1
	}
	if c.StickinessM == 0 {
		c.StickinessM = 3
	}
	if c.MaxGap == 0 {
		c.MaxGap = yamlx.Duration(DefaultMaxGap)
	}
	if c.MaxGapM == 0 {
		c.MaxGapM = DefaultMaxGapM
	}
	if c.SigmaM == 0 {
		c.SigmaM = DefaultSigmaM
	}
	if c.BetaM == 0 {
		c.BetaM = DefaultBetaM
	}
	if c.Lag == 0 {
		c.Lag = DefaultLag
	}
	if c.LagTimeout == 0 {
		c.LagTimeout = yamlx.Duration(DefaultLagTimeout)
	}
	if c.RouteBoundM == 0 {
		c.RouteBoundM = 2 * c.MaxGapM
	}
	if c.PlanThreshold == 0 {
		c.PlanThreshold = DefaultPlanThreshold
	}
	if c.ReportInterval == 0 {
		c.ReportInterval = yamlx.Duration(DefaultReportInterval)
	}
	if c.KeepDays == 0 {
		c.KeepDays = 3
	}
	if c.HandoffIdle == 0 {
		c.HandoffIdle = yamlx.Duration(DefaultHandoffIdle)
	}
}

// Validate checks a defaulted config.
func (c *Config) Validate() error {
	var errs []error
	for name, r := range map[string]WorkRule{"sweeper": c.Working.Sweeper, "washer": c.Working.Washer, "sprinkler": c.Working.Sprinkler} {
		if r.Flag != "brush_on" && r.Flag != "water_on" {
			errs = append(errs, fmt.Errorf("coverage.working.%s.flag %q: want brush_on or water_on", name, r.Flag))
		}
		if r.MinKmh < 0 || r.MaxKmh <= r.MinKmh {
			errs = append(errs, fmt.Errorf("coverage.working.%s: want 0 <= min_kmh < max_kmh, got %v..%v", name, r.MinKmh, r.MaxKmh))
		}
	}
	if c.MatchRadiusM <= 0 || c.MatchRadiusM > 200 {
		errs = append(errs, fmt.Errorf("coverage.match_radius_m %v: want 0 < r <= 200", c.MatchRadiusM))
	}
	if c.HeadingToleranceDeg <= 0 || c.HeadingToleranceDeg > 180 {
		errs = append(errs, fmt.Errorf("coverage.heading_tolerance_deg %v: want 0 < t <= 180", c.HeadingToleranceDeg))
	}
	if c.MaxGap <= 0 || c.MaxGapM <= 0 {
		errs = append(errs, errors.New("coverage.max_gap and max_gap_m must be positive"))
	}
	if c.SigmaM <= 0 || c.SigmaM > 100 {
		errs = append(errs, fmt.Errorf("coverage.sigma_m %v: want 0 < sigma_m <= 100", c.SigmaM))
	}
	if c.BetaM <= 0 || c.BetaM > 1000 {
		errs = append(errs, fmt.Errorf("coverage.beta_m %v: want 0 < beta_m <= 1000", c.BetaM))
	}
	if c.Lag < 1 || c.Lag > 60 {
		errs = append(errs, fmt.Errorf("coverage.lag %d: want 1..60 points", c.Lag))
	}
	if c.LagTimeout <= 0 {
		errs = append(errs, fmt.Errorf("coverage.lag_timeout %v: want a positive duration", c.LagTimeout))
	}
	if c.RouteBoundM < c.MaxGapM || c.RouteBoundM > 20000 {
		errs = append(errs, fmt.Errorf("coverage.route_bound_m %v: want max_gap_m <= route_bound_m <= 20000", c.RouteBoundM))
	}
	if c.PlanThreshold <= 0 || c.PlanThreshold > 1 {
		errs = append(errs, fmt.Errorf("coverage.plan_threshold %v: want 0 < t <= 1", c.PlanThreshold))
	}
	if c.KeepDays < 1 {
		errs = append(errs, fmt.Errorf("coverage.keep_days %d: want >= 1", c.KeepDays))
	}
	if c.HandoffIdle < 0 {
		errs = append(errs, fmt.Errorf("coverage.handoff_idle %v: want a positive duration", c.HandoffIdle))
	}
	return errors.Join(errs...)
}

func (c *Config) rule(deviceType string) (WorkRule, bool) {
	switch deviceType {
	case "sweeper":
		return c.Working.Sweeper, true
	case "washer":
		return c.Working.Washer, true
	case "sprinkler":
		return c.Working.Sprinkler, true
	}
	return WorkRule{}, false
}
