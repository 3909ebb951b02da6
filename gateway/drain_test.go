package gateway

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeLog is a LogReader serving records 1..n, then blocking (or failing with failAfter).
type fakeLog struct {
	mu        sync.Mutex
	n, next   uint64
	failAfter error
	commits   []uint64
}

func (f *fakeLog) Next(ctx context.Context) (uint64, []byte, error) {
	f.mu.Lock()
	if f.next < f.n {
		f.next++
		seq := f.next
		f.mu.Unlock()
		return seq, []byte("x"), nil
	}
	err := f.failAfter
	f.mu.Unlock()
	if err != nil {
		return 0, nil, err
	}
	<-ctx.Done()
	return 0, nil, ctx.Err()
}

func (f *fakeLog) Commit(seq uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commits = append(f.commits, seq)
	return nil
}

var _ LogReader = (*fakeLog)(nil)

func TestDrainCommitsEveryIntervalAndAtTheEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &fakeLog{n: 5}
		d, err := NewDrain(DrainOptions{Reader: log, Interval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- d.Run(ctx) }()
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		log.mu.Lock()
		got := append([]uint64(nil), log.commits...)
		log.mu.Unlock()
		if len(got) != 1 || got[0] != 5 {
			t.Fatalf("commits after 1.5s = %v, want [5]", got)
		}
		cancel()
		if err := <-errc; err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}
		if last := log.commits[len(log.commits)-1]; last != 5 {
			t.Fatalf("final commit = %d, want 5", last)
		}
	})
}

func TestDrainReturnsReadError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := errors.New("segment corrupt")
		d, _ := NewDrain(DrainOptions{Reader: &fakeLog{n: 2, failAfter: bad}})
		if err := d.Run(t.Context()); !errors.Is(err, bad) {
			t.Fatalf("Run = %v, want %v", err, bad)
		}
	})
}

func TestNewDrainNeedsReader(t *testing.T) {
	if _, err := NewDrain(DrainOptions{}); err == nil {
		t.Fatal("NewDrain without a Reader succeeded")
	}
}
