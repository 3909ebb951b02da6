package app

import (
	"errors"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// ParseConfig is LoadConfig on bytes already read: data is decoded strictly (file names it in
// errors and is the base of relative paths), then LANEWATCH_* overrides from env and defaults
// are applied and the result is validated. Every error is reported, one per line, each
// naming the file, line, column and key.
func ParseConfig(file string, data []byte, env []string) (*Config, error) {
	c, err := parseConfig(file, data, env)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parseConfig decodes, completes and validates a config, collecting every error of the file
// (yamlx.Check) and of the environment overrides. It returns the config even with errors, with
// what decoded, the overrides and the defaults applied, so that CheckConfig can go on to the
// files it names.
func parseConfig(file string, data []byte, env []string) (*Config, error) {
	c := &Config{path: file}
	var envErr error
	completed := false
	complete := func() {
		envErr = applyEnv(c, env)
		c.defaults()
		completed = true
	}
	err := yamlx.Check(file, data, c, func() error {
		complete()
		return c.Validate()
	})
	if !completed {
		complete()
	}
	return c, errors.Join(err, envErr)
}
