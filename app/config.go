package app

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch/cluster"
	"github.com/lanewatch/lanewatch/coverage"
	"github.com/lanewatch/lanewatch/internal/fetch"
	"github.com/lanewatch/lanewatch/internal/yamlx"
)

// Config is the format of configs/lanewatch.yaml. Relative paths are resolved against the
// directory of the config file.
type Config struct {
	// TimeZone for schedules, working calendars and daily figures; default Asia/Shanghai.
	TimeZone string `yaml:"time_zone"`
	// DataDir holds the journal, the InfluxDB spool, the SQLite database and attachments.
	DataDir string `yaml:"data_dir"`

	MQTT     MQTTConfig     `yaml:"mqtt"`
	HTTP     HTTPConfig     `yaml:"http"`
	Influx   InfluxConfig   `yaml:"influx"`
	Store    StoreConfig    `yaml:"store"`
	Pipeline PipelineConfig `yaml:"pipeline"`
	// Dispatch is the case lifecycle section: routing, districts, notifications, Open311.
	Dispatch DispatchConfig `yaml:"dispatch"`
	// Coverage is the road network and mechanization section (coverage package).
	Coverage coverage.Config `yaml:"coverage"`

	// DevicesFile seeds the device registry (configs/devices.yaml).
	DevicesFile string `yaml:"devices_file"`
	// CategoriesFile is the case category catalog (configs/categories.yaml).
	CategoriesFile string `yaml:"categories_file"`
	// RulesDir holds the rule files (configs/rules).
	RulesDir string `yaml:"rules_dir"`
	// CamerasFile is the camera registry extras, incident grouping and vendor code maps
	// (configs/cameras.yaml); optional.
	CamerasFile string `yaml:"cameras_file"`
	// PlaquesFile is the responsibility plaque registry (configs/plaques.yaml); optional.
	PlaquesFile string `yaml:"plaques_file"`

	Log LogConfig `yaml:"log"`
	// Node is this process's identity among several nodes sharing one PostgreSQL (cluster package).
	Node cluster.Config `yaml:"node"`

	// DebugAddr, when set, serves net/http/pprof on this address (opt-in, for profiling;
	// keep it on localhost).
	DebugAddr string `yaml:"debug_addr"`

	// path is the file the config was read from.
	path string
}

// MQTTConfig configures the embedded broker.
type MQTTConfig struct {
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
	// AuthFailureDelay is the first delay after a failed CONNECT from an address (doubles after).
	AuthFailureDelay yamlx.Duration `yaml:"auth_failure_delay"`
	// BcryptCost for device passwords; default 10.
	BcryptCost int `yaml:"bcrypt_cost"`
	// Subscribers are non-device MQTT users (dashboards, bridges) allowed to subscribe.
	Subscribers []SubscriberConfig `yaml:"subscribers"`
}

// SubscriberConfig is a read-only MQTT user.
type SubscriberConfig struct {
	Username     string   `yaml:"username"`
	PasswordHash string   `yaml:"password_hash"` // bcrypt
	Allow        []string `yaml:"allow"`         // topic filters, e.g. vehicles/+/telemetry
}

// HTTPConfig configures the API and console.
type HTTPConfig struct {
	Addr   string        `yaml:"addr"` // default 127.0.0.1:8080
	Tokens []TokenConfig `yaml:"tokens"`
	// MaxBodyBytes bounds JSON request bodies; default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// TLSCert and TLSKey (PEM files) switch the HTTP listener to HTTPS.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
}

// TokenConfig is one API bearer token. Give the token itself or the name of an environment
// variable holding it.
type TokenConfig struct {
	Name     string `yaml:"name"`
	Token    string `yaml:"token"`
	TokenEnv string `yaml:"token_env"`
	// Role: admin | operator | department:ID | contractor:ID | viewer
	Role string `yaml:"role"`
}

// InfluxConfig configures the time-series sink.
type InfluxConfig struct {
	URL           string         `yaml:"url"` // default http://127.0.0.1:8086
	Token         string         `yaml:"token"`
	Org           string         `yaml:"org"`
	Bucket        string         `yaml:"bucket"`       // default lanewatch/autogen
	BatchPoints   int            `yaml:"batch_points"` // points per write request; default 5000
	Writers       int            `yaml:"writers"`      // concurrent write requests; default 2
	FlushInterval yamlx.Duration `yaml:"flush_interval"`
	MaxSpoolBytes int64          `yaml:"max_spool_bytes"`
}

// StoreConfig selects the relational store.
type StoreConfig struct {
	Driver string `yaml:"driver"` // sqlite (default) | postgres
	Path   string `yaml:"path"`   // sqlite file; default DATA_DIR/lanewatch.db
	DSN    string `yaml:"dsn"`    // postgres connection string
}

// PipelineConfig tunes the ingest pipeline.
type PipelineConfig struct {
	Workers        int   `yaml:"workers"`          // default 4
	QueueSize      int   `yaml:"queue_size"`       // per worker; default 256
	MaxLagBytes    int64 `yaml:"max_lag_bytes"`    // journal back-pressure bound; default 256 MiB
	DeadLetterKeep int   `yaml:"dead_letter_keep"` // default 10000
	// Disabled switches the pipeline off (benchmarks: "broker only"): publishes are still
	// journalled and acknowledged, and the journal is drained and committed without decoding,
	// InfluxDB writes or rules (app/drain.go).
	Disabled bool `yaml:"disabled"`
}

