package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
)

// Store is the persistence the service needs (store.Store satisfies it).
type Store interface {
	CreateCommand(ctx context.Context, c *store.Command) error
	GetCommand(ctx context.Context, id string) (*store.Command, error)
	ListCommands(ctx context.Context, deviceID string, limit int, cursor string) ([]*store.Command, string, error)
	PendingCommands(ctx context.Context, deviceID string, now time.Time) ([]*store.Command, error)
	PendingCommandDevices(ctx context.Context, now time.Time) ([]string, error)
	UpdateCommand(ctx context.Context, id string, from []string, ch store.CommandChange) (*store.Command, error)
	ExpireCommands(ctx context.Context, now time.Time, limit int) ([]*store.Command, error)
}

// Publisher publishes a message from lanewatch to the broker's subscribers.
type Publisher interface {
	Publish(topic string, payload []byte, retain bool, qos byte) error
}

// Presence tells whether a device is connected to this node with a subscription to its
// command topics.
type Presence interface {
	CommandSubscriber(deviceID string) bool
}

// Transport delivers commands to devices that do not speak MQTT (JT/T 808 terminals): it maps
// a command to the device's own protocol, and passes the device's answer to CommandResponse.
type Transport interface {
	// CommandSubscriber reports whether the device is connected through this transport now.
	CommandSubscriber(deviceID string) bool
	// DeliverCommand sends one command.
	DeliverCommand(deviceID, id, name string, params json.RawMessage, ts time.Time) error
}

// Bus is a notification bus across nodes.
type Bus interface {
	Notify(ctx context.Context, channel, payload string) error
	// Listen calls fn with each payload on channel until ctx ends, and with "" after each
	// (re)connection.
	Listen(ctx context.Context, channel string, retry time.Duration, logger *slog.Logger, fn func(payload string)) error
}

// Channel is the notification channel of queued commands; the payload is the device id.
const Channel = "lanewatch_commands"

// Limits of a command.
const (
	DefaultTTL     = 10 * time.Minute
	MaxTTL         = 7 * 24 * time.Hour
	MinTTL         = time.Second
	MaxParamsBytes = 64 << 10
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Options configure a Service.
type Options struct {
	Store     Store
	Publisher Publisher
	Presence  Presence
	// Transports are tried before MQTT: the first that has the device connected delivers.
	Transports []Transport
	// Bus reaches the other nodes sharing the store (PostgreSQL LISTEN/NOTIFY,
	// *sqlstore.Postgres); nil on a single node. A command queued on one node for a device
	// not connected there is announced on Channel; every node delivers it if it holds the
	// device's connection.
	Bus Bus
	// Connected lists the devices connected to this node (MQTT and other transports), for
	// catching up after the bus reconnected; nil: no catch-up (a device gets what it missed
	// at its next subscription).
	Connected func() []string
	// ExpireInterval is how often Run expires commands past their TTL; default 5s.
	ExpireInterval time.Duration
	// SweepInterval is how often Run delivers the pending commands of the devices connected
	// here whether or not it was told of them (Sweep): a command whose announcement was lost
	// (the bus down between the store write and NOTIFY) still arrives; default 30s.
	SweepInterval time.Duration
	Registerer    prometheus.Registerer
	Logger        *slog.Logger
	Now           func() time.Time
}

// Service queues, delivers and tracks commands.
type Service struct {
	o      Options
	logger *slog.Logger
	total  *prometheus.CounterVec

	mu     sync.Mutex
	wake   map[string]bool // devices whose commands are to be delivered; true: the device (re)subscribed
	signal chan struct{}

	deliver sync.Mutex // serialises deliveries, so one command is not published twice at once
	// published holds, per device, the pending commands this node has published since the
	// device's last subscription here (deliver guards it). A command another node marked sent
	// is still published here: that node's connection may be dead on the network side only
	// while the device is subscribed here now.
	published map[string]map[string]bool
}

// New builds a Service; Run delivers and expires.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Publisher == nil || o.Presence == nil {
		return nil, errors.New("commands: Store, Publisher and Presence are required")
	}
	if o.ExpireInterval <= 0 {
		o.ExpireInterval = 5 * time.Second
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = 30 * time.Second
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{o: o, logger: o.Logger.With("component", "commands"), wake: map[string]bool{},
		signal: make(chan struct{}, 1), published: map[string]map[string]bool{}}
	s.total = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lanewatch_commands_total",
		Help: "Command status changes, by the status reached (queued, sent, acknowledged, failed, expired)."}, []string{"status"})
	if err := o.Registerer.Register(s.total); err != nil {
		return nil, fmt.Errorf("commands: register metrics: %w", err)
	}
	for _, st := range []string{store.CommandQueued, store.CommandSent, store.CommandAcknowledged, store.CommandFailed, store.CommandExpired} {
		s.total.WithLabelValues(st)
	}
	return s, nil
}

