// Package testenv gives tests the outside services they need (a fresh PostgreSQL database, ...).
// Tests that need a service fail, never skip, when it is missing: CI must run them.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresDSN is the server used when LANEWATCH_TEST_POSTGRES_DSN is unset.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Postgres creates a fresh, empty database on the test server (LANEWATCH_TEST_POSTGRES_DSN, or
// DefaultPostgresDSN) and returns a DSN for it; the database is dropped when t ends. It fails t
// with instructions when the server is unreachable.
func Postgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("LANEWATCH_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = DefaultPostgresDSN
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("testenv: LANEWATCH_TEST_POSTGRES_DSN %q: %v", dsn, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("testenv: PostgreSQL is not reachable at %s:%d (%v).\n"+
			"Start it with scripts/ensure-tools.sh, or point LANEWATCH_TEST_POSTGRES_DSN at a server "+
			"where the user may CREATE DATABASE (default %s).", cfg.Host, cfg.Port, err, DefaultPostgresDSN)
	}
	defer admin.Close(context.Background())

	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "lw_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})

	return withDatabase(dsn, name)
}

// withDatabase returns dsn (a URL or keyword/value string) pointing at database name.
func withDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			u.Path, u.RawPath = "/"+name, ""
			return u.String()
		}
	}
	return dsn + " dbname=" + name
}
