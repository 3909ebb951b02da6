package simulators

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/lanewatch/lanewatch"
)

// ErrNoConnection is returned by Fleet.Run when no device could connect to the broker.
var ErrNoConnection = errors.New("no device could connect")

// Status payloads, retained on devices/{id}/status: online on connect, offline as the Last
// Will and on a clean stop.
var (
	statusOnline  = []byte(`{"online": true}`)
	statusOffline = []byte(`{"online": false}`)
)

// Device is a device the fleet simulates, with the clear password it connects with.
type Device struct {
	ID       string
	Type     lanewatch.DeviceType
	District string
	Password string
}

// Options configures a Fleet.
type Options struct {
	// Broker is the MQTT broker URL: tcp://host:port, mqtt://, ssl://, ws:// or wss://; a
	// bare host:port means tcp.
	Broker string
	// Devices are simulated in this order; each device's index among devices of its kind
	// (vehicles, cameras, plaques) seeds its generator.
	Devices []Device
	// Rate is the tick of every device: a vehicle publishes about once per tick, cameras and
	// plaques decide once per tick whether to publish. Default DefaultStep (2s).
	Rate time.Duration
	// Step is the simulated time a generator advances per tick; default Rate. A Step larger
	// than Rate speeds the simulation up (vehicles cover more ground per message, cameras and
	// plaques publish more often), for tests and load runs.
	Step time.Duration
	// Duration stops the fleet after this long; 0 runs until the context is done.
	Duration time.Duration
	// Seed makes the payload sequences reproducible.
	Seed uint64
	// QoS of the data publishes: 0 or 1 (the simulate command's default is 1).
	QoS byte
	// Roads, if set, is the road network vehicles drive (configs/roads.geojson); without it
	// they drive a grid of streets inside their district box.
	Roads *RoadNetwork
	// Snapshots adds a tiny JPEG to camera detections and plaque reports.
	Snapshots bool
	// WarmStart makes a demo lively at once: the first camera starts with an incident and the
	// first plaque's first scan is a report (CameraConfig.WarmStart, PlaqueConfig.WarmStart).
	WarmStart bool
	// RunID prefixes camera event ids and plaque scan ids; default the start time
	// (YYYYMMDDThhmmss UTC), so that separate runs do not reuse ids. Set it for byte-identical
	// payloads across runs.
	RunID string
	// ConnectTimeout bounds each device's first connect; default 10s.
	ConnectTimeout time.Duration
	// Progress, if set, is called with the running totals every ProgressEvery (default 2s).
	Progress      func(Stats)
	ProgressEvery time.Duration
	// Logger; default discards.
	Logger *slog.Logger
	// Now stamps payloads; default time.Now.
	Now func() time.Time
}

// Validate checks o and fills its defaults.
func (o *Options) Validate() error {
	if o.Broker == "" {
		return errors.New("broker: required")
	}
	if len(o.Devices) == 0 {
		return errors.New("devices: none to simulate")
	}
	seen := map[string]bool{}
	for i, d := range o.Devices {
		switch {
		case !lanewatch.ValidDeviceID(d.ID):
			return fmt.Errorf("devices[%d]: invalid id %q", i, d.ID)
		case !d.Type.Valid():
			return fmt.Errorf("devices[%d] (%s): unknown type %q", i, d.ID, d.Type)
		case seen[d.ID]:
			return fmt.Errorf("devices[%d]: duplicate id %q", i, d.ID)
		}
		seen[d.ID] = true
	}
	if o.Rate < 0 || o.Step < 0 || o.Duration < 0 || o.ConnectTimeout < 0 || o.ProgressEvery < 0 {
		return errors.New("rate, duration, connect timeout and progress interval must not be negative")
	}
	if o.QoS > 1 {
		return fmt.Errorf("qos: %d is not 0 or 1", o.QoS)
	}
	if !strings.Contains(o.Broker, "://") {
		o.Broker = "tcp://" + o.Broker
	}
	if o.Rate == 0 {
		o.Rate = DefaultStep
	}
	if o.Step == 0 {
		o.Step = o.Rate
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.ProgressEvery == 0 {
		o.ProgressEvery = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Stats are a fleet's running totals.
type Stats struct {
	Devices   int           // devices simulated
	Connected int           // devices whose first connect succeeded
	Sent      uint64        // data publishes completed (acknowledged at QoS 1)
	Errors    uint64        // data publishes that failed or timed out
	Skipped   uint64        // payloads not sent because the device was disconnected
	Bytes     uint64        // payload bytes of the publishes sent
	Elapsed   time.Duration // since Run started
}

// PerSecond is the mean number of messages sent per second.
func (s Stats) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Sent) / s.Elapsed.Seconds()
}

// Fleet connects every simulated device to the broker as its own MQTT client and publishes
// what its generator produces, once per tick.
type Fleet struct {
	opts Options
	log  *slog.Logger

	mu         sync.Mutex
	start, end time.Time
	connected  atomic.Int64
	sent       atomic.Uint64
	errs       atomic.Uint64
	skipped    atomic.Uint64
	bytes      atomic.Uint64

	firstConnErr atomic.Pointer[connectError]
}

// connectError is the first failed connect, reported once for all devices.
type connectError struct {
	id  string
	err error
}

// NewFleet validates opts and returns a fleet ready to Run.
func NewFleet(opts Options) (*Fleet, error) {
	opts.Devices = append([]Device(nil), opts.Devices...)
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("simulators: %w", err)
	}
	return &Fleet{opts: opts, log: opts.Logger.With("component", "simulators")}, nil
}

