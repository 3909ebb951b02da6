package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// everyCommand is every command of the tree; each must answer --help.
var everyCommand = [][]string{
	{}, {"serve"}, {"simulate"}, {"simulate", "load"}, {"rules"}, {"rules", "check"}, {"rules", "test"},
	{"rules", "backtest"}, {"version"}, {"completion"}, {"completion", "bash"}, {"completion", "zsh"},
	{"completion", "fish"}, {"config"}, {"config", "check"},
}

// TestHelpEveryCommand: --help and -h on every command print its usage on stdout, exit 0, run
// nothing, name the LANEWATCH_* variables but never their values.
func TestHelpEveryCommand(t *testing.T) {
	env := []string{"LANEWATCH_ADMIN_TOKEN=secret123", "LANEWATCH_OPEN311_API_KEY=secret123", "LANEWATCH_BENCH_SUB_PASSWORD=secret123"}
	for _, cmd := range everyCommand {
		for _, h := range []string{"--help", "-h"} {
			name := strings.Join(append(slices.Clone(cmd), h), " ")
			t.Run(name, func(t *testing.T) {
				stdout, stderr, code := runBin(t, env, append(slices.Clone(cmd), h)...)
				if code != 0 {
					t.Fatalf("exit %d; stderr:\n%s", code, stderr)
				}
				if !strings.Contains(stdout, "Usage:") || !strings.Contains(stdout, "lanewatch "+strings.Join(cmd, " ")) {
					t.Errorf("stdout is not the usage of %q:\n%s", cmd, stdout)
				}
				if strings.Contains(stdout+stderr, "secret123") {
					t.Errorf("help prints an environment secret:\n%s", stdout)
				}
			})
		}
	}
}

