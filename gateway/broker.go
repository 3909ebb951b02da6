package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/ratelimit"
)

// Authenticator checks a device's credentials.
type Authenticator interface {
	Authenticate(ctx context.Context, id, password string) (*lanewatch.Device, error)
}

// DeviceLookup returns cached device attributes and records presence.
type DeviceLookup interface {
	Lookup(ctx context.Context, id string) (*lanewatch.Device, error)
	Touch(id string, at time.Time)
	SetOnline(id string, online bool, at time.Time)
}

// Journal is the durable log: the publish hook appends, the pipeline consumes.
type Journal interface {
	// Append adds a record; with durable set it returns only once the record is synced to disk.
	// It blocks while the consumer is too far behind (back-pressure).
	Append(ctx context.Context, rec []byte, durable bool) (uint64, error)
}

// Subscriber is a non-device MQTT user (a dashboard or bridge) that may subscribe to the topic
// filters in Allow and may not publish.
type Subscriber struct {
	Username string `yaml:"username"`
	// PasswordHash is a bcrypt hash.
	PasswordHash string `yaml:"password_hash"`
	// Allow are topic filters, e.g. vehicles/+/telemetry.
	Allow []string `yaml:"allow"`
}

// Options configure a Broker.
type Options struct {
	TCPAddr string // "" disables
	WSAddr  string // "" disables
	TLSAddr string // "" disables; needs TLS
	TLS     *tls.Config

	Auth        Authenticator
	Devices     DeviceLookup
	Journal     Journal
	Subscribers []Subscriber
	// CheckSubscriber verifies a subscriber's password against its hash.
	CheckSubscriber func(hash, password string) bool
	// Commands receives command subscriptions and responses (SPEC 3.1); nil: none.
	Commands CommandSink
	// Fanout exports delivered messages to other nodes; nil: this node's subscribers only.
	Fanout Fanout

	// Per-client limits of mochi (SPEC 3: lanewatch sets them and counts every drop).
	MaxClientWritesPending int32  // outbound queue per WebSocket client (TCP/TLS: none, see asyncConn); default 1024
	ReceiveMaximum         uint16 // concurrent inbound QoS>0 per client; default 256
	MaxInflight            uint16 // stored outbound QoS>0 per client; default 1024
	MaxPacketSize          uint32 // default 256 KiB (SPEC 3.3); a larger packet is refused before it is read
	MaxClients             int64  // default unlimited
	// MaxQueueBytes bounds the message bytes held for one subscribing client (queued QoS 0,
	// unacknowledged QoS 1 and 2; SPEC 3.3); beyond it messages for that client are dropped and
	// counted (lanewatch_mqtt_dropped_total{reason="queue_bytes"}). Default DefaultMaxQueueBytes.
	MaxQueueBytes int

	// ConnectTimeout closes a TCP/TLS connection that has not sent its CONNECT within it
	// (SPEC 3.3); default 5 s. After CONNECT the keep-alive governs.
	ConnectTimeout time.Duration
	// MaxConnectSize bounds the first packet (CONNECT) of a TCP/TLS connection, checked as its
	// length arrives and before mochi allocates for it; default 8 KiB.
	MaxConnectSize int
	// MaxPendingPerAddress bounds the connections of one address that have not finished
	// authentication (CONNECT not yet read, password being checked or its refusal held); more
	// are closed at accept (lanewatch_mqtt_connect_refused_total{reason="pending"}). Default 512
	// (a reconnect storm of hundreds of devices behind one NAT passes).
	MaxPendingPerAddress int
	// Listen opens the TCP and TLS listening sockets; default net.Listen (tests wrap it to inject
	// Accept errors).
	Listen func(network, address string) (net.Listener, error)

	// AuthFailureDelay is the base delay after a failed CONNECT from an address; it doubles with
	// each further failure from that address within AuthFailureWindow, up to 5 s.
	AuthFailureDelay  time.Duration // default 200ms
	AuthFailureWindow time.Duration // default 1m
	// MaxAuthChecks bounds the password checks running at once across all connections; default
	// GOMAXPROCS. An address that failed AuthFailureBurst times (default 5) within
	// AuthFailureWindow gets AuthRetryPerSecond checks per second (default 1), all its
	// connections together, until a success or a quiet window.
	MaxAuthChecks      int
	AuthFailureBurst   int
	AuthRetryPerSecond int

	// RetainedPerDevice and RetainedBytesPerDevice bound the retained messages a device keeps
	// in the broker; defaults 8 topics and 64 KiB. A retained publish beyond them is delivered
	// but not retained (lanewatch_mqtt_retained_refused_total).
	RetainedPerDevice      int
	RetainedBytesPerDevice int
	// Sleep waits d or until ctx is done; the auth-failure delay goes through it (tests record
	// the delays instead of waiting). Default: a timer.
	Sleep func(ctx context.Context, d time.Duration)

	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

func (o *Options) defaults() {
	if o.MaxClientWritesPending == 0 {
		o.MaxClientWritesPending = 1024
	}
	if o.ReceiveMaximum == 0 {
		o.ReceiveMaximum = 256
	}
	if o.MaxInflight == 0 {
		o.MaxInflight = 1024
	}
	if o.MaxQueueBytes <= 0 {
		o.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if o.MaxPacketSize == 0 {
		o.MaxPacketSize = DefaultMaxPacketSize
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.MaxPendingPerAddress <= 0 {
		o.MaxPendingPerAddress = 512
	}
	if o.MaxConnectSize <= 0 {
		o.MaxConnectSize = 8 << 10
	}
	if o.Listen == nil {
		o.Listen = net.Listen
	}
	if o.AuthFailureDelay == 0 {
		o.AuthFailureDelay = 200 * time.Millisecond
	}
	if o.AuthFailureWindow == 0 {
		o.AuthFailureWindow = time.Minute
	}
	if o.RetainedPerDevice <= 0 {
		o.RetainedPerDevice = 8
	}
	if o.RetainedBytesPerDevice <= 0 {
		o.RetainedBytesPerDevice = 64 << 10
	}
	if o.MaxAuthChecks <= 0 {
		o.MaxAuthChecks = runtime.GOMAXPROCS(0)
	}
	if o.AuthFailureBurst <= 0 {
		o.AuthFailureBurst = 5
	}
	if o.AuthRetryPerSecond <= 0 {
		o.AuthRetryPerSecond = 1
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
}

// DefaultMaxPacketSize is the largest MQTT packet accepted unless configured (SPEC 3.3).
const DefaultMaxPacketSize = 256 << 10

// Broker is the embedded MQTT broker with lanewatch's hooks.
type Broker struct {
	opts   Options
	srv    *mqtt.Server
	logger *slog.Logger
	m      *brokerMetrics
	subs   map[string]Subscriber

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	failures *ratelimit.Failures // failed CONNECTs by remote IP
	gate     *authGate           // password checks per address and at once
	logs     *rateLog            // warnings an attacker can repeat, once per minute per key
	retained *retainedLimits
	ackers   map[*mqtt.Client]*acker // QoS 1 publishers waiting for syncs
	ackWG    sync.WaitGroup
	fanout   *fanoutHook
	queue    *queueBytesHook

	tcpListeners []*tcpListener // set by Start
	reads        *readPool      // read buffers lent to busy connections (lazyread.go)
	wsListeners  []*wsListener

	pmu     sync.Mutex
	pending map[string]int // connections per address awaiting authentication
}

// closeListenerClients disconnects the clients of a listener at shutdown, as mochi's does, but
// through Clients.GetAll: mochi's Clients.GetByListener takes its read lock twice (via Len) and
// deadlocks when a client connects or disconnects at that moment.
func (b *Broker) closeListenerClients(id string) {
	for _, cl := range b.srv.Clients.GetAll() {
		if cl.Net.Listener == id && !cl.Closed() {
			_ = b.srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
}

// admit counts a new connection of ip awaiting authentication; false when ip has
// MaxPendingPerAddress already.
func (b *Broker) admit(ip string) (func(), bool) {
	b.pmu.Lock()
	defer b.pmu.Unlock()
	if b.pending[ip] >= b.opts.MaxPendingPerAddress {
		b.m.connectRefused.WithLabelValues("pending").Inc()
		return nil, false
	}
	b.pending[ip]++
	return func() {
		b.pmu.Lock()
		defer b.pmu.Unlock()
		if b.pending[ip]--; b.pending[ip] <= 0 {
			delete(b.pending, ip)
		}
	}, true
}

// NewBroker builds a broker; Start begins listening.
func NewBroker(o Options) (*Broker, error) {
	o.defaults()
	if o.Auth == nil || o.Devices == nil || o.Journal == nil {
		return nil, errors.New("gateway: Auth, Devices and Journal are required")
	}
	if o.TLSAddr != "" && o.TLS == nil {
		return nil, errors.New("gateway: TLSAddr needs a TLS config")
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = o.MaxClientWritesPending
	caps.ReceiveMaximum = o.ReceiveMaximum
	caps.MaximumInflight = o.MaxInflight
	caps.MaximumPacketSize = o.MaxPacketSize
	if o.MaxClients > 0 {
		caps.MaximumClients = o.MaxClients
	}
	caps.MaximumSessionExpiryInterval = 24 * 3600
	logger := o.Logger.With("component", "gateway")
	srv := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		InlineClient: true,
		// The smallest bufio.Reader per client; busy connections borrow a pooled buffer
		// (lazyread.go).
		ClientNetReadBufferSize: mochiReadBuffer,
		// mochi logs every client disconnect as a warning; lanewatch logs what matters itself.
		Logger: slog.New(mochiLogHandler{logger.With("sub", "mochi").Handler()}),
	})
	b := &Broker{
		opts: o, srv: srv, logger: logger, subs: map[string]Subscriber{},
		failures: ratelimit.NewFailures(o.AuthFailureWindow, 0), ackers: map[*mqtt.Client]*acker{},
		gate:     newAuthGate(o.MaxAuthChecks, o.AuthRetryPerSecond, o.AuthFailureBurst, o.AuthFailureWindow),
		logs:     newRateLog(logger, o.Now),
		pending:  map[string]int{},
		retained: newRetainedLimits(o.RetainedPerDevice, o.RetainedBytesPerDevice),
		reads:    newReadPool(o.Now),
	}
	for _, s := range o.Subscribers {
		b.subs[s.Username] = s
	}
	var err error
	if b.m, err = newBrokerMetrics(o.Registerer, srv); err != nil {
		return nil, err
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	if err := srv.AddHook(&hook{b: b}, nil); err != nil {
		return nil, fmt.Errorf("add hook: %w", err)
	}
	if err := b.addCommandHook(); err != nil {
		return nil, fmt.Errorf("add command hook: %w", err)
	}
	if err := b.addFanoutHook(); err != nil {
		return nil, fmt.Errorf("add fanout hook: %w", err)
	}
	if err := b.addQueueBytesHook(); err != nil {
		return nil, fmt.Errorf("add queue bytes hook: %w", err)
	}
	return b, nil
}

// Start opens the listeners and serves until Close.
func (b *Broker) Start() error {
	add := func(id, addr string, mk func(listeners.Config) listeners.Listener, tlsc *tls.Config) error {
		if addr == "" {
			return nil
		}
		ln := mk(listeners.Config{ID: id, Address: addr, TLSConfig: tlsc})
		if err := b.srv.AddListener(ln); err != nil {
			return fmt.Errorf("listen %s on %s: %w", id, addr, err)
		}
		return nil
	}
	tcp := func(c listeners.Config) listeners.Listener {
		l := &tcpListener{id: c.ID, address: c.Address, tlsc: c.TLSConfig, listen: b.opts.Listen,
			preConnect: b.opts.ConnectTimeout, maxConnect: b.opts.MaxConnectSize, now: b.opts.Now, reads: b.reads,
			onError: func(error) { b.m.acceptErrors.WithLabelValues(c.ID).Inc() }, admit: b.admit,
			closeClients: b.closeListenerClients, writeBuffer: 2*b.opts.MaxQueueBytes + int(b.opts.MaxPacketSize),
			onOverflow: b.m.writeOverflows.Inc}
		b.mu.Lock()
		b.tcpListeners = append(b.tcpListeners, l)
		b.mu.Unlock()
		return l
	}
	ws := func(c listeners.Config) listeners.Listener {
		l := &wsListener{Listener: listeners.NewWebsocket(c), preConnect: b.opts.ConnectTimeout,
			maxConnect: b.opts.MaxConnectSize, now: b.opts.Now, reads: b.reads, admit: b.admit, closeClients: b.closeListenerClients}
		b.mu.Lock()
		b.wsListeners = append(b.wsListeners, l)
		b.mu.Unlock()
		return l
	}
	if err := add("tcp", b.opts.TCPAddr, tcp, nil); err != nil {
		return err
	}
	if err := add("ws", b.opts.WSAddr, ws, nil); err != nil {
		return err
	}
	if err := add("tls", b.opts.TLSAddr, tcp, b.opts.TLS); err != nil {
		return err
	}
	if err := b.srv.Serve(); err != nil {
		return fmt.Errorf("serve mqtt: %w", err)
	}
	return nil
}

// Addr returns the configured address of a listener ("tcp", "ws" or "tls").
func (b *Broker) Addr(id string) string {
	switch id {
	case "tcp":
		return b.opts.TCPAddr
	case "ws":
		return b.opts.WSAddr
	case "tls":
		return b.opts.TLSAddr
	}
	return ""
}

// Publish sends a message from lanewatch itself (for example a command to a device).
func (b *Broker) Publish(topic string, payload []byte, retain bool, qos byte) error {
	return b.srv.Publish(topic, payload, retain, qos)
}

// Clients returns the number of connected clients.
func (b *Broker) Clients() int { return b.srv.Clients.Len() }

// ListenerAddr returns the bound address of a started TCP or TLS listener ("tcp", "tls"),
// or "" if there is none.
func (b *Broker) ListenerAddr(id string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.tcpListeners {
		if l.id == id && l.ln != nil {
			return l.ln.Addr().String()
		}
	}
	return ""
}

// Ready reports whether the broker is serving: not closed, and every TCP/TLS listener able to
// accept (one whose last Accept failed, e.g. out of file descriptors, makes it not ready).
func (b *Broker) Ready() error {
	if b.ctx.Err() != nil {
		return errors.New("broker closed")
	}
	b.mu.Lock()
	ls := b.tcpListeners
	b.mu.Unlock()
	var errs []error
	for _, l := range ls {
		if err := l.ready(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close stops accepting connections, disconnects clients and stops the broker. Publish hooks
// that are blocked on the journal are released.
func (b *Broker) Close() error {
	b.cancel()
	b.mu.Lock()
	ls, wls := b.tcpListeners, b.wsListeners
	b.mu.Unlock()
	for _, l := range ls {
		l.stopAccepting()
	}
	for _, l := range wls {
		l.waitStarted()
	}
	if err := b.srv.Close(); err != nil {
		return fmt.Errorf("close mqtt: %w", err)
	}
	b.ackWG.Wait()
	return nil
}

// mochiLogHandler passes on only mochi's errors.
type mochiLogHandler struct{ slog.Handler }

func (h mochiLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError && h.Handler.Enabled(ctx, l)
}

func (h mochiLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return mochiLogHandler{h.Handler.WithAttrs(as)}
}

func (h mochiLogHandler) WithGroup(name string) slog.Handler {
	return mochiLogHandler{h.Handler.WithGroup(name)}
}