// Stats returns the running totals; it is safe to call while Run runs.
func (f *Fleet) Stats() Stats {
	s := Stats{
		Devices:   len(f.opts.Devices),
		Connected: int(f.connected.Load()),
		Sent:      f.sent.Load(),
		Errors:    f.errs.Load(),
		Skipped:   f.skipped.Load(),
		Bytes:     f.bytes.Load(),
	}
	f.mu.Lock()
	start, end := f.start, f.end
	f.mu.Unlock()
	switch {
	case start.IsZero():
	case end.IsZero():
		s.Elapsed = f.opts.Now().Sub(start)
	default:
		s.Elapsed = end.Sub(start)
	}
	return s
}

// simDevice is one device at run time.
type simDevice struct {
	Device
	gen    Generator
	client mqtt.Client
}

// generators builds each device's generator, indexing devices per kind.
func (f *Fleet) generators(runID string) []*simDevice {
	o := f.opts
	var nv, nc, np int
	out := make([]*simDevice, 0, len(o.Devices))
	for _, d := range o.Devices {
		sd := &simDevice{Device: d}
		switch {
		case d.Type == lanewatch.DeviceCamera:
			sd.gen = NewCameraSim(CameraConfig{ID: d.ID, District: d.District, Seed: o.Seed, Index: nc, Step: o.Step, Snapshots: o.Snapshots, RunID: runID, WarmStart: o.WarmStart && nc == 0})
			nc++
		case d.Type == lanewatch.DevicePlaque:
			sd.gen = NewPlaqueSim(PlaqueConfig{ID: d.ID, District: d.District, Seed: o.Seed, Index: np, Step: o.Step, Photos: o.Snapshots, RunID: runID, WarmStart: o.WarmStart && np == 0})
			np++
		default:
			vc := VehicleConfig{ID: d.ID, Type: d.Type, District: d.District, Seed: o.Seed, Index: nv, Step: o.Step}
			if o.Roads != nil {
				vc.Route = o.Roads.Route(d.District, newRand(o.Seed, streamRoute, nv))
			}
			sd.gen = NewVehicleSim(vc)
			nv++
		}
		out = append(out, sd)
	}
	return out
}

// Run connects the devices, publishes until ctx is done or Duration has passed, then marks
// every device offline and disconnects. It returns the final totals, and ErrNoConnection if
// no device could connect; a clean stop returns a nil error. Run may be called once.
func (f *Fleet) Run(ctx context.Context) (Stats, error) {
	o := f.opts
	start := o.Now()
	f.mu.Lock()
	if !f.start.IsZero() {
		f.mu.Unlock()
		return f.Stats(), errors.New("simulators: fleet already ran")
	}
	f.start = start
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.end = o.Now()
		f.mu.Unlock()
	}()
	runID := o.RunID
	if runID == "" {
		runID = start.UTC().Format("20060102T150405")
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}

	var progressWG sync.WaitGroup
	progressDone := make(chan struct{})
	if o.Progress != nil {
		progressWG.Go(func() {
			t := time.NewTicker(o.ProgressEvery)
			defer t.Stop()
			for {
				select {
				case <-progressDone:
					return
				case <-t.C:
					o.Progress(f.Stats())
				}
			}
		})
	}
	defer func() {
		close(progressDone)
		progressWG.Wait()
	}()

	devs := f.connectAll(ctx, f.generators(runID))
	if len(devs) == 0 {
		if err := ctx.Err(); err != nil {
			return f.Stats(), nil
		}
		return f.Stats(), ErrNoConnection
	}
	f.log.Info("fleet connected", "devices", len(o.Devices), "connected", len(devs))

	var wg sync.WaitGroup
	for i, d := range devs {
		// Spread the devices' ticks evenly over one period.
		offset := time.Duration(int64(o.Rate) * int64(i) / int64(len(devs)))
		wg.Go(func() { f.drive(ctx, d, offset) })
	}
	wg.Wait()

	// Clean stop: say goodbye (a clean disconnect does not trigger the Last Will).
	for _, d := range devs {
		wg.Go(func() {
			if d.client.IsConnectionOpen() {
				t := d.client.Publish(statusTopic(d.ID), o.QoS, true, statusOffline)
				t.WaitTimeout(time.Second)
			}
			d.client.Disconnect(250)
		})
	}
	wg.Wait()
	return f.Stats(), nil
}