// TestHelpContents: the top-level help lists every command (rules test and backtest too), and
// each command's help lists the flags of SPEC section 2 and the env vars it reads.
func TestHelpContents(t *testing.T) {
	tests := []struct {
		cmd  []string
		want []string
	}{
		{nil, []string{"serve", "simulate load", "rules check", "rules test", "rules backtest", "version", "completion bash", "completion zsh", "completion fish"}},
		{[]string{"serve"}, []string{"--config", "--mqtt-addr", "--http-addr", "--data-dir", "--influx-url", "LANEWATCH_ADMIN_TOKEN", "LANEWATCH_MQTT_ADDR"}},
		{[]string{"simulate"}, []string{"--broker", "--config", "--vehicles", "--cameras", "--plaques", "--rate", "--duration", "--seed", "LANEWATCH_OPEN311_API_KEY", "load"}},
		{[]string{"simulate", "load"}, []string{"--broker", "--clients", "--messages", "--api-token", "LANEWATCH_ADMIN_TOKEN", "LANEWATCH_BENCH_SUB_PASSWORD"}},
		{[]string{"rules", "check"}, []string{"--categories", "--config", "DIR_OR_FILE"}},
		{[]string{"rules", "test"}, []string{"--categories", "--config", "FILE"}},
		{[]string{"rules", "backtest"}, []string{"--config", "--from", "--to", "--rules", "--tick"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(append([]string{"lanewatch"}, tt.cmd...), " "), func(t *testing.T) {
			stdout, _, _ := runBin(t, nil, append(slices.Clone(tt.cmd), "--help")...)
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("help lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}

// TestUsageErrors: an unknown flag, command or missing argument exits 2 with a message naming
// it, and runs nothing.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"simulate", "--vehicels", "3"}, "unknown flag: --vehicels"},
		{[]string{"simulate", "load", "--nope"}, "unknown flag: --nope"},
		{[]string{"rules", "check", "--categoriez", "x", "configs/rules"}, "unknown flag: --categoriez"},
		{[]string{"rules", "test", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"rules", "backtest", "--form", "2025-01-01T00:00:00Z"}, "unknown flag: --form"},
		{[]string{"rules", "check"}, "requires at least 1 arg"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"rules", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"serve", "extra"}, `unknown command "extra"`},
		{[]string{"config", "check", "--confg", "x.yaml"}, "unknown flag: --confg"},
		{[]string{"config", "check", "extra"}, `unknown command "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, stderr, code := runBin(t, nil, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr)
			}
			if strings.Contains(stdout, "rules OK") || strings.Contains(stdout, "rule tests") {
				t.Errorf("the command ran:\n%s", stdout)
			}
		})
	}
}

// TestRulesHelpRunsNothing: `rules check -h` is help, not a file named -h; `rules test -h`
// runs no test.
func TestRulesHelpRunsNothing(t *testing.T) {
	for _, args := range [][]string{
		{"rules", "check", "-h"}, {"rules", "check", "--help", "../../configs/rules"},
		{"rules", "test", "-h"}, {"rules", "test", "-h", "../../configs/rules/vehicles_test.yaml"},
	} {
		stdout, stderr, code := runBin(t, nil, args...)
		if code != 0 || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
		for _, bad := range []string{"no such file", "FAILED", "passed", "rules OK", "ok   "} {
			if strings.Contains(stdout, bad) {
				t.Errorf("%v ran the command (%q):\n%s", args, bad, stdout)
			}
		}
	}
}

// TestRulesCommands: rules check and test on the example (as `make rules-check` runs them),
// with --categories and with --config.
func TestRulesCommands(t *testing.T) {
	cfgs := filepath.Join("..", "..", "configs")
	tests, _ := filepath.Glob(filepath.Join(cfgs, "rules", "*_test.yaml"))
	for _, flags := range [][]string{
		{"--categories", filepath.Join(cfgs, "categories.yaml")},
		{"--config", filepath.Join(cfgs, "lanewatch.yaml")},
		nil,
	} {
		stdout, stderr, code := runBin(t, nil, append(append([]string{"rules", "check"}, flags...), filepath.Join(cfgs, "rules"))...)
		if code != 0 || !strings.Contains(stdout, "rules OK") {
			t.Errorf("rules check %v: exit %d\n%s%s", flags, code, stdout, stderr)
		}
		stdout, stderr, code = runBin(t, nil, append(append([]string{"rules", "test"}, flags...), tests...)...)
		if code != 0 || !strings.Contains(stdout, "all rule tests passed") {
			t.Errorf("rules test %v: exit %d\n%s%s", flags, code, stdout, stderr)
		}
	}
}

// TestVersion: `version`, `--version` and `-v` print one line.
func TestVersion(t *testing.T) {
	for _, a := range []string{"version", "--version", "-v"} {
		stdout, _, code := runBin(t, nil, a)
		if code != 0 || !strings.HasPrefix(stdout, "lanewatch ") || strings.Count(stdout, "\n") != 1 {
			t.Errorf("%s: exit %d, %q", a, code, stdout)
		}
	}
}

// TestLoadAlias: `simulate --load ...` (scripts/bench.sh, bench-cluster.sh) is `simulate load ...`.
func TestLoadAlias(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"simulate", "--load", "--config", "c", "--clients", "3"}, []string{"simulate", "load", "--config", "c", "--clients", "3"}},
		{[]string{"simulate", "--config", "c", "--load"}, []string{"simulate", "load", "--config", "c"}},
		{[]string{"simulate", "-load=true", "--broker", "b"}, []string{"simulate", "load", "--broker", "b"}},
		{[]string{"simulate", "--load=false", "--broker", "b"}, []string{"simulate", "--broker", "b"}},
		{[]string{"simulate", "load", "--broker", "b"}, []string{"simulate", "load", "--broker", "b"}},
		{[]string{"serve", "--load"}, []string{"serve", "--load"}},
	}
	for _, tt := range tests {
		if got := loadAlias(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("loadAlias(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// The alias reaches the load generator: its own validation answers.
	_, stderr, code := runBin(t, nil, "simulate", "--load", "--clients", "0", "--broker", "127.0.0.1:1")
	if code != 2 || !strings.Contains(stderr, "lanewatch simulate load: --clients must be positive") {
		t.Errorf("simulate --load: exit %d, stderr %q", code, stderr)
	}
}

// TestCompletionScripts: completion bash, zsh and fish print a script naming the binary.
func TestCompletionScripts(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		stdout, stderr, code := runBin(t, nil, "completion", sh)
		if code != 0 || !strings.Contains(stdout, "lanewatch") || len(stdout) < 500 {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", sh, code, len(stdout), stderr)
		}
	}
	// Completion of a subcommand name goes through the binary (cobra's __complete).
	stdout, _, _ := runBin(t, nil, "__complete", "rules", "")
	for _, w := range []string{"check", "test", "backtest"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("completing `rules ` lacks %q:\n%s", w, stdout)
		}
	}
}
