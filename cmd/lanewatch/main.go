// Command lanewatch runs the lanewatch server and its tools. See README.md and SPEC.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/lanewatch/lanewatch/app"
)

// Set by the linker: -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = ""
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: lanewatch <command> [flags]

commands:
  serve --config FILE        run broker, pipeline, rules, dispatch, API and console
  simulate --broker URL --config FILE [flags]
                             drive simulated devices
  rules check DIR_OR_FILE... validate rule files
  version                    print version, commit and Go version
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "simulate":
		return simulate(args[1:], stdout, stderr)
	case "rules":
		return rulesCmd(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		c := commit
		if c == "" {
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						c = s.Value
					}
				}
			}
		}
		fmt.Fprintf(stdout, "lanewatch %s commit %s %s\n", version, c, runtime.Version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "lanewatch: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "configs/lanewatch.yaml", "config file")
	mqttAddr := fs.String("mqtt-addr", "", "MQTT TCP listen address (overrides mqtt.addr)")
	httpAddr := fs.String("http-addr", "", "HTTP listen address (overrides http.addr)")
	dataDir := fs.String("data-dir", "", "data directory (overrides data_dir)")
	influxURL := fs.String("influx-url", "", "InfluxDB URL (overrides influx.url)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := app.LoadConfig(*cfgPath, os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch: %v\n", err)
		return 1
	}
	if *mqttAddr != "" {
		cfg.MQTT.Addr = *mqttAddr
	}
	if *httpAddr != "" {
		cfg.HTTP.Addr = *httpAddr
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if *influxURL != "" {
		cfg.Influx.URL = *influxURL
	}
	logger := newLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, app.Options{Logger: logger, Env: os.Environ()})
	if err != nil {
		logger.Error("start failed", "err", err)
		fmt.Fprintf(stderr, "lanewatch: %v\n", err)
		return 1
	}
	if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("stopped with error", "err", err)
		return 1
	}
	return 0
}

func newLogger(c app.LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
