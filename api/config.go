package api

import (
	"fmt"
	"strings"

	"github.com/lanewatch/lanewatch/internal/fetch"
	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// HTTPConfig is the `http` section of lanewatch.yaml: the API and console listener.
type HTTPConfig struct {
	Addr   string        `yaml:"addr"` // default 127.0.0.1:8080
	Tokens []TokenConfig `yaml:"tokens"`
	// MaxBodyBytes bounds JSON request bodies; default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// TLSCert and TLSKey (PEM files) switch the HTTP listener to HTTPS.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
}

// TokenConfig is one API bearer token. Give the token itself or the name of an environment
// variable holding it.
type TokenConfig struct {
	Name     string `yaml:"name"`
	Token    string `yaml:"token"`
	TokenEnv string `yaml:"token_env"`
	// Role: admin | operator | department:ID | contractor:ID | viewer | inspector | reviewer
	Role string `yaml:"role"`
	// Optional leaves the token out, instead of failing start-up, when its token_env is empty
	// (the example config's demo desks, which `make run` sets).
	Optional bool `yaml:"optional"`
}

// Defaults fills the listen address and the body limit left empty.
func (c *HTTPConfig) Defaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
}

// Validate checks the section; errors name the key within it.
func (c *HTTPConfig) Validate() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("tls_cert and tls_key go together")
	}
	for i, t := range c.Tokens {
		if t.Token == "" && t.TokenEnv == "" {
			return fmt.Errorf("tokens[%d] (%s): token or token_env required", i, t.Name)
		}
		if !ValidRole(t.Role) {
			return fmt.Errorf("tokens[%d] (%s): role %q is not one of admin, operator, department:ID, contractor:ID, viewer, inspector, reviewer", i, t.Name, t.Role)
		}
	}
	return nil
}

// ValidRole reports whether r is a role a token may have.
func ValidRole(r string) bool {
	switch {
	case r == "admin", r == "operator", r == "viewer", r == "inspector", r == "reviewer":
		return true
	case strings.HasPrefix(r, "department:") && len(r) > len("department:"):
		return true
	case strings.HasPrefix(r, "contractor:") && len(r) > len("contractor:"):
		return true
	}
	return false
}

// ResolveTokens returns the configured tokens, reading those given by token_env through
// getenv; an empty variable is an error naming it, except for an optional token, which is
// left out.
func (c *HTTPConfig) ResolveTokens(getenv func(string) string) ([]Token, error) {
	out := make([]Token, 0, len(c.Tokens))
	for i, t := range c.Tokens {
		tok := t.Token
		if t.TokenEnv != "" {
			if tok = getenv(t.TokenEnv); tok == "" {
				if t.Optional {
					continue
				}
				return nil, fmt.Errorf("tokens[%d] (%s): environment variable %s is empty", i, t.Name, t.TokenEnv)
			}
		}
		out = append(out, Token{Name: t.Name, Token: tok, Role: t.Role})
	}
	return out, nil
}

// Open311Config is the `dispatch.open311` section of lanewatch.yaml: /open311/v2.
type Open311Config struct {
	// APIKeys accepted on POST requests; LANEWATCH_OPEN311_API_KEY adds one.
	APIKeys []string `yaml:"api_keys"`
	// Disabled leaves /open311 out.
	Disabled bool `yaml:"disabled"`
	// MediaHosts: the photo a request names in media_url is fetched and attached as the case's
	// "before" photo when its host is listed ("example.com", or "*.example.com" for its
	// subdomains); otherwise, and always, the link is kept in the description.
	MediaHosts []string `yaml:"media_hosts"`
	// MediaTimeout bounds one fetch; default 10s.
	MediaTimeout yamlx.Duration `yaml:"media_timeout"`
}

// Validate checks the section; errors name the key within it.
func (c *Open311Config) Validate() error {
	for i, h := range c.MediaHosts {
		if fetch.ValidatePattern(h) != nil {
			return fmt.Errorf("media_hosts[%d]: %q is not a host name (\"example.com\" or \"*.example.com\")", i, h)
		}
	}
	if c.MediaTimeout < 0 {
		return fmt.Errorf("media_timeout: must not be negative")
	}
	return nil
}
