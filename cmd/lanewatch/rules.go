package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/lanewatch/lanewatch/dispatch"
	"github.com/lanewatch/lanewatch/rules"
)

func rulesCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "usage: lanewatch rules check [--categories FILE] DIR_OR_FILE...\n")
		return 2
	}
	switch args[0] {
	case "check":
		return rulesCheck(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "lanewatch rules: unknown subcommand %q\n", args[0])
	return 2
}

func rulesCheck(args []string, stdout, stderr io.Writer) int {
	var opts rules.LoadOptions
	if len(args) >= 2 && args[0] == "--categories" {
		cat, err := dispatch.LoadCatalog(args[1])
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 1
		}
		opts.Category = cat.Has
		args = args[2:]
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, "lanewatch rules check: no files or directories given\n")
		return 2
	}
	rs, err := rules.LoadPaths(args, opts)
	if err != nil {
		for _, e := range unwrapJoined(err) {
			fmt.Fprintln(stderr, e)
		}
		return 1
	}
	fmt.Fprintf(stdout, "%d rules OK\n", len(rs))
	return 0
}

func unwrapJoined(err error) []error {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unwrapJoined(e)...)
		}
		return out
	}
	return []error{err}
}
