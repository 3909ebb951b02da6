package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/app"
	"github.com/lanewatch/lanewatch/devices"
	"github.com/lanewatch/lanewatch/simulators/loadgen"
)

// loadFlags are the flags of `lanewatch simulate load`.
type loadFlags struct {
	broker, config             string
	clients, messages          int
	qos                        uint
	msgRate                    float64
	window                     int
	subUser, subPass           string
	sample                     int
	markEvery                  time.Duration
	markRule, apiURL, apiToken string
	metricsURL, metric         string
	processTimeout             time.Duration
	idle                       int
	seed                       uint64
	label, out                 string
}

// simulateLoad runs `lanewatch simulate load` (alias `simulate --load`): the benchmark load
// generator (package simulators/loadgen). It prints a JSON report on stdout (or --out) and
// progress on stderr.
func simulateLoad(f loadFlags, stdout, stderr io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "lanewatch simulate load: "+format+"\n", a...)
		return code
	}
	switch {
	case f.broker == "":
		return fail(2, "--broker is required")
	case f.qos > 1:
		return fail(2, "--qos %d: want 0 or 1", f.qos)
	case f.clients <= 0:
		return fail(2, "--clients must be positive")
	}
	var addrs []string
	for _, a := range strings.Split(f.broker, ",") {
		a = strings.TrimSpace(a)
		if i := strings.Index(a, "://"); i >= 0 {
			if s := a[:i]; s != "tcp" && s != "mqtt" {
				return fail(2, "--broker %s: only tcp:// is supported by the load generator", a)
			}
			a = a[i+3:]
		}
		if a == "" {
			return fail(2, "--broker %q: empty address in the list", f.broker)
		}
		addrs = append(addrs, a)
	}
	var metricsURLs []string
	if f.metricsURL != "" {
		for _, u := range strings.Split(f.metricsURL, ",") {
			if u = strings.TrimSpace(u); u == "" {
				return fail(2, "--metrics-url %q: empty URL in the list", f.metricsURL)
			}
			metricsURLs = append(metricsURLs, u)
		}
	}
	cfg, err := app.LoadConfig(f.config, os.Environ())
	if err != nil {
		return fail(1, "%v", err)
	}
	seedFile, err := devices.LoadSeed(cfg.Resolve(cfg.DevicesFile))
	if err != nil {
		return fail(1, "%v", err)
	}
	var pubs []loadgen.Client
	var rest []loadgen.Credentials
	for _, d := range seedFile.Devices {
		if d.Password == "" {
			continue
		}
		if lanewatch.DeviceType(d.Type).IsVehicle() && len(pubs) < f.clients {
			pubs = append(pubs, loadgen.Client{ID: d.ID, Type: lanewatch.DeviceType(d.Type), District: d.District, Password: d.Password})
			continue
		}
		rest = append(rest, loadgen.Credentials{ClientID: d.ID, Username: d.ID, Password: d.Password})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if f.idle > 0 {
		if len(addrs) > 1 {
			return fail(2, "--idle takes one --broker, not %d", len(addrs))
		}
		addr := addrs[0]
		if len(rest) < f.idle {
			return fail(1, "--idle %d: the devices file has only %d devices with a clear password beyond the first %d vehicles", f.idle, len(rest), len(pubs))
		}
		start := time.Now()
		n, err := loadgen.Idle(ctx, addr, rest[:f.idle], 64, func(n int) {
			fmt.Fprintf(stdout, "idle: %d connected in %s\n", n, time.Since(start).Round(time.Millisecond))
			if f, ok := stdout.(*os.File); ok {
				_ = f.Sync()
			}
		})
		if err != nil {
			fmt.Fprintf(stderr, "lanewatch simulate load: %v\n", err)
		}
		if n < f.idle {
			return 1
		}
		return 0
	}

	if len(pubs) < f.clients {
		return fail(1, "--clients %d: the devices file has only %d vehicles with a clear password", f.clients, len(pubs))
	}
	o := loadgen.Options{
		Addrs: addrs, Clients: pubs, Messages: f.messages, QoS: byte(f.qos), Rate: f.msgRate, Window: f.window,
		SampleClients: f.sample, MarkEvery: f.markEvery, MarkRule: f.markRule, APIURL: f.apiURL, APIToken: f.apiToken,
		MetricsURLs: metricsURLs, ProcessTimeout: f.processTimeout, Seed: f.seed, Label: f.label,
		Progress: func(s string) { fmt.Fprintln(stderr, s) },
	}
	if len(metricsURLs) > 0 {
		o.Metric = f.metric
	}
	if f.subUser != "" {
		o.Subscriber = &loadgen.Credentials{ClientID: f.subUser + "-bench", Username: f.subUser, Password: f.subPass}
	}
	rep, runErr := loadgen.Run(ctx, o)
	if rep != nil {
		b, _ := json.MarshalIndent(rep, "", "  ")
		b = append(b, '\n')
		if f.out != "" {
			if err := os.WriteFile(f.out, b, 0o644); err != nil {
				return fail(1, "write report: %v", err)
			}
		} else {
			_, _ = stdout.Write(b)
		}
		fmt.Fprintf(stderr, "load: %s: sent=%d ingest=%.0f msg/s processed=%.0f msg/s\n", rep.Label, rep.Sent, rep.IngestRate, rep.ProcessedRate)
	}
	if runErr != nil {
		return fail(1, "%v", runErr)
	}
	return 0
}
