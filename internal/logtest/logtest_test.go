package logtest

import (
	"log/slog"
	"testing"
)

func TestRecorder(t *testing.T) {
	l, rec := New()
	l = l.With("component", "x")
	l.Info("one", "k", 1)
	l.WithGroup("g").With("a", 2).Warn("two", slog.Group("h", "b", 3))
	recs := rec.Records()
	if len(recs) != 2 || recs[0].Message != "one" || recs[1].Level != slog.LevelWarn {
		t.Fatalf("records = %+v", recs)
	}
	if v := recs[1].Values("g.a"); len(v) != 1 || v[0] != "2" {
		t.Fatalf("g.a = %v in %+v", v, recs[1].Attrs)
	}
	if v := recs[1].Values("g.h.b"); len(v) != 1 || v[0] != "3" {
		t.Fatalf("g.h.b = %v in %+v", v, recs[1].Attrs)
	}
	rec.CheckComponent(t, "x")
}

// TestCheckComponentFailsOnDuplicate: a logger that got component twice (a caller's With and
// the package's own) is reported.
func TestCheckComponentFailsOnDuplicate(t *testing.T) {
	l, rec := New()
	l.With("component", "influx").With("component", "influx").Info("dup")
	ft := &fakeT{TB: t}
	rec.CheckComponent(ft, "influx")
	if !ft.failed {
		t.Fatal("a duplicated component was not reported")
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true }
