package app

import (
	"fmt"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// ParseConfig is LoadConfig on bytes already read: data is decoded strictly (file names it in
// errors and is the base of relative paths), then LANEWATCH_* overrides from env and defaults
// are applied and the result is validated.
func ParseConfig(file string, data []byte, env []string) (*Config, error) {
	c := &Config{path: file}
	if err := yamlx.Decode(file, data, c); err != nil {
		return nil, err
	}
	return c.complete(env)
}

// complete applies environment overrides and defaults to a decoded config and validates it.
func (c *Config) complete(env []string) (*Config, error) {
	if err := applyEnv(c, env); err != nil {
		return nil, err
	}
	c.defaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", c.path, err)
	}
	return c, nil
}
