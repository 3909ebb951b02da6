package loadgen

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Idle opens one connection per credential (parallel at a time), calls ready with the number
// connected, and holds them until ctx is done. It returns the number connected and the first
// connect error, if any; it keeps going past failures so that a partial result is reported.
func Idle(ctx context.Context, addr string, creds []Credentials, parallel int, ready func(connected int)) (int, error) {
	if parallel <= 0 {
		parallel = 64
	}
	conns := make([]*Conn, len(creds))
	var (
		wg       sync.WaitGroup
		n        atomic.Int64
		firstErr atomic.Pointer[error]
		sem      = make(chan struct{}, parallel)
	)
	for i, c := range creds {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			conn, err := Dial(ctx, addr, c, 0)
			if err != nil {
				firstErr.CompareAndSwap(nil, &err)
				return
			}
			conns[i] = conn
			n.Add(1)
		})
	}
	wg.Wait()
	connected := int(n.Load())
	if ready != nil {
		ready(connected)
	}
	<-ctx.Done()
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
	if p := firstErr.Load(); p != nil {
		return connected, fmt.Errorf("loadgen: idle: %d of %d connected: %w", connected, len(creds), *p)
	}
	return connected, nil
}
