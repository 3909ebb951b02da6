package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/app"
	"github.com/lanewatch/lanewatch/devices"
	"github.com/lanewatch/lanewatch/simulators"
)

// simulate runs `lanewatch simulate`: it drives simulated devices with the credentials of the
// config's device registry seed file until --duration has passed or SIGINT/SIGTERM.
func simulate(args []string, stdout, stderr io.Writer) int {
	if load, rest := hasLoadFlag(args); load {
		return simulateLoad(rest, stdout, stderr)
	}
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	broker := fs.String("broker", "", "MQTT broker URL, e.g. tcp://127.0.0.1:1883 (required)")
	cfgPath := fs.String("config", "configs/lanewatch.yaml", "config file (its devices_file lists the devices)")
	nVehicles := fs.Int("vehicles", -1, "simulate the first N vehicles of the seed file (default all)")
	nCameras := fs.Int("cameras", -1, "simulate the first N cameras (default all)")
	nPlaques := fs.Int("plaques", -1, "simulate the first N plaques (default all)")
	rate := fs.Duration("rate", simulators.DefaultStep, "tick of every device: a vehicle publishes about once per tick")
	duration := fs.Duration("duration", 0, "stop after this long; 0 runs until SIGINT/SIGTERM")
	seed := fs.Uint64("seed", 1, "seed of the payload sequences")
	qos := fs.Uint("qos", 1, "QoS of the data publishes, 0 or 1")
	snapshots := fs.Bool("snapshots", false, "add a tiny JPEG snapshot to camera detections and plaque reports")
	runID := fs.String("run-id", "", "prefix of event and scan ids (default the start time)")
	citizenRate := fs.Duration("citizen-rate", 0, "post a citizen report to Open311 this often (0 = none; needs --http-url)")
	httpURL := fs.String("http-url", "", "lanewatch HTTP base URL for citizen reports, e.g. http://127.0.0.1:8080")
	open311Key := fs.String("open311-key", os.Getenv("LANEWATCH_OPEN311_API_KEY"), "Open311 api_key (default $LANEWATCH_OPEN311_API_KEY)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "lanewatch simulate: unexpected argument %q\n", fs.Arg(0))
		return 2
	case *broker == "":
		fmt.Fprintln(stderr, "lanewatch simulate: --broker is required")
		return 2
	case *qos > 1:
		fmt.Fprintf(stderr, "lanewatch simulate: --qos %d: want 0 or 1\n", *qos)
		return 2
	case *rate <= 0:
		fmt.Fprintln(stderr, "lanewatch simulate: --rate must be positive")
		return 2
	case *duration < 0:
		fmt.Fprintln(stderr, "lanewatch simulate: --duration must not be negative")
		return 2
	}

	cfg, err := app.LoadConfig(*cfgPath, os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch simulate: %v\n", err)
		return 1
	}
	if cfg.DevicesFile == "" {
		fmt.Fprintf(stderr, "lanewatch simulate: %s: devices_file is not set\n", *cfgPath)
		return 1
	}
	seedPath := cfg.Resolve(cfg.DevicesFile)
	seedFile, err := devices.LoadSeed(seedPath)
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch simulate: %v\n", err)
		return 1
	}
	logger := newLogger(cfg.Log, stderr).With("command", "simulate")
	devs, noPassword := pickDevices(seedFile, *nVehicles, *nCameras, *nPlaques)
	if noPassword > 0 {
		logger.Warn("devices without a clear password skipped", "count", noPassword, "file", seedPath)
	}
	if len(devs) == 0 {
		fmt.Fprintf(stderr, "lanewatch simulate: %s: no devices to simulate\n", seedPath)
		return 1
	}

	var roads *simulators.RoadNetwork
	if cfg.Coverage.RoadsFile != "" {
		if roads, err = simulators.LoadRoads(cfg.Resolve(cfg.Coverage.RoadsFile)); err != nil {
			fmt.Fprintf(stderr, "lanewatch simulate: %v\n", err)
			return 1
		}
	}
	fleet, err := simulators.NewFleet(simulators.Options{
		Roads:     roads,
		Broker:    *broker,
		Devices:   devs,
		Rate:      *rate,
		Duration:  *duration,
		Seed:      *seed,
		QoS:       byte(*qos),
		Snapshots: *snapshots,
		RunID:     *runID,
		Logger:    logger,
		Progress: func(s simulators.Stats) {
			fmt.Fprintf(stderr, "simulate: %s\n", s)
		},
		ProgressEvery: 2 * time.Second,
	})
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch simulate: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "simulate: %d devices against %s, rate %s, seed %d\n", len(devs), *broker, *rate, *seed)
	citizenDone := make(chan struct{})
	if *citizenRate > 0 && *httpURL != "" {
		rep := &simulators.CitizenReporter{BaseURL: *httpURL, APIKey: *open311Key, Every: *citizenRate, Seed: *seed, Logger: logger}
		go func() {
			defer close(citizenDone)
			if err := rep.Run(ctx); err != nil {
				fmt.Fprintf(stderr, "simulate: citizen reports: %v\n", err)
			}
			fmt.Fprintf(stderr, "simulate: citizen reports sent=%d errors=%d\n", rep.Sent(), rep.Errors())
		}()
	} else {
		if *citizenRate > 0 {
			fmt.Fprintln(stderr, "simulate: --citizen-rate needs --http-url; citizen reports off")
		}
		close(citizenDone)
	}
	stats, err := fleet.Run(ctx)
	stop()
	<-citizenDone
	fmt.Fprintf(stderr, "simulate: done: %s, %d bytes\n", stats, stats.Bytes)
	if err != nil {
		if errors.Is(err, simulators.ErrNoConnection) {
			fmt.Fprintf(stderr, "lanewatch simulate: %v to %s\n", err, *broker)
		} else {
			fmt.Fprintf(stderr, "lanewatch simulate: %v\n", err)
		}
		return 1
	}
	return 0
}

// pickDevices returns the first nVehicles vehicles, nCameras cameras and nPlaques plaques of
// the seed file in file order (a negative count means all), and how many devices of the file
// were passed over because the seed gives only a password hash.
func pickDevices(f *devices.SeedFile, nVehicles, nCameras, nPlaques int) ([]simulators.Device, int) {
	var out []simulators.Device
	var nv, nc, np, noPassword int
	take := func(n *int, limit int) bool {
		if limit >= 0 && *n >= limit {
			return false
		}
		*n++
		return true
	}
	for _, s := range f.Devices {
		if s.Password == "" {
			noPassword++
			continue
		}
		t := lanewatch.DeviceType(s.Type)
		var ok bool
		switch {
		case t.IsVehicle():
			ok = take(&nv, nVehicles)
		case t == lanewatch.DeviceCamera:
			ok = take(&nc, nCameras)
		case t == lanewatch.DevicePlaque:
			ok = take(&np, nPlaques)
		}
		if ok {
			out = append(out, simulators.Device{ID: s.ID, Type: t, District: s.District, Password: s.Password})
		}
	}
	return out, noPassword
}
