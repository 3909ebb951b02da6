// Command lanewatch runs the lanewatch server and its tools. See README.md and SPEC.md; the
// command tree is in cli.go, `lanewatch --help` lists it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
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

// versionLine is what `lanewatch version` prints: version, commit and Go version.
func versionLine() string {
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
	return fmt.Sprintf("lanewatch %s commit %s %s", version, c, runtime.Version())
}

// serveFlags are the flags of `lanewatch serve`; the non-empty ones override the config file.
type serveFlags struct {
	config, mqttAddr, httpAddr, dataDir, influxURL string
}

// serve runs `lanewatch serve` until SIGINT/SIGTERM. Any start-up error is printed as one line
// ("lanewatch: ...") naming the file, key or resource, one line per error when there are
// several (all the errors of all files), and the exit status is 1.
func serve(f serveFlags, stderr io.Writer) int {
	cfg, err := app.LoadConfig(f.config, os.Environ())
	if err != nil {
		// Report the files the config names too, as config check does.
		if cerr := app.CheckConfig(f.config, os.Environ()); cerr != nil {
			err = cerr
		}
		printStartupError(stderr, err)
		return 1
	}
	if f.mqttAddr != "" {
		cfg.MQTT.Addr = f.mqttAddr
	}
	if f.httpAddr != "" {
		cfg.HTTP.Addr = f.httpAddr
	}
	if f.dataDir != "" {
		cfg.DataDir = f.dataDir
	}
	if f.influxURL != "" {
		cfg.Influx.URL = f.influxURL
	}
	logger := newLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, app.Options{Logger: logger, Env: os.Environ()})
	if err != nil {
		printStartupError(stderr, err)
		return 1
	}
	if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "lanewatch: %v\n", oneLine(err))
		return 1
	}
	return 0
}

// oneLine joins the lines of a multi-line error (errors.Join) with "; " so a start-up error is
// one line on stderr.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

func newLogger(c app.LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
