package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults used by Open for zero Options fields.
const (
	DefaultSegmentBytes int64 = 64 << 20
	DefaultMaxLagBytes  int64 = 256 << 20
)

// MaxRecordBytes is the largest record Append accepts.
const MaxRecordBytes = 64 << 20

// Options configures a Log. Zero values select the defaults.
type Options struct {
	// Dir holds the segment files and the commit file. It is created if missing. Required.
	Dir string
	// SegmentBytes is the size after which a new segment file is started (default 64 MiB).
	// A segment holds at least one record, so a larger record makes a larger segment.
	SegmentBytes int64
	// MaxLagBytes bounds the bytes appended but not yet committed by the consumer (default
	// 256 MiB). Append blocks while the bound would be exceeded; a single record is always
	// admitted when nothing is outstanding.
	MaxLagBytes int64
	// SyncInterval is the group-commit window: the minimum time between the starts of two
	// syncs. Zero (the default) syncs as soon as the previous sync finishes, batching everything
	// that arrived meanwhile.
	SyncInterval time.Duration
	// Registerer receives the log's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger receives warnings (such as a truncated tail); nil discards. The journal adds
	// component=wal itself: pass a logger without a component attribute.
	Logger *slog.Logger
}

// Validate reports whether the options are usable.
func (o Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("dir is required"))
	}
	if o.SegmentBytes < 0 {
		errs = append(errs, fmt.Errorf("segment bytes %d is negative", o.SegmentBytes))
	}
	if o.MaxLagBytes < 0 {
		errs = append(errs, fmt.Errorf("max lag bytes %d is negative", o.MaxLagBytes))
	}
	if o.SyncInterval < 0 {
		errs = append(errs, fmt.Errorf("sync interval %s is negative", o.SyncInterval))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.SegmentBytes == 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	if o.MaxLagBytes == 0 {
		o.MaxLagBytes = DefaultMaxLagBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
