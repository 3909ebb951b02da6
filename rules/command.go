package rules

import (
	"encoding/json"
	"regexp"
	"time"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// CommandSpec is the command a firing rule sends to the device of the message (SPEC 3.1: a
// rule may send a command besides or instead of opening a case).
type CommandSpec struct {
	// Name is the command's name, the last level of devices/{id}/commands/{name}.
	Name string `yaml:"name"`
	// Params is the command's parameters (a JSON object on the wire).
	Params map[string]any `yaml:"params"`
	// TTL is how long the command may wait for the device; 0: the command service's default.
	TTL yamlx.Duration `yaml:"ttl"`
}

// FiringCommand is the command of a firing, for the device of the firing.
type FiringCommand struct {
	Name   string          `json:"name"`
	Params json.RawMessage `json:"params"`
	TTL    time.Duration   `json:"ttl"`
}

// Command limits, the command service's own (package commands checks them again).
const maxCommandTTL = 7 * 24 * time.Hour

var commandNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// command validates a rule's command action and returns it compiled; nil without one.
func (v *validator) command(rp string, rs RuleSpec) *FiringCommand {
	c := rs.Command
	if c == nil {
		return nil
	}
	p := rp + ".command"
	if !commandNameRE.MatchString(c.Name) {
		v.fail(p+".name", "rule %q: command name %q: want 1..64 letters, digits, _ . - (it is a topic level)", rs.Name, c.Name)
	}
	ttl := time.Duration(c.TTL)
	if ttl != 0 && (ttl < time.Second || ttl > maxCommandTTL) {
		v.fail(p+".ttl", "rule %q: command ttl %s is outside 1s..%s", rs.Name, ttl, maxCommandTTL)
	}
	params := c.Params
	if params == nil {
		params = map[string]any{}
	}
	b, err := json.Marshal(params)
	if err != nil {
		v.fail(p+".params", "rule %q: command params: %v", rs.Name, err)
	}
	return &FiringCommand{Name: c.Name, Params: b, TTL: ttl}
}
