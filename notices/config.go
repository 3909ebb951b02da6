package notices

import (
	"errors"
	"fmt"
	"slices"
	"text/template"
	"time"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// Config is the notices section of configs/supervision.yaml.
type Config struct {
	// Enabled turns owner notices on; off, incidents open cases through the rules as before.
	Enabled bool `yaml:"enabled"`
	// Limits maps a category code to the time the owner is given; default 0505: 15m,
	// 0104: 72h. Only these categories get notices.
	Limits map[string]yamlx.Duration `yaml:"limits"`
	// OwnerLookup is the owner-lookup HTTP service (notices/owners).
	OwnerLookup OwnerLookupConfig `yaml:"owner_lookup"`
	// SMS is the SMS gateway (dispatch/notify/sms speaks its API).
	SMS SMSConfig `yaml:"sms"`
	// Text is the SMS text, a Go template over .plate, .minutes, .place and .deadline.
	Text string `yaml:"text"`
	// SeenWithin: at the re-check the vehicle is still there when the camera detected its
	// plate (or its incident) this recently; default 3m.
	SeenWithin yamlx.Duration `yaml:"seen_within"`
	// OfflineAfter: the camera counts as offline at the re-check when it is disconnected or
	// has sent nothing (not even a heartbeat) for this long; default 5m.
	OfflineAfter yamlx.Duration `yaml:"offline_after"`
	// Interval between re-check rounds; default 10s.
	Interval yamlx.Duration `yaml:"interval"`
}

// OwnerLookupConfig configures the owner-lookup adapter.
type OwnerLookupConfig struct {
	URL      string         `yaml:"url"`
	TokenEnv string         `yaml:"token_env"`
	Timeout  yamlx.Duration `yaml:"timeout"`
}

// SMSConfig configures the SMS gateway adapter.
type SMSConfig struct {
	URL      string `yaml:"url"`
	TokenEnv string `yaml:"token_env"`
	Template string `yaml:"template"` // the gateway's registered template id, if it wants one
}

// DefaultText is the SMS text when the config gives none.
const DefaultText = "【城管提醒】您的车辆{{.plate}}停放在{{.place}}，属违法停车，请于{{.minutes}}分钟内（{{.deadline}}前）驶离，逾期将依法处理。"

// SetDefaults fills the defaults.
func (c *Config) SetDefaults() {
	if len(c.Limits) == 0 {
		c.Limits = map[string]yamlx.Duration{"0505": yamlx.Duration(15 * time.Minute), "0104": yamlx.Duration(72 * time.Hour)}
	}
	if c.Text == "" {
		c.Text = DefaultText
	}
	if c.SeenWithin == 0 {
		c.SeenWithin = yamlx.Duration(3 * time.Minute)
	}
	if c.OfflineAfter == 0 {
		c.OfflineAfter = yamlx.Duration(5 * time.Minute)
	}
	if c.Interval == 0 {
		c.Interval = yamlx.Duration(10 * time.Second)
	}
	if c.OwnerLookup.Timeout == 0 {
		c.OwnerLookup.Timeout = yamlx.Duration(5 * time.Second)
	}
}

// Validate checks the section; errors name the key.
func (c *Config) Validate() error {
	var errs []error
	if c.Enabled {
		if c.OwnerLookup.URL == "" {
			errs = append(errs, errors.New("notices.owner_lookup.url: required when notices are enabled"))
		}
		if c.SMS.URL == "" {
			errs = append(errs, errors.New("notices.sms.url: required when notices are enabled"))
		}
	}
	codes := make([]string, 0, len(c.Limits))
	for code := range c.Limits {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		if d := time.Duration(c.Limits[code]); d < time.Minute || d > 30*24*time.Hour {
			errs = append(errs, fmt.Errorf("notices.limits.%s: %s is not between 1m and 720h", code, d))
		}
	}
	if _, err := template.New("t").Option("missingkey=error").Parse(c.Text); err != nil {
		errs = append(errs, fmt.Errorf("notices.text: %w", err))
	}
	for _, d := range []struct {
		name string
		v    yamlx.Duration
	}{{"seen_within", c.SeenWithin}, {"offline_after", c.OfflineAfter}, {"interval", c.Interval}, {"owner_lookup.timeout", c.OwnerLookup.Timeout}} {
		if d.v < 0 || time.Duration(d.v) > 24*time.Hour {
			errs = append(errs, fmt.Errorf("notices.%s: %s is not between 0 and 24h", d.name, time.Duration(d.v)))
		}
	}
	return errors.Join(errs...)
}
