package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/app"
	"github.com/lanewatch/lanewatch/devices"
	"github.com/lanewatch/lanewatch/simulators"
)

// simFlags are the flags of `lanewatch simulate`.
type simFlags struct {
	broker, config             string
	vehicles, cameras, plaques int
	rate, duration             time.Duration
	seed                       uint64
	qos                        uint
	snapshots                  bool
	runID                      string
	citizenRate                time.Duration
	staffEvery                 time.Duration
	warmStart                  bool
	// only and except are comma-separated device ids: simulate just these / all but these.
	only, except        string
	httpURL, open311Key string
	// protocol is mqtt (default) or jt808: the vehicles as JT/T 808 terminals, --broker the
	// JT/T 808 listener's host:port.
	protocol string
}

// simulate runs `lanewatch simulate`: it drives simulated devices with the credentials of the
// config's device registry seed file until --duration has passed or SIGINT/SIGTERM.
func simulate(f simFlags, stdout, stderr io.Writer) int {
	switch {
	case f.broker == "":
		fmt.Fprintln(stderr, "lanewatch simulate: --broker is required")
		return 2
	case f.qos > 1:
		fmt.Fprintf(stderr, "lanewatch simulate: --qos %d: want 0 or 1\n", f.qos)
		return 2
	case f.rate <= 0:
		fmt.Fprintln(stderr, "lanewatch simulate: --rate must be positive")
		return 2
	case f.duration < 0:
		fmt.Fprintln(stderr, "lanewatch simulate: --duration must not be negative")
		return 2
	case f.protocol != "" && f.protocol != "mqtt" && f.protocol != "jt808":
		fmt.Fprintf(stderr, "lanewatch simulate: --protocol %q: want mqtt or jt808\n", f.protocol)
		return 2
	}
	cfg, err := app.LoadConfig(f.config, os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch simulate: %v\n", err)
		return 1
	}
	if cfg.DevicesFile == "" {
		fmt.Fprintf(stderr, "lanewatch simulate: %s: devices_file is not set\n", f.config)
		return 1
	}
	seedPath := cfg.Resolve(cfg.DevicesFile)
	seedFile, err := devices.LoadSeed(seedPath)
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch simulate: %v\n", err)
		return 1
	}
	logger := newLogger(cfg.Log, stderr).With("command", "simulate")
	if err := selectDevices(seedFile, f.only, f.except); err != nil {
		fmt.Fprintf(stderr, "lanewatch simulate: %s: %v\n", seedPath, err)
		return 2
	}
	devs, noPassword := pickDevices(seedFile, f.vehicles, f.cameras, f.plaques)
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
	if f.protocol == "jt808" {
		return simulateJT808(f, seedFile, devs, roads, logger, stderr)
	}
	fleet, err := simulators.NewFleet(simulators.Options{
		Roads:     roads,
		Broker:    f.broker,
		Devices:   devs,
		Rate:      f.rate,
		Duration:  f.duration,
		Seed:      f.seed,
		QoS:       byte(f.qos),
		Snapshots: f.snapshots,
		WarmStart: f.warmStart,
		RunID:     f.runID,
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
	fmt.Fprintf(stderr, "simulate: %d devices against %s, rate %s, seed %d\n", len(devs), f.broker, f.rate, f.seed)
	citizenDone := make(chan struct{})
	if f.citizenRate > 0 && f.httpURL != "" {
		rep := &simulators.CitizenReporter{BaseURL: f.httpURL, APIKey: f.open311Key, Every: f.citizenRate, Seed: f.seed, Logger: logger}
		go func() {
			defer close(citizenDone)
			if err := rep.Run(ctx); err != nil {
				fmt.Fprintf(stderr, "simulate: citizen reports: %v\n", err)
			}
			fmt.Fprintf(stderr, "simulate: citizen reports sent=%d errors=%d\n", rep.Sent(), rep.Errors())
		}()
	} else {
		if f.citizenRate > 0 {
			fmt.Fprintln(stderr, "simulate: --citizen-rate needs --http-url; citizen reports off")
		}
		close(citizenDone)
	}
	staffDone := make(chan struct{})
	if staff := newStaff(f, cfg.HTTP, logger, stderr); staff != nil {
		go func() {
			defer close(staffDone)
			if err := staff.Run(ctx); err != nil {
				fmt.Fprintf(stderr, "simulate: staff: %v\n", err)
			}
			fmt.Fprintf(stderr, "simulate: staff steps=%d refused=%d\n", staff.Steps(), staff.Errors())
		}()
	} else {
		close(staffDone)
	}
	stats, err := fleet.Run(ctx)
	stop()
	<-citizenDone
	<-staffDone
	fmt.Fprintf(stderr, "simulate: done: %s, %d bytes\n", stats, stats.Bytes)
	if err != nil {
		if errors.Is(err, simulators.ErrNoConnection) {
			fmt.Fprintf(stderr, "lanewatch simulate: %v to %s\n", err, f.broker)
		} else {
			fmt.Fprintf(stderr, "lanewatch simulate: %v\n", err)
		}
		return 1
	}
	return 0
}

// newStaff returns the case-working staff of --staff-every, or nil when it is off or cannot
// work (said on stderr). The operator's token is the first admin or operator token of the
// config (LANEWATCH_ADMIN_TOKEN otherwise); each department:ID or contractor:ID token is that
// desk's.
func newStaff(f simFlags, hc api.HTTPConfig, logger *slog.Logger, stderr io.Writer) *simulators.Staff {
	if f.staffEvery <= 0 {
		return nil
	}
	if f.httpURL == "" {
		fmt.Fprintln(stderr, "simulate: --staff-every needs --http-url; staff off")
		return nil
	}
	toks, err := hc.ResolveTokens(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "simulate: staff off: %v\n", err)
		return nil
	}
	st := &simulators.Staff{BaseURL: f.httpURL, Desks: map[string]string{}, Every: f.staffEvery, StepChance: 0.3, Forget: true, Seed: f.seed, Logger: logger}
	for _, t := range toks {
		switch {
		case (t.Role == "admin" || t.Role == "operator") && st.OperatorToken == "":
			st.OperatorToken = t.Token
		case strings.HasPrefix(t.Role, "department:"):
			st.Desks[strings.TrimPrefix(t.Role, "department:")] = t.Token
		case strings.HasPrefix(t.Role, "contractor:"):
			st.Desks[strings.TrimPrefix(t.Role, "contractor:")] = t.Token
		}
	}
	if st.OperatorToken == "" {
		st.OperatorToken = os.Getenv("LANEWATCH_ADMIN_TOKEN")
	}
	if st.OperatorToken == "" {
		fmt.Fprintln(stderr, "simulate: staff off: no admin or operator token (set LANEWATCH_ADMIN_TOKEN)")
		return nil
	}
	fmt.Fprintf(stderr, "simulate: staff works cases every %s with %d desks\n", f.staffEvery, len(st.Desks))
	return st
}

