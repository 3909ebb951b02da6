package notify

import (
	"time"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// Config is the delivery part of the `dispatch.notify` section of lanewatch.yaml (the
// channels' own sections belong to their packages, which import this one).
type Config struct {
	Interval    yamlx.Duration `yaml:"interval"`     // outbox poll; default 2s
	Backoff     yamlx.Duration `yaml:"backoff"`      // first retry; default 10s, doubling
	MaxBackoff  yamlx.Duration `yaml:"max_backoff"`  // default 30m
	MaxAttempts int            `yaml:"max_attempts"` // default 12
	// Lease reserves a claimed notification for one delivery attempt; a node that dies holding
	// it releases it when the lease ends (default 2m).
	Lease yamlx.Duration `yaml:"lease"`
}

// Validate checks the section. Every value is accepted: zero or less means the default.
func (c *Config) Validate() error { return nil }

// Options returns the dispatcher options the section sets; the caller adds the outbox, the
// notifiers and the registerer.
func (c *Config) Options() Options {
	return Options{Interval: time.Duration(c.Interval), Backoff: time.Duration(c.Backoff), MaxBackoff: time.Duration(c.MaxBackoff),
		MaxAttempts: c.MaxAttempts, Lease: time.Duration(c.Lease)}
}
