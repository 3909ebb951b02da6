package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lanewatch/lanewatch/simulators"
)

// run parses args, runs the command they name and returns the exit status: 0 on success, 1
// when the command failed, 2 on a usage error (unknown command or flag, missing argument).
func run(args []string, stdout, stderr io.Writer) int {
	code := 0
	root := newRootCmd(stdout, stderr, &code)
	root.SetArgs(loadAlias(args))
	if len(args) == 0 {
		_ = root.Usage()
		return 2
	}
	cmd, err := root.ExecuteC()
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch: %v\nrun '%s --help' for usage\n", err, cmd.CommandPath())
		return 2
	}
	return code
}

// loadAlias rewrites `simulate ... --load ...` (the flag scripts used before `simulate load`
// was a subcommand) to `simulate load ...`; `--load=false` is dropped.
func loadAlias(args []string) []string {
	if len(args) == 0 || args[0] != "simulate" {
		return args
	}
	out := []string{"simulate"}
	load := false
	for _, a := range args[1:] {
		switch a {
		case "--load", "-load", "--load=true", "-load=true":
			load = true
			continue
		case "--load=false", "-load=false":
			continue
		case "--":
		}
		out = append(out, a)
	}
	if load && (len(out) < 2 || out[1] != "load") {
		out = append([]string{"simulate", "load"}, out[1:]...)
	}
	return out
}

// envDefault returns the flag's value, or the environment variable's when the flag was not set.
// Help names the variable but never shows its value.
func envDefault(cmd *cobra.Command, flag, val, env string) string {
	if cmd.Flags().Changed(flag) {
		return val
	}
	return os.Getenv(env)
}

