package gateway

import (
	"fmt"
	"time"

	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// Config is the `mqtt` section of lanewatch.yaml: the embedded broker's listeners and limits.
type Config struct {
	Addr    string `yaml:"addr"`     // TCP listener; default 127.0.0.1:1883
	WSAddr  string `yaml:"ws_addr"`  // WebSocket listener; default 127.0.0.1:1884; "off" disables
	TLSAddr string `yaml:"tls_addr"` // optional TLS listener
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// Per-client limits (mochi); drops are counted in lanewatch_mqtt_dropped_total.
	MaxClientWritesPending int32  `yaml:"max_client_writes_pending"`
	ReceiveMaximum         uint16 `yaml:"receive_maximum"`
	MaxInflight            uint16 `yaml:"max_inflight"`
	MaxPacketBytes         uint32 `yaml:"max_packet_bytes"`
	MaxClients             int64  `yaml:"max_clients"`
	// MaxQueueBytes bounds the message bytes held for one subscriber; default 8 MiB.
	MaxQueueBytes int `yaml:"max_queue_bytes"`
	// ConnectTimeout closes a connection that sends no CONNECT within it; default 5s.
	ConnectTimeout yamlx.Duration `yaml:"connect_timeout"`
	// AuthFailureDelay is the first delay after a failed CONNECT from an address (doubles after).
	AuthFailureDelay yamlx.Duration `yaml:"auth_failure_delay"`
	// BcryptCost for device passwords; default 10 (devices package).
	BcryptCost int `yaml:"bcrypt_cost"`
	// Subscribers are non-device MQTT users (dashboards, bridges) allowed to subscribe.
	Subscribers []Subscriber `yaml:"subscribers"`
}

// Defaults fills the listen addresses left empty.
func (c *Config) Defaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:1883"
	}
	if c.WSAddr == "" {
		c.WSAddr = "127.0.0.1:1884"
	}
}

// Validate checks the settings that can be checked without I/O; errors name the key within
// the section.
func (c *Config) Validate() error {
	if (c.TLSAddr != "") != (c.TLSCert != "" && c.TLSKey != "") {
		return fmt.Errorf("tls_addr needs tls_cert and tls_key (and they need tls_addr)")
	}
	return nil
}

// Options returns the broker options the section sets (listeners, subscribers, limits); the
// caller adds the TLS certificate, the components and the registerer.
func (c *Config) Options() Options {
	ws := c.WSAddr
	if ws == "off" {
		ws = ""
	}
	return Options{TCPAddr: c.Addr, WSAddr: ws, TLSAddr: c.TLSAddr, Subscribers: c.Subscribers,
		MaxClientWritesPending: c.MaxClientWritesPending, ReceiveMaximum: c.ReceiveMaximum, MaxInflight: c.MaxInflight,
		MaxPacketSize: c.MaxPacketBytes, MaxClients: c.MaxClients, MaxQueueBytes: c.MaxQueueBytes, AuthFailureDelay: time.Duration(c.AuthFailureDelay),
		ConnectTimeout: time.Duration(c.ConnectTimeout)}
}

// PipelineConfig is the `pipeline` section of lanewatch.yaml.
type PipelineConfig struct {
	Workers        int   `yaml:"workers"`          // default 4
	QueueSize      int   `yaml:"queue_size"`       // per worker; default 256
	MaxLagBytes    int64 `yaml:"max_lag_bytes"`    // journal back-pressure bound; default 256 MiB (wal)
	DeadLetterKeep int   `yaml:"dead_letter_keep"` // default 10000
	// MaxHeldRecords: how many handled records coverage may keep uncommitted while it waits
	// for later points to place the ends of working stretches; default 1,000,000.
	MaxHeldRecords int64 `yaml:"max_held_records"`
	// Disabled switches the pipeline off (benchmarks: "broker only"): publishes are still
	// journalled and acknowledged, and the journal is drained and committed without decoding,
	// InfluxDB writes or rules (Drain).
	Disabled bool `yaml:"disabled"`
}

// Validate checks the section. Every value is accepted: zero or less means the default of
// the pipeline (and the journal for max_lag_bytes).
func (c *PipelineConfig) Validate() error { return nil }

// Options returns the pipeline options the section sets; the caller adds the components.
func (c *PipelineConfig) Options() PipelineOptions {
	return PipelineOptions{Workers: c.Workers, QueueSize: c.QueueSize, DeadLetterKeep: c.DeadLetterKeep,
		MaxHeldRecords: uint64(max(c.MaxHeldRecords, 0))}
}
