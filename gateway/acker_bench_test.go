package gateway_test

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanewatch/lanewatch"
	"github.com/lanewatch/lanewatch/gateway"
	"github.com/lanewatch/lanewatch/internal/testenv"
	"github.com/lanewatch/lanewatch/simulators/loadgen"
)

// benchDevices accepts any vehicle with password "pw".
type benchDevices struct{}

func (benchDevices) Authenticate(_ context.Context, id, pw string) (*lanewatch.Device, error) {
	if pw != "pw" {
		return nil, lanewatch.Errorf(lanewatch.EUnauthorized, "bad password")
	}
	return &lanewatch.Device{ID: id, Type: lanewatch.DeviceSweeper}, nil
}
func (benchDevices) Lookup(_ context.Context, id string) (*lanewatch.Device, error) {
	return &lanewatch.Device{ID: id, Type: lanewatch.DeviceSweeper}, nil
}
func (benchDevices) Touch(string, time.Time)           {}
func (benchDevices) SetOnline(string, bool, time.Time) {}

// groupJournal imitates the WAL's group commit without a disk: every record appended within
// one commit interval shares a Syncer that completes when the interval ends.
type groupJournal struct {
	mu   sync.Mutex
	cur  *groupSync
	stop chan struct{}
}

type groupSync struct{ done chan struct{} }

func (g *groupSync) Wait(ctx context.Context) error {
	select {
	case <-g.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (g *groupSync) Done() <-chan struct{} { return g.done }

func newGroupJournal(every time.Duration) *groupJournal {
	j := &groupJournal{cur: &groupSync{done: make(chan struct{})}, stop: make(chan struct{})}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-j.stop:
				return
			case <-t.C:
			}
			j.mu.Lock()
			s := j.cur
			j.cur = &groupSync{done: make(chan struct{})}
			j.mu.Unlock()
			close(s.done)
		}
	}()
	return j
}

func (j *groupJournal) Append(context.Context, []byte, bool) (uint64, error) { return 1, nil }
func (j *groupJournal) AppendAsync(context.Context, []byte) (uint64, gateway.Syncer, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return 1, j.cur, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkQoS1Acks publishes QoS 1 from 20 clients (64 in flight each) to an in-process broker
// whose journal group-commits every 500 µs, and reports process CPU per message (broker and the
// minimal publishers together) and PUBACK round trips.
func BenchmarkQoS1Acks(b *testing.B) {
	const clients, window = 20, 64
	j := newGroupJournal(500 * time.Microsecond)
	defer close(j.stop)
	addr := testenv.FreeAddr(b)
	br, err := gateway.NewBroker(gateway.Options{TCPAddr: addr, Auth: benchDevices{}, Devices: benchDevices{}, Journal: j,
		Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Start(); err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	ctx := context.Background()
	conns := make([]*loadgen.Conn, clients)
	for i := range conns {
		id := fmt.Sprintf("sw-%d", i)
		if conns[i], err = loadgen.Dial(ctx, addr, loadgen.Credentials{ClientID: id, Username: id, Password: "pw"}, 60); err != nil {
			b.Fatal(err)
		}
		defer conns[i].Close()
	}
	payload := []byte(`{"ts":"2026-11-26T04:00:00Z","lat":26.08,"lon":119.29,"speed":12.5,"heading":90,"brush":true}`)
	per := max(b.N/clients, 1)
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range conns {
		topic := fmt.Sprintf("vehicles/sw-%d/telemetry", i)
		acks := make(chan struct{}, window)
		wg.Go(func() {
			for n := 0; n < per; n++ {
				b0, _, err := c.ReadPacket()
				if err != nil {
					errs <- err
					return
				}
				if b0>>4 != 4 {
					errs <- fmt.Errorf("packet type %d, want PUBACK", b0>>4)
					return
				}
				acks <- struct{}{}
			}
		})
		wg.Go(func() {
			inflight := 0
			for n := 0; n < per; n++ {
				if inflight == window {
					if err := c.Flush(); err != nil {
						errs <- err
						return
					}
					<-acks
					inflight--
				}
				if err := c.Publish(topic, payload, 1, uint16(n%65535+1)); err != nil {
					errs <- err
					return
				}
				inflight++
			}
			if err := c.Flush(); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	msgs := float64(per * clients)
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/msgs, "cpu-ns/msg")
	b.ReportMetric(msgs/time.Since(t0).Seconds(), "msg/s")
}

// TestQoS1AcksInOrder checks that batched PUBACKs arrive exactly once each, in publish order,
// both for a publish-only client (direct batched writes) and for one with a subscription
// (mochi's WritePacket per ack).
func TestQoS1AcksInOrder(t *testing.T) {
	j := newGroupJournal(2 * time.Millisecond)
	defer close(j.stop)
	addr := testenv.FreeAddr(t)
	br, err := gateway.NewBroker(gateway.Options{TCPAddr: addr, Auth: benchDevices{}, Devices: benchDevices{}, Journal: j,
		Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := br.Start(); err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	for _, subscribe := range []bool{false, true} {
		id := fmt.Sprintf("sw-sub-%v", subscribe)
		c, err := loadgen.Dial(context.Background(), addr, loadgen.Credentials{ClientID: id, Username: id, Password: "pw"}, 60)
		if err != nil {
			t.Fatal(err)
		}
		if subscribe {
			if err := c.Subscribe(1, 0, "devices/"+id+"/commands/#"); err != nil {
				t.Fatal(err)
			}
			if b0, _, err := c.ReadPacket(); err != nil || b0>>4 != 9 {
				t.Fatalf("SUBACK: %x %v", b0, err)
			}
		}
		const n = 3000
		go func() {
			for i := range n {
				c.Publish("vehicles/"+id+"/telemetry", []byte(`{"lat":1}`), 1, uint16(i%65535+1))
				if i%100 == 99 {
					c.Flush()
				}
			}
			c.Flush()
		}()
		for i := range n {
			b0, body, err := c.ReadPacket()
			if err != nil {
				t.Fatalf("subscribe=%v: ack %d: %v", subscribe, i, err)
			}
			if b0 != 0x40 || len(body) != 2 || int(body[0])<<8|int(body[1]) != i%65535+1 {
				t.Fatalf("subscribe=%v: packet %d = %x %x, want PUBACK %d", subscribe, i, b0, body, i+1)
			}
		}
		c.Close()
	}
}
