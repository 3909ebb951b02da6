package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// Importer delivers a message from another node to this node's subscribers
// (gateway.Broker.ImportRemote).
type Importer interface {
	ImportRemote(topic string, payload []byte, qos byte, retain bool) error
}

// Config is the `bridge` section of lanewatch.yaml.
type Config struct {
	// NATSURL is the NATS server (nats://127.0.0.1:4222); "" disables the fan-out.
	NATSURL string `yaml:"nats_url"`
	// Subject is the subject prefix; default "lanewatch.mqtt". Nodes that share it share
	// their subscribers' view.
	Subject string `yaml:"subject"`
}

// Validate checks the section.
func (c *Config) Validate() error {
	if c.NATSURL != "" && !strings.HasPrefix(c.NATSURL, "nats://") && !strings.HasPrefix(c.NATSURL, "tls://") {
		return fmt.Errorf("nats_url: %q must start with nats:// or tls://", c.NATSURL)
	}
	if strings.ContainsAny(c.Subject, " *>") || strings.HasPrefix(c.Subject, ".") || strings.HasSuffix(c.Subject, ".") {
		return fmt.Errorf("subject: %q is not a NATS subject prefix", c.Subject)
	}
	return nil
}

// Options configure a Bridge.
type Options struct {
	Config
	// Node is this node's id (node.id), carried by every exported message.
	Node       string
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Header keys of an exported message.
const (
	hdrNode   = "Lw-Node"
	hdrTopic  = "Lw-Topic"
	hdrQoS    = "Lw-Qos"
	hdrRetain = "Lw-Retain"
)

// Bridge is one node's connection to the NATS fan-out.
type Bridge struct {
	o      Options
	logger *slog.Logger
	nc     *nats.Conn

	exported, imported prometheus.Counter
	errs               *prometheus.CounterVec
}

// New connects to NATS (reconnecting for ever when the connection breaks). Messages exported
// while it is down are dropped and counted.
func New(o Options) (*Bridge, error) {
	if o.NATSURL == "" || o.Node == "" {
		return nil, errors.New("bridge: nats_url and the node id are required")
	}
	if err := o.Config.Validate(); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	if o.Subject == "" {
		o.Subject = "lanewatch.mqtt"
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bridge{o: o, logger: o.Logger.With("component", "bridge")}
	b.exported = prometheus.NewCounter(prometheus.CounterOpts{Name: "lanewatch_bridge_exported_total", Help: "MQTT messages published to the other nodes (NATS)."})
	b.imported = prometheus.NewCounter(prometheus.CounterOpts{Name: "lanewatch_bridge_imported_total", Help: "MQTT messages of other nodes delivered to this node's subscribers."})
	b.errs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lanewatch_bridge_errors_total", Help: "Messages the fan-out dropped, by where."}, []string{"stage"})
	for _, c := range []prometheus.Collector{b.exported, b.imported, b.errs} {
		if err := o.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("bridge: register metrics: %w", err)
		}
	}
	nc, err := nats.Connect(o.NATSURL, nats.Name("lanewatch "+o.Node), nats.NoEcho(), nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second), nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { b.logger.Warn("nats disconnected", "err", err) }),
		nats.ReconnectHandler(func(*nats.Conn) { b.logger.Info("nats reconnected") }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			b.errs.WithLabelValues("nats").Inc()
			b.logger.Warn("nats", "err", err)
		}))
	if err != nil {
		return nil, fmt.Errorf("bridge: connect %s: %w", o.NATSURL, err)
	}
	b.nc = nc
	return b, nil
}

// Subject returns the NATS subject of an MQTT topic: the prefix, then each topic level with
// '%', '.', '*', '>' and space percent-encoded ("%" alone for an empty level).
func Subject(prefix, topic string) string {
	var sb strings.Builder
	sb.Grow(len(prefix) + len(topic) + 8)
	sb.WriteString(prefix)
	for _, lvl := range strings.Split(topic, "/") {
		sb.WriteByte('.')
		if lvl == "" {
			sb.WriteByte('%')
			continue
		}
		for i := 0; i < len(lvl); i++ {
			switch c := lvl[i]; c {
			case '%', '.', '*', '>', ' ', '\t', '\r', '\n':
				fmt.Fprintf(&sb, "%%%02X", c)
			default:
				sb.WriteByte(c)
			}
		}
	}
	return sb.String()
}

// Export publishes a delivered message to the other nodes; it never blocks on the network
// (the NATS client buffers, and drops when its buffer is full).
func (b *Bridge) Export(topic string, payload []byte, qos byte, retain bool) {
	m := nats.NewMsg(Subject(b.o.Subject, topic))
	m.Data = payload
	m.Header.Set(hdrNode, b.o.Node)
	m.Header.Set(hdrTopic, topic)
	m.Header.Set(hdrQoS, strconv.Itoa(int(qos)))
	if retain {
		m.Header.Set(hdrRetain, "1")
	}
	if err := b.nc.PublishMsg(m); err != nil {
		b.errs.WithLabelValues("export").Inc()
		return
	}
	b.exported.Inc()
}

// Run delivers the other nodes' messages to imp until ctx ends, then closes the connection.
func (b *Bridge) Run(ctx context.Context, imp Importer) error {
	sub, err := b.nc.Subscribe(b.o.Subject+".>", func(m *nats.Msg) {
		if m.Header.Get(hdrNode) == b.o.Node {
			return // our own (NoEcho makes this rare: a second connection with our id)
		}
		topic := m.Header.Get(hdrTopic)
		qos, err := strconv.Atoi(m.Header.Get(hdrQoS))
		if topic == "" || err != nil || qos < 0 || qos > 1 || strings.ContainsAny(topic, "+#") {
			b.errs.WithLabelValues("malformed").Inc()
			return
		}
		if err := imp.ImportRemote(topic, m.Data, byte(qos), m.Header.Get(hdrRetain) == "1"); err != nil {
			b.errs.WithLabelValues("import").Inc()
			b.logger.Warn("import", "topic", topic, "err", err)
			return
		}
		b.imported.Inc()
	})
	if err != nil {
		b.nc.Close()
		return fmt.Errorf("bridge: subscribe: %w", err)
	}
	// Generous pending limits: subscribers' own queues bound memory after this.
	_ = sub.SetPendingLimits(1<<16, 64<<20)
	<-ctx.Done()
	_ = sub.Unsubscribe()
	b.nc.Close()
	return nil
}

// Flush waits (at most 10 s) until NATS has every message exported so far (for tests and
// shutdown).
func (b *Bridge) Flush(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return b.nc.FlushWithContext(ctx)
}

// Ready reports whether the NATS connection is up (for /readyz).
func (b *Bridge) Ready() error {
	if !b.nc.IsConnected() {
		return errors.New("nats not connected")
	}
	return nil
}
