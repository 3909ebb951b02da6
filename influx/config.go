package influx

import (
	"time"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// Config is the `influx` section of lanewatch.yaml: the time-series sink.
type Config struct {
	URL           string         `yaml:"url"` // default http://127.0.0.1:8086
	Token         string         `yaml:"token"`
	Org           string         `yaml:"org"`
	Bucket        string         `yaml:"bucket"`       // default lanewatch/autogen
	BatchPoints   int            `yaml:"batch_points"` // points per write request; default 5000
	Writers       int            `yaml:"writers"`      // concurrent write requests; default 2
	FlushInterval yamlx.Duration `yaml:"flush_interval"`
	MaxSpoolBytes int64          `yaml:"max_spool_bytes"`
}

// Defaults fills the URL and bucket left empty.
func (c *Config) Defaults() {
	if c.URL == "" {
		c.URL = "http://127.0.0.1:8086"
	}
	if c.Bucket == "" {
		c.Bucket = "lanewatch/autogen"
	}
}

// Validate checks the section. Every value is accepted: zero or less means the sink's
// default, and the server is checked when the sink starts.
func (c *Config) Validate() error { return nil }

// Options returns the sink options the section sets; the caller adds the spool directory,
// the registerer and the logger.
func (c *Config) Options() Options {
	return Options{URL: c.URL, Token: c.Token, Org: c.Org, Bucket: c.Bucket, BatchPoints: c.BatchPoints,
		Writers: c.Writers, FlushInterval: time.Duration(c.FlushInterval), MaxSpoolBytes: c.MaxSpoolBytes}
}

// NewHistory returns the reader of the points written to the section's bucket.
func (c *Config) NewHistory() *History { return NewHistory(c.URL, c.Token, c.Org, c.Bucket) }
