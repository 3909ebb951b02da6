package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// DrainOptions configure a Drain.
type DrainOptions struct {
	// Reader is the journal drained.
	Reader LogReader
	// Interval between two commits; default 1s.
	Interval time.Duration
	Logger   *slog.Logger
}

// Drain replaces the Pipeline when the pipeline is disabled (the "broker only" benchmark): it
// reads the journal and commits it every interval, without decoding, InfluxDB writes or rules,
// so that publishes are journalled and acknowledged exactly as with the pipeline but nothing
// downstream costs anything.
type Drain struct {
	o      DrainOptions
	logger *slog.Logger
}

// NewDrain returns a drain of o.Reader.
func NewDrain(o DrainOptions) (*Drain, error) {
	if o.Reader == nil {
		return nil, fmt.Errorf("gateway: drain needs a Reader")
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Drain{o: o, logger: o.Logger.With("component", "drain")}, nil
}

// Run reads the journal until ctx is done, committing every interval and once at the end. It
// returns an error only when reading the journal fails while ctx is not done.
func (d *Drain) Run(ctx context.Context) error {
	var last atomic.Uint64
	// The committer stops with ctx or when reading fails (so a read error is returned at once).
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d.o.Interval)
		defer t.Stop()
		for {
			select {
			case <-cctx.Done():
				return
			case <-t.C:
				if err := d.o.Reader.Commit(last.Load()); err != nil {
					d.logger.Warn("commit journal", "err", err)
				}
			}
		}
	}()
	var runErr error
	for {
		seq, _, err := d.o.Reader.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				runErr = fmt.Errorf("read journal: %w", err)
			}
			break
		}
		last.Store(seq)
	}
	stop()
	<-done
	if seq := last.Load(); seq > 0 {
		if err := d.o.Reader.Commit(seq); err != nil {
			d.logger.Warn("commit journal", "err", err)
		}
	}
	return runErr
}