// selectDevices keeps in f only the devices --only names (all when empty) and not named by
// --except; a name the file does not have is an error naming it (a typo must not silently
// simulate nothing).
func selectDevices(f *devices.SeedFile, only, except string) error {
	list := func(flag, v string) (map[string]bool, error) {
		m := map[string]bool{}
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			if !slices.ContainsFunc(f.Devices, func(d devices.SeedDevice) bool { return d.ID == id }) {
				return nil, fmt.Errorf("--%s %s: no such device in the file", flag, id)
			}
			m[id] = true
		}
		return m, nil
	}
	keep, err := list("only", only)
	if err != nil {
		return err
	}
	drop, err := list("except", except)
	if err != nil {
		return err
	}
	f.Devices = slices.DeleteFunc(f.Devices, func(d devices.SeedDevice) bool { return (len(keep) > 0 && !keep[d.ID]) || drop[d.ID] })
	return nil
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

// simulateJT808 drives the vehicles of devs as JT/T 808 terminals (--protocol jt808); their
// phone numbers are the seed file's jt808_phone tags (simulators.JT808Phone otherwise).
func simulateJT808(f simFlags, seed *devices.SeedFile, devs []simulators.Device, roads *simulators.RoadNetwork, logger *slog.Logger, stderr io.Writer) int {
	phones := map[string]string{}
	for _, s := range seed.Devices {
		if p := s.Tags["jt808_phone"]; p != "" {
			phones[s.ID] = p
		}
	}
	addr := strings.TrimPrefix(f.broker, "tcp://")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "simulate: vehicles as JT/T 808 terminals against %s, rate %s, seed %d\n", addr, f.rate, f.seed)
	stats, err := simulators.RunJT808(ctx, simulators.JT808Options{Addr: addr, Devices: devs, Phones: phones, Rate: f.rate,
		Duration: f.duration, Seed: f.seed, Roads: roads, Logger: logger, ProgressEvery: 2 * time.Second,
		Progress: func(s simulators.Stats) { fmt.Fprintf(stderr, "simulate: %s\n", s) }})
	fmt.Fprintf(stderr, "simulate: done: %s, %d bytes\n", stats, stats.Bytes)
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch simulate: %v to %s\n", err, addr)
		return 1
	}
	return 0
}