func statusTopic(id string) string { return "devices/" + id + "/status" }

// connectAll connects the devices, at most 32 at a time, and returns those that connected.
func (f *Fleet) connectAll(ctx context.Context, devs []*simDevice) []*simDevice {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		ok  = make([]bool, len(devs))
		sem = make(chan struct{}, 32)
	)
	for i, d := range devs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if f.connect(ctx, d) {
				mu.Lock()
				ok[i] = true
				mu.Unlock()
				f.connected.Add(1)
			}
		})
	}
	wg.Wait()
	var out []*simDevice
	for i, d := range devs {
		if ok[i] {
			out = append(out, d)
		}
	}
	if failed := len(devs) - len(out); failed > 0 && ctx.Err() == nil {
		e := f.firstConnErr.Load()
		f.log.Warn("devices failed to connect", "failed", failed, "of", len(devs), "first", e.id, "err", e.err)
	}
	return out
}

// connect creates d's client and makes its first connection.
func (f *Fleet) connect(ctx context.Context, d *simDevice) bool {
	o := f.opts
	log := f.log.With("device", d.ID)
	co := mqtt.NewClientOptions().
		AddBroker(o.Broker).
		SetClientID(d.ID).
		SetUsername(d.ID).
		SetPassword(d.Password).
		SetCleanSession(true).
		SetBinaryWill(statusTopic(d.ID), statusOffline, o.QoS, true).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(30 * time.Second).
		SetConnectTimeout(o.ConnectTimeout).
		SetKeepAlive(30 * time.Second).
		SetOrderMatters(false).
		SetOnConnectHandler(func(c mqtt.Client) {
			// On every (re)connect; the token completes on its own, nobody needs to wait.
			c.Publish(statusTopic(d.ID), o.QoS, true, statusOnline)
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			log.Warn("connection lost", "err", err)
		}).
		SetReconnectingHandler(func(mqtt.Client, *mqtt.ClientOptions) {
			log.Debug("reconnecting")
		})
	c := mqtt.NewClient(co)
	t := c.Connect()
	select {
	case <-t.Done():
	case <-ctx.Done():
		c.Disconnect(0)
		return false
	}
	if err := t.Error(); err != nil {
		log.Debug("connect failed", "err", err)
		f.firstConnErr.CompareAndSwap(nil, &connectError{id: d.ID, err: err})
		c.Disconnect(0)
		return false
	}
	d.client = c
	return true
}

// drive ticks d's generator every Rate and publishes its payloads until ctx is done.
func (f *Fleet) drive(ctx context.Context, d *simDevice, offset time.Duration) {
	o := f.opts
	wait := time.NewTimer(offset)
	select {
	case <-ctx.Done():
		wait.Stop()
		return
	case <-wait.C:
	}
	tick := time.NewTicker(o.Rate)
	defer tick.Stop()
	timeout := max(5*time.Second, o.Rate)
	lastErr := ""
	for {
		topic, payload := d.gen.Next(o.Now())
		if payload != nil {
			if !d.client.IsConnectionOpen() {
				f.skipped.Add(1)
			} else if err := f.publish(ctx, d.client, topic, payload, timeout); err != nil {
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					return
				}
				f.errs.Add(1)
				if msg := err.Error(); msg != lastErr {
					f.log.Warn("publish failed", "device", d.ID, "topic", topic, "err", err)
					lastErr = msg
				}
			} else {
				f.sent.Add(1)
				f.bytes.Add(uint64(len(payload)))
				lastErr = ""
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

var errPublishTimeout = errors.New("publish timed out")

// stopGrace is how long a publish in flight when the fleet stops may still complete.
const stopGrace = time.Second

// publish sends one message and waits for it to complete (its PUBACK at QoS 1). When ctx is
// done first it waits up to stopGrace more, so that the totals count what the broker took.
func (f *Fleet) publish(ctx context.Context, c mqtt.Client, topic string, payload []byte, timeout time.Duration) error {
	t := c.Publish(topic, f.opts.QoS, false, payload)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.Done():
		return t.Error()
	case <-timer.C:
		return fmt.Errorf("%w after %s", errPublishTimeout, timeout)
	case <-ctx.Done():
	}
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	select {
	case <-t.Done():
		return t.Error()
	case <-grace.C:
		return ctx.Err()
	}
}

// String formats s as a one-line progress report.
func (s Stats) String() string {
	return "sent=" + strconv.FormatUint(s.Sent, 10) +
		" errors=" + strconv.FormatUint(s.Errors, 10) +
		" skipped=" + strconv.FormatUint(s.Skipped, 10) +
		" connected=" + strconv.Itoa(s.Connected) + "/" + strconv.Itoa(s.Devices) +
		" rate=" + strconv.FormatFloat(s.PerSecond(), 'f', 1, 64) + " msg/s" +
		" elapsed=" + s.Elapsed.Round(100*time.Millisecond).String()
}
