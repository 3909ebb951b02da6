package cluster

import (
	"fmt"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// Config is the `node` section of lanewatch.yaml: this process's identity in a cluster of
// nodes sharing one PostgreSQL (ARCHITECTURE.md, Multi-node; docs/DEPLOYMENT.md).
type Config struct {
	// ID names the node (LANEWATCH_NODE_ID); default hostname plus a random suffix, new at
	// each start.
	ID string `yaml:"id"`
	// HTTPAddr and MQTTAddr are the addresses advertised in GET /api/v1/cluster; default the
	// listen addresses.
	HTTPAddr string `yaml:"http_addr"`
	MQTTAddr string `yaml:"mqtt_addr"`
	// Heartbeat is the interval of the node's row update; a node not seen for three
	// heartbeats is not listed. Default 5s.
	Heartbeat yamlx.Duration `yaml:"heartbeat"`
	// CoverageRefresh is how often the node merges the other nodes' coverage from the store
	// into memory (PostgreSQL only); default 10s.
	CoverageRefresh yamlx.Duration `yaml:"coverage_refresh"`
}

// Default heartbeat and coverage refresh intervals.
const (
	DefaultHeartbeat       = 5 * time.Second
	DefaultCoverageRefresh = 10 * time.Second
)

// Defaults fills the intervals left zero (or negative) with their defaults.
func (c *Config) Defaults() {
	if c.Heartbeat <= 0 {
		c.Heartbeat = yamlx.Duration(DefaultHeartbeat)
	}
	if c.CoverageRefresh <= 0 {
		c.CoverageRefresh = yamlx.Duration(DefaultCoverageRefresh)
	}
}

// Validate checks the settings that can be checked without I/O. The id travels in
// space-separated notifications, so it must not contain white space.
func (c *Config) Validate() error {
	if strings.ContainsFunc(c.ID, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		return fmt.Errorf("id: %q must not contain white space", c.ID)
	}
	return nil
}
