package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/app"
	"github.com/lanewatch/lanewatch/devices"
	"github.com/lanewatch/lanewatch/simulators/loadgen"
)

// hasLoadFlag reports whether simulate's arguments ask for the load generator, and returns
// them without that flag.
func hasLoadFlag(args []string) (bool, []string) {
	for i, a := range args {
		if a == "--load" || a == "-load" || a == "--load=true" || a == "-load=true" {
			return true, slices.Delete(slices.Clone(args), i, i+1)
		}
	}
	return false, args
}

// simulateLoad runs `lanewatch simulate --load`: the benchmark load generator (package
// simulators/loadgen). It prints a JSON report on stdout (or --out) and progress on stderr.
func simulateLoad(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate --load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	broker := fs.String("broker", "", "MQTT broker, tcp://host:port or host:port (required); a comma-separated list spreads the clients round-robin (client i on broker i mod n)")
	cfgPath := fs.String("config", "configs/lanewatch.yaml", "config file; its devices_file gives the clients' credentials (vehicles with a clear password)")
	clients := fs.Int("clients", 50, "publishing clients (the first N vehicles of the devices file)")
	messages := fs.Int("messages", 100000, "messages in total")
	qos := fs.Uint("qos", 0, "QoS of the telemetry publishes, 0 or 1")
	msgRate := fs.Float64("msg-rate", 0, "total publish rate in msg/s; 0 = as fast as the broker takes them")
	window := fs.Int("window", 64, "unacknowledged QoS 1 publishes per client")
	subUser := fs.String("sub-user", "", "MQTT user of the latency subscriber (lanewatch: a mqtt.subscribers entry); empty = no subscriber")
	subPass := fs.String("sub-password", os.Getenv("LANEWATCH_BENCH_SUB_PASSWORD"), "its password (default $LANEWATCH_BENCH_SUB_PASSWORD)")
	sample := fs.Int("sample-clients", 0, "clients whose messages the subscriber receives (default a tenth)")
	markEvery := fs.Duration("mark-every", 0, "client 0 marks one message this often (field bench_mark) to measure publish-to-case latency")
	markRule := fs.String("mark-rule", "bench_marker", "the rule that opens a case per marker, keyed on the marker number")
	apiURL := fs.String("api-url", "", "lanewatch HTTP base URL, for the marker cases")
	apiToken := fs.String("api-token", os.Getenv("LANEWATCH_ADMIN_TOKEN"), "API token (default $LANEWATCH_ADMIN_TOKEN)")
	metricsURL := fs.String("metrics-url", "", "Prometheus endpoint to wait on until --metric reaches --messages; a comma-separated list sums the endpoints (one per node)")
	metric := fs.String("metric", "lanewatch_influx_points_written_total", "counter that counts processed messages")
	processTimeout := fs.Duration("process-timeout", 3*time.Minute, "how long to wait for --metric")
	idle := fs.Int("idle", 0, "idle mode: connect this many clients (devices of the file, skipping the first --clients), print \"idle: N connected\" and hold them until SIGTERM")
	seed := fs.Uint64("seed", 1, "seed of the simulated vehicles whose telemetry is replayed")
	label := fs.String("label", "", "name of the run in the report")
	out := fs.String("out", "", "write the JSON report here instead of stdout")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "lanewatch simulate --load: "+format+"\n", a...)
		return code
	}
	switch {
	case fs.NArg() > 0:
		return fail(2, "unexpected argument %q", fs.Arg(0))
	case *broker == "":
		return fail(2, "--broker is required")
	case *qos > 1:
		return fail(2, "--qos %d: want 0 or 1", *qos)
	case *clients <= 0:
		return fail(2, "--clients must be positive")
	}
	var addrs []string
	for _, a := range strings.Split(*broker, ",") {
		a = strings.TrimSpace(a)
		if i := strings.Index(a, "://"); i >= 0 {
			if s := a[:i]; s != "tcp" && s != "mqtt" {
				return fail(2, "--broker %s: only tcp:// is supported by the load generator", a)
			}
			a = a[i+3:]
		}
		if a == "" {
			return fail(2, "--broker %q: empty address in the list", *broker)
		}
		addrs = append(addrs, a)
	}
	var metricsURLs []string
	if *metricsURL != "" {
		for _, u := range strings.Split(*metricsURL, ",") {
			if u = strings.TrimSpace(u); u == "" {
				return fail(2, "--metrics-url %q: empty URL in the list", *metricsURL)
			}
			metricsURLs = append(metricsURLs, u)
		}
	}
	cfg, err := app.LoadConfig(*cfgPath, os.Environ())
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
		if lanewatch.DeviceType(d.Type).IsVehicle() && len(pubs) < *clients {
			pubs = append(pubs, loadgen.Client{ID: d.ID, Type: lanewatch.DeviceType(d.Type), District: d.District, Password: d.Password})
			continue
		}
		rest = append(rest, loadgen.Credentials{ClientID: d.ID, Username: d.ID, Password: d.Password})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *idle > 0 {
		if len(addrs) > 1 {
			return fail(2, "--idle takes one --broker, not %d", len(addrs))
		}
		addr := addrs[0]
		if len(rest) < *idle {
			return fail(1, "--idle %d: the devices file has only %d devices with a clear password beyond the first %d vehicles", *idle, len(rest), len(pubs))
		}
		start := time.Now()
		n, err := loadgen.Idle(ctx, addr, rest[:*idle], 64, func(n int) {
			fmt.Fprintf(stdout, "idle: %d connected in %s\n", n, time.Since(start).Round(time.Millisecond))
			if f, ok := stdout.(*os.File); ok {
				_ = f.Sync()
			}
		})
		if err != nil {
			fmt.Fprintf(stderr, "lanewatch simulate --load: %v\n", err)
		}
		if n < *idle {
			return 1
		}
		return 0
	}

	if len(pubs) < *clients {
		return fail(1, "--clients %d: the devices file has only %d vehicles with a clear password", *clients, len(pubs))
	}
	o := loadgen.Options{
		Addrs: addrs, Clients: pubs, Messages: *messages, QoS: byte(*qos), Rate: *msgRate, Window: *window,
		SampleClients: *sample, MarkEvery: *markEvery, MarkRule: *markRule, APIURL: *apiURL, APIToken: *apiToken,
		MetricsURLs: metricsURLs, ProcessTimeout: *processTimeout, Seed: *seed, Label: *label,
		Progress: func(s string) { fmt.Fprintln(stderr, s) },
	}
	if len(metricsURLs) > 0 {
		o.Metric = *metric
	}
	if *subUser != "" {
		o.Subscriber = &loadgen.Credentials{ClientID: *subUser + "-bench", Username: *subUser, Password: *subPass}
	}
	rep, runErr := loadgen.Run(ctx, o)
	if rep != nil {
		b, _ := json.MarshalIndent(rep, "", "  ")
		b = append(b, '\n')
		if *out != "" {
			if err := os.WriteFile(*out, b, 0o644); err != nil {
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