// LogConfig configures logging.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug | info | warn | error; default info
	Format string `yaml:"format"` // text | json; default text
}

// LoadConfig reads a config file strictly, applies LANEWATCH_* environment overrides and
// defaults, and validates the result.
func LoadConfig(path string, env []string) (*Config, error) {
	c := &Config{path: path}
	if err := yamlx.ReadFile(path, c); err != nil {
		return nil, err
	}
	return c.complete(env)
}

// Dir is the directory relative paths are resolved against.
func (c *Config) Dir() string {
	if c.path == "" {
		return "."
	}
	return filepath.Dir(c.path)
}

// Resolve makes p absolute relative to the config's directory ("" stays "").
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir(), p)
}

func (c *Config) defaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.TimeZone, "Asia/Shanghai")
	def(&c.DataDir, "data")
	def(&c.MQTT.Addr, "127.0.0.1:1883")
	def(&c.MQTT.WSAddr, "127.0.0.1:1884")
	def(&c.HTTP.Addr, "127.0.0.1:8080")
	def(&c.Influx.URL, "http://127.0.0.1:8086")
	def(&c.Influx.Bucket, "lanewatch/autogen")
	def(&c.Store.Driver, "sqlite")
	def(&c.Log.Level, "info")
	def(&c.Log.Format, "text")
	if c.HTTP.MaxBodyBytes == 0 {
		c.HTTP.MaxBodyBytes = 1 << 20
	}
}

// Validate checks the settings that can be checked without I/O.
func (c *Config) Validate() error {
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return fmt.Errorf("time_zone: %w", err)
	}
	switch c.Store.Driver {
	case "sqlite":
	case "postgres":
		if c.Store.DSN == "" {
			return fmt.Errorf("store.dsn: required for driver postgres")
		}
	default:
		return fmt.Errorf("store.driver: %q is not one of sqlite, postgres", c.Store.Driver)
	}
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		return fmt.Errorf("http.tls_cert and http.tls_key go together")
	}
	if (c.MQTT.TLSAddr != "") != (c.MQTT.TLSCert != "" && c.MQTT.TLSKey != "") {
		return fmt.Errorf("mqtt.tls_addr needs tls_cert and tls_key (and they need tls_addr)")
	}
	for i, t := range c.HTTP.Tokens {
		if t.Token == "" && t.TokenEnv == "" {
			return fmt.Errorf("http.tokens[%d] (%s): token or token_env required", i, t.Name)
		}
		if !validRole(t.Role) {
			return fmt.Errorf("http.tokens[%d] (%s): role %q is not one of admin, operator, department:ID, contractor:ID, viewer", i, t.Name, t.Role)
		}
	}
	for i, h := range c.Dispatch.Open311.MediaHosts {
		if fetch.ValidatePattern(h) != nil {
			return fmt.Errorf("dispatch.open311.media_hosts[%d]: %q is not a host name (\"example.com\" or \"*.example.com\")", i, h)
		}
	}
	if c.Dispatch.Open311.MediaTimeout < 0 {
		return fmt.Errorf("dispatch.open311.media_timeout: must not be negative")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("log.format: %q is not one of text, json", c.Log.Format)
	}
	return nil
}

func validRole(r string) bool {
	switch {
	case r == "admin", r == "operator", r == "viewer":
		return true
	case strings.HasPrefix(r, "department:") && len(r) > len("department:"):
		return true
	case strings.HasPrefix(r, "contractor:") && len(r) > len("contractor:"):
		return true
	}
	return false
}

// applyEnv sets scalar settings from LANEWATCH_<PATH> variables, where PATH is the YAML key path
// in upper case joined by '_' (LANEWATCH_MQTT_ADDR, LANEWATCH_INFLUX_URL, LANEWATCH_STORE_DSN).
func applyEnv(c *Config, env []string) error {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, "LANEWATCH_") {
			vars[k] = v
		}
	}
	return walkEnv(reflect.ValueOf(c).Elem(), "LANEWATCH", vars)
}

func walkEnv(v reflect.Value, prefix string, vars map[string]string) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct {
			if err := walkEnv(fv, name, vars); err != nil {
				return err
			}
			continue
		}
		s, ok := vars[name]
		if !ok {
			continue
		}
		if err := setScalar(fv, s); err != nil {
			return fmt.Errorf("environment %s=%q: %w", name, s, err)
		}
	}
	return nil
}

func setScalar(v reflect.Value, s string) error {
	if v.Type() == reflect.TypeOf(yamlx.Duration(0)) {
		d, err := yamlx.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		v.SetInt(n)
	case reflect.Uint16, reflect.Uint32:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("not an unsigned integer")
		}
		v.SetUint(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not a boolean")
		}
		v.SetBool(b)
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// Getenv is os.Environ, for callers of LoadConfig.
func Getenv() []string { return os.Environ() }
