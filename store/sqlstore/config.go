package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/lanewatch/lanewatch/store"
)

// The values of Config.Driver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Config is the `store` section of lanewatch.yaml: which engine, and where its data is.
type Config struct {
	Driver string `yaml:"driver"` // sqlite (default) | postgres
	Path   string `yaml:"path"`   // sqlite file; default DATA_DIR/lanewatch.db
	DSN    string `yaml:"dsn"`    // postgres connection string
}

// SetDefaults fills the driver (sqlite). The default SQLite path depends on the data
// directory, so the caller fills it (DefaultPath).
func (c *Config) SetDefaults() {
	if c.Driver == "" {
		c.Driver = DriverSQLite
	}
}

// DefaultPath returns the SQLite file used when Path is empty: lanewatch.db in dataDir.
func DefaultPath(dataDir string) string { return filepath.Join(dataDir, "lanewatch.db") }

// Validate checks the settings that can be checked without I/O.
func (c *Config) Validate() error {
	switch c.Driver {
	case DriverSQLite, "":
	case DriverPostgres:
		if c.DSN == "" {
			return fmt.Errorf("store.dsn: required for driver postgres")
		}
	default:
		return fmt.Errorf("store.driver: %q is not one of sqlite, postgres", c.Driver)
	}
	return nil
}

// Open opens the store the config names and applies pending migrations: a *Store on SQLite
// (Path is required), a *Postgres on PostgreSQL. A nil logger discards migration progress.
func Open(ctx context.Context, c Config, logger *slog.Logger) (store.Store, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Driver == DriverPostgres {
		s, err := OpenPostgres(ctx, PostgresOptions{DSN: c.DSN, Logger: logger})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := OpenSQLite(ctx, SQLiteOptions{Path: c.Path, Logger: logger})
	if err != nil {
		return nil, err
	}
	return s, nil
}
