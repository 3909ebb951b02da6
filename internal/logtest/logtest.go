package logtest

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
)

// Record is one logged record: its level, message and every attribute, the logger's (With)
// first, in order, with group names prefixed ("group.key").
type Record struct {
	Level   slog.Level
	Message string
	Attrs   []slog.Attr
}

// Values returns the values of every attribute named key, in order.
func (r Record) Values(key string) []string {
	var out []string
	for _, a := range r.Attrs {
		if a.Key == key {
			out = append(out, a.Value.String())
		}
	}
	return out
}

// Recorder keeps the records of the loggers made by New. It is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	records []Record
}

// New returns a logger at debug level whose records go to the returned Recorder.
func New() (*slog.Logger, *Recorder) {
	r := &Recorder{}
	return slog.New(&handler{rec: r}), r
}

// Records returns a copy of the records so far.
func (r *Recorder) Records() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.records)
}

// CheckComponent fails t unless there is at least one record and every record carries the
// attribute component exactly once, with the value want.
func (r *Recorder) CheckComponent(t testing.TB, want string) {
	t.Helper()
	recs := r.Records()
	if len(recs) == 0 {
		t.Fatalf("nothing was logged; want records with component=%s", want)
	}
	for _, rec := range recs {
		if got := rec.Values("component"); len(got) != 1 || got[0] != want {
			t.Errorf("record %q has component %q, want exactly [%s]", rec.Message, got, want)
		}
	}
}

type handler struct {
	rec    *Recorder
	attrs  []slog.Attr
	prefix string
}

func (h *handler) Enabled(context.Context, slog.Level) bool { return true }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	attrs := slices.Clone(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		attrs = appendAttr(attrs, h.prefix, a)
		return true
	})
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	h.rec.records = append(h.rec.records, Record{Level: r.Level, Message: r.Message, Attrs: attrs})
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := &handler{rec: h.rec, attrs: slices.Clone(h.attrs), prefix: h.prefix}
	for _, a := range as {
		n.attrs = appendAttr(n.attrs, h.prefix, a)
	}
	return n
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &handler{rec: h.rec, attrs: slices.Clone(h.attrs), prefix: h.prefix + name + "."}
}

// appendAttr appends a, resolved, flattening groups into prefixed keys.
func appendAttr(out []slog.Attr, prefix string, a slog.Attr) []slog.Attr {
	a.Value = a.Value.Resolve()
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			out = appendAttr(out, p, g)
		}
		return out
	}
	if a.Equal(slog.Attr{}) {
		return out
	}
	a.Key = prefix + a.Key
	return append(out, a)
}
