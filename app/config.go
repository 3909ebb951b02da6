package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/lanewatch/lanewatch/api"
	"github.com/lanewatch/lanewatch/bridge"
	"github.com/lanewatch/lanewatch/cluster"
	"github.com/lanewatch/lanewatch/coverage"
	"github.com/lanewatch/lanewatch/gateway"
	"github.com/lanewatch/lanewatch/influx"
	"github.com/lanewatch/lanewatch/internal/yamlx"
	"github.com/lanewatch/lanewatch/jt808"
	"github.com/lanewatch/lanewatch/store/sqlstore"
)

// Config is the format of configs/lanewatch.yaml. Relative paths are resolved against the
// directory of the config file.
type Config struct {
	// TimeZone for schedules, working calendars and daily figures; default Asia/Shanghai.
	TimeZone string `yaml:"time_zone"`
	// DataDir holds the journal, the InfluxDB spool, the SQLite database and attachments.
	DataDir string `yaml:"data_dir"`

	MQTT     gateway.Config         `yaml:"mqtt"`
	HTTP     api.HTTPConfig         `yaml:"http"`
	Influx   influx.Config          `yaml:"influx"`
	Store    StoreConfig            `yaml:"store"`
	Pipeline gateway.PipelineConfig `yaml:"pipeline"`
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
	// PlacesFile is the places of supervision inspections (configs/places.geojson); optional.
	PlacesFile string `yaml:"places_file"`
	// SupervisionFile is the inspection campaigns, case-file review checklist and owner
	// notices (configs/supervision.yaml); optional.
	SupervisionFile string `yaml:"supervision_file"`

	Log LogConfig `yaml:"log"`
	// Node is this process's identity among several nodes sharing one PostgreSQL (cluster package).
	Node cluster.Config `yaml:"node"`
	// JT808 is the JT/T 808 terminal listener (jt808 package); off without jt808.addr.
	JT808 jt808.Config `yaml:"jt808"`
	// Bridge is the fan-out of MQTT messages to the other nodes over NATS (bridge package).
	Bridge bridge.Config `yaml:"bridge"`

	// DebugAddr, when set, serves net/http/pprof on this address (opt-in, for profiling;
	// keep it on localhost).
	DebugAddr string `yaml:"debug_addr"`

	// path is the file the config was read from.
	path string
}

// SubscriberConfig is a read-only MQTT user (the mqtt.subscribers entries).
type SubscriberConfig = gateway.Subscriber

// TokenConfig is one API bearer token (the http.tokens entries).
type TokenConfig = api.TokenConfig

// StoreConfig selects the relational store; store/sqlstore owns the type (driver, path, dsn).
type StoreConfig = sqlstore.Config

// LogConfig configures logging.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug | info | warn | error; default info
	Format string `yaml:"format"` // text | json; default text
}

// LoadConfig reads a config file strictly, applies LANEWATCH_* environment overrides and
// defaults, and validates the result.
func LoadConfig(path string, env []string) (*Config, error) {
	data, err := yamlx.Read(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, data, env)
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
	c.MQTT.Defaults()
	c.HTTP.Defaults()
	c.Influx.Defaults()
	c.Store.SetDefaults()
	def(&c.Log.Level, "info")
	def(&c.Log.Format, "text")
	c.Node.Defaults()
}

// section is one config section validated by its own package; its errors are prefixed with
// the section's key path.
type section struct {
	key string
	v   interface{ Validate() error }
}

// Validate checks the settings that can be checked without I/O. It collects the errors of
// every section, each starting with its key path.
func (c *Config) Validate() error {
	var errs []error
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("time_zone: %w", err))
	}
	if err := c.Store.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, s := range []section{{"http", &c.HTTP}, {"mqtt", &c.MQTT}, {"influx", &c.Influx}, {"pipeline", &c.Pipeline},
		{"dispatch", &c.Dispatch.Config}, {"dispatch.open311", &c.Dispatch.Open311}, {"dispatch.notify", &c.Dispatch.Notify.Config},
		{"node", &c.Node}, {"jt808", &c.JT808}, {"bridge", &c.Bridge}} {
		if err := s.v.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s.%w", s.key, err))
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q is not one of text, json", c.Log.Format))
	}
	return errors.Join(errs...)
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
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		fv := v.Field(i)
		if tag == "" && opts == "inline" && f.Anonymous && fv.Kind() == reflect.Struct {
			// An inlined section's keys are the enclosing section's.
			if err := walkEnv(fv, prefix, vars); err != nil {
				return err
			}
			continue
		}
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
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
