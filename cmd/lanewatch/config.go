package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lanewatch/lanewatch/app"
)

// newConfigCmd is `lanewatch config` with its `check` subcommand.
func newConfigCmd(stdout, stderr io.Writer, code *int) *cobra.Command {
	configCmd := &cobra.Command{
		Use:   "config",
		Short: "check the config file and the files it names",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_ = cmd.Usage() // a subcommand is missing: a usage error, as for `rules`
			*code = 2
			return nil
		},
	}
	var path string
	checkCmd := &cobra.Command{
		Use:   "check [--config FILE]",
		Short: "load and validate the config and every file it names without starting anything; exit 1 with every error",
		Long: `Load and validate the config file and every file it names (categories, routing with its
calendar, devices, cameras, plaques, road network, districts, zones, rules) exactly as 'serve'
does at start-up, without opening the store, the journal or any listener. Every error of every
file is printed, one a line (file:line:col: key: message for YAML files), then their count;
the exit status is 1 on any error, else 0. LANEWATCH_<PATH> environment overrides apply as
for serve.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			*code = configCheck(path, stdout, stderr)
			return nil
		},
	}
	checkCmd.Flags().StringVar(&path, "config", "configs/lanewatch.yaml", "config file")
	markFile(checkCmd, "config")
	configCmd.AddCommand(checkCmd)
	return configCmd
}

// configCheck runs `lanewatch config check`.
func configCheck(path string, stdout, stderr io.Writer) int {
	if err := app.CheckConfig(path, os.Environ()); err != nil {
		printErrors(stderr, errorLines(err))
		return 1
	}
	fmt.Fprintf(stdout, "%s and the files it names OK\n", path)
	return 0
}

// printErrors prints errors one a line, then their count ("1 error", "5 errors"), as the
// check commands do.
func printErrors(w io.Writer, lines []string) {
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	if len(lines) == 1 {
		fmt.Fprintln(w, "1 error")
	} else {
		fmt.Fprintf(w, "%d errors\n", len(lines))
	}
}

// errorLines is the text of err, one error a line (joined errors and yamlx.Errors are one
// error per line).
func errorLines(err error) []string {
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// printStartupError prints a start-up error as one "lanewatch: ..." line per error.
func printStartupError(w io.Writer, err error) {
	for _, l := range errorLines(err) {
		fmt.Fprintf(w, "lanewatch: %s\n", l)
	}
}