func newRootCmd(stdout, stderr io.Writer, code *int) *cobra.Command {
	root := &cobra.Command{
		Use:   "lanewatch",
		Short: "urban-management telemetry: MQTT broker, rules, dispatch of cases",
		Long: `lanewatch runs the broker, pipeline, rules, dispatch, API and console (serve), drives
simulated devices (simulate), checks, tests and backtests rule files (rules), checks the config
and every file it names (config check).`,
		Version:       versionLine(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return err })
	// exit wraps a command body returning an exit status.
	exit := func(fn func(cmd *cobra.Command, args []string) int) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			*code = fn(cmd, args)
			return nil
		}
	}

	var sf serveFlags
	serveCmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "run broker, pipeline, rules, dispatch, API and console until SIGINT/SIGTERM",
		Long: `Run broker, pipeline, rules, dispatch, API and console until SIGINT/SIGTERM, then shut down
gracefully (stop accepting, drain queues, flush InfluxDB and the store).

Every setting of the config file can also come from a LANEWATCH_<PATH> environment variable,
PATH being the YAML key path in upper case joined by '_' (LANEWATCH_MQTT_ADDR,
LANEWATCH_INFLUX_URL, LANEWATCH_STORE_DSN, LANEWATCH_PIPELINE_DISABLED, ...).
LANEWATCH_ADMIN_TOKEN adds an admin API token.

Any error at start-up is printed as one line naming the file, key or resource; the exit
status is then 1.`,
		Args: cobra.NoArgs,
		RunE: exit(func(*cobra.Command, []string) int { return serve(sf, stderr) }),
	}
	fl := serveCmd.Flags()
	fl.StringVar(&sf.config, "config", "configs/lanewatch.yaml", "config file")
	fl.StringVar(&sf.mqttAddr, "mqtt-addr", "", "MQTT TCP listen address (overrides mqtt.addr, env LANEWATCH_MQTT_ADDR)")
	fl.StringVar(&sf.httpAddr, "http-addr", "", "HTTP listen address (overrides http.addr, env LANEWATCH_HTTP_ADDR)")
	fl.StringVar(&sf.dataDir, "data-dir", "", "data directory (overrides data_dir, env LANEWATCH_DATA_DIR)")
	fl.StringVar(&sf.influxURL, "influx-url", "", "InfluxDB URL (overrides influx.url, env LANEWATCH_INFLUX_URL)")
	markFile(serveCmd, "config")

	var sim simFlags
	simCmd := &cobra.Command{
		Use:   "simulate --broker URL [flags]",
		Short: "drive simulated devices with the credentials of the config's device registry",
		Long: `Drive simulated vehicles, cameras and plaques with the credentials of the config's
devices_file until --duration has passed or SIGINT/SIGTERM.

'simulate load' is the benchmark load generator ('simulate --load' is an alias).`,
		Args: cobra.NoArgs,
		RunE: exit(func(cmd *cobra.Command, _ []string) int {
			sim.open311Key = envDefault(cmd, "open311-key", sim.open311Key, "LANEWATCH_OPEN311_API_KEY")
			return simulate(sim, stdout, stderr)
		}),
	}
	fl = simCmd.Flags()
	fl.StringVar(&sim.broker, "broker", "", "MQTT broker URL, e.g. tcp://127.0.0.1:1883 (required)")
	fl.StringVar(&sim.config, "config", "configs/lanewatch.yaml", "config file (its devices_file lists the devices)")
	fl.IntVar(&sim.vehicles, "vehicles", -1, "simulate the first N vehicles of the seed file (-1 = all)")
	fl.IntVar(&sim.cameras, "cameras", -1, "simulate the first N cameras (-1 = all)")
	fl.IntVar(&sim.plaques, "plaques", -1, "simulate the first N plaques (-1 = all)")
	fl.DurationVar(&sim.rate, "rate", simulators.DefaultStep, "tick of every device: a vehicle publishes about once per tick")
	fl.DurationVar(&sim.duration, "duration", 0, "stop after this long; 0 runs until SIGINT/SIGTERM")
	fl.Uint64Var(&sim.seed, "seed", 1, "seed of the payload sequences")
	fl.UintVar(&sim.qos, "qos", 1, "QoS of the data publishes, 0 or 1")
	fl.BoolVar(&sim.snapshots, "snapshots", false, "add a tiny JPEG snapshot to camera detections and plaque reports")
	fl.StringVar(&sim.runID, "run-id", "", "prefix of event and scan ids (default the start time)")
	fl.DurationVar(&sim.citizenRate, "citizen-rate", 0, "post a citizen report to Open311 this often (0 = none; needs --http-url)")
	fl.StringVar(&sim.httpURL, "http-url", "", "lanewatch HTTP base URL for citizen reports and staff, e.g. http://127.0.0.1:8080")
	fl.StringVar(&sim.only, "only", "", "simulate only these devices (comma-separated ids)")
	fl.StringVar(&sim.except, "except", "", "simulate every device but these (comma-separated ids)")
	fl.BoolVar(&sim.warmStart, "warm-start", false, "start the first camera with an incident and the first plaque with a report (a lively demo at once)")
	fl.DurationVar(&sim.staffEvery, "staff-every", 0, "work open cases through their states this often, as the operator and the departments whose tokens the config's http.tokens (and LANEWATCH_ADMIN_TOKEN) give (0 = none; needs --http-url)")
	fl.StringVar(&sim.open311Key, "open311-key", "", "Open311 api_key (env LANEWATCH_OPEN311_API_KEY)")
	fl.StringVar(&sim.protocol, "protocol", "mqtt", "mqtt, or jt808: the vehicles as JT/T 808 terminals (--broker is then the jt808.addr host:port)")
	markFile(simCmd, "config")

	var lf loadFlags
	loadCmd := &cobra.Command{
		Use:   "load --broker ADDR [flags]",
		Short: "benchmark load generator: publish telemetry, report rates and latencies as JSON",
		Long: `The benchmark load generator (package simulators/loadgen): --clients vehicles of the
devices_file publish --messages telemetry messages; the JSON report goes to stdout (or --out),
progress to stderr. 'lanewatch simulate --load' is an alias.`,
		Args: cobra.NoArgs,
		RunE: exit(func(cmd *cobra.Command, _ []string) int {
			lf.subPass = envDefault(cmd, "sub-password", lf.subPass, "LANEWATCH_BENCH_SUB_PASSWORD")
			lf.apiToken = envDefault(cmd, "api-token", lf.apiToken, "LANEWATCH_ADMIN_TOKEN")
			return simulateLoad(lf, stdout, stderr)
		}),
	}
	fl = loadCmd.Flags()
	fl.StringVar(&lf.broker, "broker", "", "MQTT broker, tcp://host:port or host:port (required); a comma-separated list spreads the clients round-robin (client i on broker i mod n)")
	fl.StringVar(&lf.config, "config", "configs/lanewatch.yaml", "config file; its devices_file gives the clients' credentials (vehicles with a clear password)")
	fl.IntVar(&lf.clients, "clients", 50, "publishing clients (the first N vehicles of the devices file)")
	fl.IntVar(&lf.messages, "messages", 100000, "messages in total")
	fl.UintVar(&lf.qos, "qos", 0, "QoS of the telemetry publishes, 0 or 1")
	fl.Float64Var(&lf.msgRate, "msg-rate", 0, "total publish rate in msg/s; 0 = as fast as the broker takes them")
	fl.IntVar(&lf.window, "window", 64, "unacknowledged QoS 1 publishes per client")
	fl.StringVar(&lf.subUser, "sub-user", "", "MQTT user of the latency subscriber (lanewatch: a mqtt.subscribers entry); empty = no subscriber")
	fl.StringVar(&lf.subPass, "sub-password", "", "its password (env LANEWATCH_BENCH_SUB_PASSWORD)")
	fl.IntVar(&lf.sample, "sample-clients", 0, "clients whose messages the subscriber receives (default a tenth)")
	fl.DurationVar(&lf.markEvery, "mark-every", 0, "client 0 marks one message this often (field bench_mark) to measure publish-to-case latency")
	fl.StringVar(&lf.markRule, "mark-rule", "bench_marker", "the rule that opens a case per marker, keyed on the marker number")
	fl.StringVar(&lf.apiURL, "api-url", "", "lanewatch HTTP base URL, for the marker cases")
	fl.StringVar(&lf.apiToken, "api-token", "", "API token (env LANEWATCH_ADMIN_TOKEN)")
	fl.StringVar(&lf.metricsURL, "metrics-url", "", "Prometheus endpoint to wait on until --metric reaches --messages; a comma-separated list sums the endpoints (one per node)")
	fl.StringVar(&lf.metric, "metric", "lanewatch_influx_points_written_total", "counter that counts processed messages")
	fl.DurationVar(&lf.processTimeout, "process-timeout", 3*time.Minute, "how long to wait for --metric")
	fl.IntVar(&lf.idle, "idle", 0, "idle mode: connect this many clients (devices of the file, skipping the first --clients), print \"idle: N connected\" and hold them until SIGTERM")
	fl.Uint64Var(&lf.seed, "seed", 1, "seed of the simulated vehicles whose telemetry is replayed")
	fl.StringVar(&lf.label, "label", "", "name of the run in the report")
	fl.StringVar(&lf.out, "out", "", "write the JSON report here instead of stdout")
	markFile(loadCmd, "config", "out")
	simCmd.AddCommand(loadCmd)

	rulesCmd := &cobra.Command{
		Use:   "rules",
		Short: "check, test and backtest rule files",
		Args:  cobra.NoArgs,
		RunE: exit(func(cmd *cobra.Command, _ []string) int {
			_ = cmd.Usage()
			return 2
		}),
	}
	// check and test share their flags (--config, --categories) and their shape.
	ruleCmd := func(use, short string, fn func(ruleFlags, []string, io.Writer, io.Writer, func() time.Time) int) *cobra.Command {
		var rf ruleFlags
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.MinimumNArgs(1),
			RunE: exit(func(c *cobra.Command, args []string) int {
				rf.configSet = c.Flags().Changed("config")
				return fn(rf, args, stdout, stderr, time.Now)
			}),
		}
		addRuleFlags(c.Flags(), &rf)
		markFile(c, "config", "categories")
		return c
	}
	checkCmd := ruleCmd("check DIR_OR_FILE...", "validate rule files; exit 1 with file:line and a message on any error", rulesCheck)
	testCmd := ruleCmd("test FILE...", "run rule unit tests; exit 1 on any failure", rulesTest)
	var bf backtestFlags
	backtestCmd := &cobra.Command{
		Use:   "backtest --config FILE --from T --to T [--rules DIR] [flags]",
		Short: "replay stored telemetry through a rule set; report per rule the cases it would have opened",
		Long: `Replay the telemetry stored in InfluxDB between --from and --to (RFC 3339) through a
candidate rule set (--rules, default the config's rules_dir) and report, per rule, the cases it
would have opened beside the rules now loaded. No case is opened.`,
		Args: cobra.NoArgs,
		RunE: exit(func(*cobra.Command, []string) int { return rulesBacktest(bf, stdout, stderr) }),
	}
	fl = backtestCmd.Flags()
	fl.StringVar(&bf.config, "config", "", "lanewatch config file (InfluxDB, categories, loaded rules_dir, devices) (required)")
	fl.StringVar(&bf.from, "from", "", "start of the range, RFC 3339 (required)")
	fl.StringVar(&bf.to, "to", "", "end of the range, RFC 3339 (required)")
	fl.StringVar(&bf.rules, "rules", "", "candidate rules directory or file (default: the loaded rules_dir)")
	fl.DurationVar(&bf.tick, "tick", 10*time.Second, "timer resolution of the replay")
	markFile(backtestCmd, "config", "rules")
	rulesCmd.AddCommand(checkCmd, testCmd, backtestCmd)

	versionCmd := &cobra.Command{
		Use:   "version",
		Short: "print version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: exit(func(*cobra.Command, []string) int {
			fmt.Fprintln(stdout, versionLine())
			return 0
		}),
	}
	root.AddCommand(serveCmd, simCmd, rulesCmd, versionCmd)
	root.AddCommand(newConfigCmd(stdout, stderr, code))
	root.AddCommand(newJournalCmd(stdout, stderr, code))
	root.InitDefaultCompletionCmd()
	root.Long += "\n\nAll commands (each takes --help):\n" + commandList(root)
	return root
}

// commandList lists every runnable command under c, subcommands included, one a line.
func commandList(c *cobra.Command) string {
	var b strings.Builder
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			if !s.IsAvailableCommand() || s.Name() == "help" {
				continue
			}
			if s.Runnable() && s.Name() != "rules" && s.Name() != "config" {
				fmt.Fprintf(&b, "  %-26s %s\n", strings.TrimPrefix(s.CommandPath(), "lanewatch "), s.Short)
			}
			walk(s)
		}
	}
	walk(c)
	return strings.TrimRight(b.String(), "\n")
}

// markFile makes shell completion offer file names for the flags.
func markFile(c *cobra.Command, flags ...string) {
	for _, f := range flags {
		if err := c.MarkFlagFilename(f); err != nil {
			panic(errors.Join(fmt.Errorf("flag %s of %s", f, c.Name()), err)) // a programming error
		}
	}
}
