package sqlstore_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/internal/testenv"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/sqlstore"
	"github.com/lanewatch/lanewatch/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// engine opens a fresh store of one engine; reopen opens the same database again.
type engine struct {
	name string
	// fresh returns the address of a new, empty database.
	fresh func(t testing.TB) string
	open  func(t testing.TB, addr string) (store.Store, error)
}

// engines returns SQLite and PostgreSQL.
func engines() []engine {
	return []engine{
		{
			name:  "sqlite",
			fresh: func(t testing.TB) string { return filepath.Join(t.TempDir(), "lanewatch.db") },
			open: func(t testing.TB, path string) (store.Store, error) {
				return sqlstore.OpenSQLite(t.Context(), sqlstore.SQLiteOptions{Path: path})
			},
		},
		{
			name:  "postgres",
			fresh: func(t testing.TB) string { return testenv.Postgres(t) },
			open: func(t testing.TB, dsn string) (store.Store, error) {
				return sqlstore.OpenPostgres(t.Context(), sqlstore.PostgresOptions{DSN: dsn})
			},
		},
	}
}

// openFresh opens an empty store of e, closed when the test ends.
func openFresh(t testing.TB, e engine) store.Store {
	t.Helper()
	s, err := e.open(t, e.fresh(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t, e) })
		})
	}
}

func TestReopenKeepsData(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			addr := e.fresh(t)
			s, err := e.open(t, addr)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.PutState(t.Context(), "k", []byte("v")); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// Opening again runs no migration twice and finds the data.
			s, err = e.open(t, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if v, err := s.GetState(t.Context(), "k"); err != nil || string(v) != "v" {
				t.Fatalf("after reopen: %q, %v", v, err)
			}
		})
	}
}

// TestConcurrentOpen opens one fresh PostgreSQL database from several nodes at once: the
// migration lock lets exactly one of them migrate and the others find the schema in place.
func TestConcurrentOpen(t *testing.T) {
	dsn := testenv.Postgres(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := sqlstore.OpenPostgres(t.Context(), sqlstore.PostgresOptions{DSN: dsn})
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		_, err := sqlstore.OpenSQLite(t.Context(), sqlstore.SQLiteOptions{Path: path})
		if lanewatch.ErrorCode(err) != lanewatch.EInvalid {
			t.Errorf("OpenSQLite(%q): %v, want %s", path, err, lanewatch.EInvalid)
		}
	}
	for _, dsn := range []string{"", "postgres://[::1"} {
		_, err := sqlstore.OpenPostgres(t.Context(), sqlstore.PostgresOptions{DSN: dsn})
		if lanewatch.ErrorCode(err) != lanewatch.EInvalid {
			t.Errorf("OpenPostgres(%q): %v, want %s", dsn, err, lanewatch.EInvalid)
		}
	}
}

func benchCase(i int64) *lanewatch.Case {
	now := time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	return &lanewatch.Case{
		Status: lanewatch.StatusReported, Category: "brush_off", Urgency: lanewatch.UrgencyNormal,
		Source: lanewatch.SourceRule, Rule: "brush_off", Key: fmt.Sprint("sw-", i), District: "xuhui",
		CreatedAt: now, UpdatedAt: now, LastSeenAt: now,
		Timeline: []lanewatch.TimelineEntry{{Action: "report", Actor: "rule:brush_off", At: now, To: lanewatch.StatusReported}},
	}
}

// BenchmarkCreateCase measures new rule cases and repeat occurrences of an open one, per engine.
func BenchmarkCreateCase(b *testing.B) {
	ctx := b.Context()
	for _, e := range engines() {
		b.Run(e.name+"/new", func(b *testing.B) {
			s := openFresh(b, e)
			b.ReportAllocs()
			var i int64
			for b.Loop() {
				i++
				if _, _, err := s.CreateCase(ctx, benchCase(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(e.name+"/occurrence", func(b *testing.B) {
			s := openFresh(b, e)
			if _, _, err := s.CreateCase(ctx, benchCase(0)); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, created, err := s.CreateCase(ctx, benchCase(0)); err != nil || created {
					b.Fatal(created, err)
				}
			}
		})
		b.Run(e.name+"/new-parallel", func(b *testing.B) {
			s := openFresh(b, e)
			b.ReportAllocs()
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := s.CreateCase(ctx, benchCase(n.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkUpdateCase measures a conditional update that appends one timeline entry, per engine.
func BenchmarkUpdateCase(b *testing.B) {
	ctx := b.Context()
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			s := openFresh(b, e)
			c := benchCase(1)
			if _, _, err := s.CreateCase(ctx, c); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				c.UpdatedAt = c.UpdatedAt.Add(time.Second)
				e := lanewatch.TimelineEntry{Action: "extend", Actor: "op", At: c.UpdatedAt, From: c.Status, To: c.Status}
				if err := s.UpdateCase(ctx, c, c.Status, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
