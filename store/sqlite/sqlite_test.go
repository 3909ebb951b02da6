package sqlite_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/store"
	"github.com/lanewatch/lanewatch/store/sqlite"
	"github.com/lanewatch/lanewatch/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "lanewatch.db")})
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
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lanewatch.db")
	s, err := sqlite.Open(t.Context(), sqlite.Options{Path: path})
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
	s, err = sqlite.Open(t.Context(), sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.GetState(t.Context(), "k"); err != nil || string(v) != "v" {
		t.Fatalf("after reopen: %q, %v", v, err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		_, err := sqlite.Open(t.Context(), sqlite.Options{Path: path})
		if lanewatch.ErrorCode(err) != lanewatch.EInvalid {
			t.Errorf("Open(%q): %v, want %s", path, err, lanewatch.EInvalid)
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

// BenchmarkCreateCase measures new rule cases and repeat occurrences of an open one.
func BenchmarkCreateCase(b *testing.B) {
	ctx := b.Context()
	b.Run("new", func(b *testing.B) {
		s := open(b)
		b.ReportAllocs()
		var i int64
		for b.Loop() {
			i++
			if _, _, err := s.CreateCase(ctx, benchCase(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("occurrence", func(b *testing.B) {
		s := open(b)
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
	b.Run("new-parallel", func(b *testing.B) {
		s := open(b)
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

// BenchmarkUpdateCase measures a conditional update that appends one timeline entry.
func BenchmarkUpdateCase(b *testing.B) {
	ctx := b.Context()
	s := open(b)
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
}
