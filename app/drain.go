package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"
)

// journalReader is the part of the journal the drain needs.
type journalReader interface {
	Next(ctx context.Context) (uint64, []byte, error)
	Commit(seq uint64) error
}

// runner is what App.Run starts for the ingest side: the pipeline, or the drain when
// pipeline.disabled is set.
type runner interface {
	Run(ctx context.Context) error
}

// drain replaces the pipeline when pipeline.disabled is set (the "broker only" benchmark):
// it reads the journal and commits it every interval, without decoding, InfluxDB writes or
// rules, so that publishes are journalled and acknowledged exactly as with the pipeline but
// nothing downstream costs anything.
type drain struct {
	log      journalReader
	interval time.Duration
	logger   *slog.Logger
}

// Run reads the journal until ctx is done, committing every interval and once at the end.
func (d *drain) Run(ctx context.Context) error {
	var last atomic.Uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := d.log.Commit(last.Load()); err != nil {
					d.logger.Warn("commit journal", "err", err)
				}
			}
		}
	}()
	var runErr error
	for {
		seq, _, err := d.log.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				runErr = fmt.Errorf("read journal: %w", err)
			}
			break
		}
		last.Store(seq)
	}
	<-done
	if seq := last.Load(); seq > 0 {
		if err := d.log.Commit(seq); err != nil {
			d.logger.Warn("commit journal", "err", err)
		}
	}
	return runErr
}

// serveDebug serves net/http/pprof on addr until ctx is done (config debug_addr; opt-in).
func serveDebug(ctx context.Context, addr string, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen debug on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	logger.Info("pprof serving", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve debug: %w", err)
	}
	return nil
}