func invalid(format string, args ...any) error {
	return lanewatch.Errorf(lanewatch.EInvalid, format, args...)
}

// Validate checks a command's name, params and TTL and returns the params as stored (a JSON
// object; "{}" when absent) and the TTL (DefaultTTL when 0). Errors name the field.
func Validate(name string, params json.RawMessage, ttl time.Duration) (json.RawMessage, time.Duration, error) {
	if !nameRE.MatchString(name) {
		return nil, 0, invalid("name: %q must be 1..64 letters, digits, _ . - (it is a topic level)", name)
	}
	params = bytes.TrimSpace(params)
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("{}")
	}
	if len(params) > MaxParamsBytes {
		return nil, 0, invalid("params: %d bytes, more than %d", len(params), MaxParamsBytes)
	}
	var obj map[string]json.RawMessage
	if params[0] != '{' || json.Unmarshal(params, &obj) != nil {
		return nil, 0, invalid("params: must be a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, params); err != nil {
		return nil, 0, invalid("params: %v", err)
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < MinTTL || ttl > MaxTTL {
		return nil, 0, invalid("ttl: %s is outside %s..%s", ttl, MinTTL, MaxTTL)
	}
	return buf.Bytes(), ttl, nil
}

// Send validates and queues a command for deviceID (whose existence and the caller's right to
// command it the caller has checked) and wakes its delivery: at once when the device is
// connected here, and on every node through the Bus (this node's view may be stale: a
// connection dead on the network side only looks alive until its keepalive runs out, while the
// device is already connected to another node).
func (s *Service) Send(ctx context.Context, deviceID, name string, params json.RawMessage, ttl time.Duration, actor string) (*store.Command, error) {
	if !lanewatch.ValidDeviceID(deviceID) {
		return nil, invalid("device: %q is not a valid device id", deviceID)
	}
	params, ttl, err := Validate(name, params, ttl)
	if err != nil {
		return nil, err
	}
	now := s.o.Now().UTC()
	c := &store.Command{DeviceID: deviceID, Name: name, Params: params, Status: store.CommandQueued, Actor: actor,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(ttl),
		History: []store.CommandEvent{{Status: store.CommandQueued, At: now, Note: actor}}}
	if err := s.o.Store.CreateCommand(ctx, c); err != nil {
		return nil, fmt.Errorf("queue command: %w", err)
	}
	s.total.WithLabelValues(store.CommandQueued).Inc()
	s.logger.Info("command queued", "device", deviceID, "command", c.ID, "name", name, "by", actor)
	if s.connected(deviceID) != nil {
		s.Wake(deviceID)
	}
	if s.o.Bus != nil {
		if err := s.o.Bus.Notify(ctx, Channel, deviceID); err != nil {
			// It is queued: it goes out when the device next subscribes to its commands.
			s.logger.Warn("announce command", "device", deviceID, "err", err)
		}
	}
	return c, nil
}

// Get returns one command of a device; ENotFound if it has no such command.
func (s *Service) Get(ctx context.Context, deviceID, id string) (*store.Command, error) {
	c, err := s.o.Store.GetCommand(ctx, id)
	if err == nil && c.DeviceID != deviceID {
		err = lanewatch.Errorf(lanewatch.ENotFound, "device %q has no command %q", deviceID, id)
	}
	return c, err
}

// List returns a device's commands, newest first.
func (s *Service) List(ctx context.Context, deviceID string, limit int, cursor string) ([]*store.Command, string, error) {
	return s.o.Store.ListCommands(ctx, deviceID, limit, cursor)
}

// Wake schedules delivery of deviceID's queued commands on Run's goroutine (a new command,
// here or on another node); it never blocks.
func (s *Service) Wake(deviceID string) { s.wakeUp(deviceID, false) }

// CommandsSubscribed is the broker's notice that a device subscribed to its command topics
// (a connection or reconnection): everything still pending for it, sent before or not, is
// delivered (again).
func (s *Service) CommandsSubscribed(deviceID string) { s.wakeUp(deviceID, true) }

func (s *Service) wakeUp(deviceID string, redeliver bool) {
	s.mu.Lock()
	s.wake[deviceID] = s.wake[deviceID] || redeliver
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// Delivery is the payload published on devices/{id}/commands/{name}.
type Delivery struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	Params json.RawMessage `json:"params"`
	TS     time.Time       `json:"ts"`
}

// Deliver publishes, oldest first, the pending (queued or sent, unanswered) commands of
// deviceID that this node has not published since the device's last subscription here (with
// redeliver, the device has just (re)subscribed: all of them), if the device is connected here,
// and records each as sent. A command sent by another node is published too: the device may
// have left that node's connection for this one. It returns how many it published.
func (s *Service) Deliver(ctx context.Context, deviceID string, redeliver bool) (int, error) {
	s.deliver.Lock()
	defer s.deliver.Unlock()
	tr := s.connected(deviceID)
	if tr == nil || redeliver {
		delete(s.published, deviceID)
	}
	if tr == nil {
		return 0, nil
	}
	now := s.o.Now().UTC()
	pending, err := s.o.Store.PendingCommands(ctx, deviceID, now)
	if err != nil {
		return 0, fmt.Errorf("deliver to %s: %w", deviceID, err)
	}
	done := s.published[deviceID]
	kept := map[string]bool{} // done, less what is no longer pending, plus what is published now
	for _, c := range pending {
		if done[c.ID] {
			kept[c.ID] = true
		}
	}
	defer func() {
		if len(kept) == 0 {
			delete(s.published, deviceID)
		} else {
			s.published[deviceID] = kept
		}
	}()
	n := 0
	for _, c := range pending {
		if done[c.ID] {
			continue // on its way on this subscription: QoS 1 (or the terminal) takes it from here
		}
		// Recorded before it is published: the device's answer can then never arrive before
		// the attempt it answers (it would be refused as a late sent→sent change and the
		// attempt lost), and a command answered or expired meanwhile is not published again.
		note := ""
		if c.Attempts > 0 {
			note = fmt.Sprintf("redelivery %d", c.Attempts)
		}
		_, err = s.o.Store.UpdateCommand(ctx, c.ID, []string{store.CommandQueued, store.CommandSent},
			store.CommandChange{Status: store.CommandSent, At: now, Note: note})
		switch lanewatch.ErrorCode(err) {
		case "":
			s.total.WithLabelValues(store.CommandSent).Inc()
		case lanewatch.EConflict: // answered or expired meanwhile
			continue
		default:
			return n, fmt.Errorf("record command %s sent: %w", c.ID, err)
		}
		// A publish that fails leaves the command sent and not published here: Run tries again.
		if err := tr.DeliverCommand(deviceID, c.ID, c.Name, c.Params, now); err != nil {
			return n, fmt.Errorf("deliver command %s: %w", c.ID, err)
		}
		kept[c.ID] = true
		n++
	}
	if n > 0 {
		s.logger.Debug("commands delivered", "device", deviceID, "n", n)
	}
	return n, nil
}

// connected returns the transport through which deviceID is connected, nil when none.
func (s *Service) connected(deviceID string) Transport {
	for _, t := range s.o.Transports {
		if t.CommandSubscriber(deviceID) {
			return t
		}
	}
	if s.o.Presence.CommandSubscriber(deviceID) {
		return mqttTransport{s.o.Publisher}
	}
	return nil
}

// mqttTransport publishes a command on devices/{id}/commands/{name} (QoS 1).
type mqttTransport struct{ p Publisher }

func (mqttTransport) CommandSubscriber(string) bool { return true }

func (m mqttTransport) DeliverCommand(deviceID, id, name string, params json.RawMessage, ts time.Time) error {
	b, err := json.Marshal(Delivery{ID: id, Name: name, Params: params, TS: ts})
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return m.p.Publish("devices/"+deviceID+"/commands/"+name, b, false, 1)
}

// Response is the payload a device publishes on devices/{id}/responses/{command id}.
type Response struct {
	OK     *bool           `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
}

// CommandResponse records a device's answer: acknowledged when ok, failed otherwise. An answer
// to a command already answered (a resent QoS 1 answer) changes nothing and is no error; an
// answer to another device's or an unknown command is ENotFound, a malformed one EInvalid.
func (s *Service) CommandResponse(ctx context.Context, deviceID, commandID string, payload []byte) error {
	var r Response
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&r); err != nil {
		return invalid("response to command %s: not a JSON object {\"ok\": bool, \"result\": {...}}: %v", commandID, err)
	}
	if r.OK == nil {
		return invalid("response to command %s: ok is required", commandID)
	}
	if len(r.Result) > 0 && r.Result[0] != '{' && string(r.Result) != "null" {
		return invalid("response to command %s: result must be a JSON object", commandID)
	}
	c, err := s.Get(ctx, deviceID, commandID)
	if err != nil {
		return err
	}
	status := store.CommandFailed
	if *r.OK {
		status = store.CommandAcknowledged
	}
	stored, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	_, err = s.o.Store.UpdateCommand(ctx, c.ID, []string{store.CommandQueued, store.CommandSent},
		store.CommandChange{Status: status, At: s.o.Now().UTC(), Result: stored})
	switch lanewatch.ErrorCode(err) {
	case "":
		s.total.WithLabelValues(status).Inc()
		s.logger.Info("command answered", "device", deviceID, "command", c.ID, "status", status)
		return nil
	case lanewatch.EConflict:
		return nil // answered (or expired) already
	}
	return err
}

// Expire moves every pending command past its TTL to expired and returns how many.
func (s *Service) Expire(ctx context.Context) (int, error) {
	n := 0
	for {
		cs, err := s.o.Store.ExpireCommands(ctx, s.o.Now().UTC(), store.MaxLimit)
		if err != nil {
			return n, err
		}
		n += len(cs)
		s.total.WithLabelValues(store.CommandExpired).Add(float64(len(cs)))
		for _, c := range cs {
			s.logger.Info("command expired", "device", c.DeviceID, "command", c.ID, "name", c.Name)
		}
		if len(cs) < store.MaxLimit {
			return n, nil
		}
	}
}

// Sweep wakes every device connected here that has a pending command, and returns how many:
// the safety net under the bus's announcements. Without Connected it does nothing.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	if s.o.Connected == nil {
		return 0, nil
	}
	devs, err := s.o.Store.PendingCommandDevices(ctx, s.o.Now())
	if err != nil || len(devs) == 0 {
		return 0, err
	}
	here := map[string]bool{}
	for _, d := range s.o.Connected() {
		here[d] = true
	}
	n := 0
	for _, d := range devs {
		if here[d] {
			s.Wake(d)
			n++
		}
	}
	return n, nil
}

// Run delivers woken devices' commands and expires old ones until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if s.o.Bus != nil {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			_ = s.o.Bus.Listen(ctx, Channel, 0, s.logger, func(dev string) {
				if dev != "" {
					s.Wake(dev)
					return
				}
				if s.o.Connected != nil {
					for _, d := range s.o.Connected() {
						s.Wake(d)
					}
				}
			})
		}()
	}
	t := time.NewTicker(s.o.ExpireInterval)
	defer t.Stop()
	sweep := time.NewTicker(s.o.SweepInterval)
	defer sweep.Stop()
	retry := map[string]bool{} // deliveries that failed, tried again at the next tick
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := s.Expire(ctx); err != nil && ctx.Err() == nil {
				s.logger.Warn("expire commands", "err", err)
			}
			for d, all := range retry {
				s.wakeUp(d, all)
			}
			clear(retry)
		case <-sweep.C:
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.logger.Warn("sweep pending commands", "err", err)
			}
		case <-s.signal:
			s.mu.Lock()
			devs := s.wake
			s.wake = map[string]bool{}
			s.mu.Unlock()
			for d, all := range devs {
				if _, err := s.Deliver(ctx, d, all); err != nil && ctx.Err() == nil {
					s.logger.Warn("deliver commands", "device", d, "err", err)
					retry[d] = retry[d] || all
				}
			}
		}
	}
}
