package gateway

import (
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// BenchmarkIdleConnections holds 2,000 authenticated idle MQTT connections (raw TCP clients in
// this process) and reports the Go memory they cost per connection: heap in use plus goroutine
// stacks, after GC, minus the same before (the client ends are included, so it is an upper
// bound). Run: go test -run '^$' -bench BenchmarkIdleConnections -benchtime 1x ./gateway/
func BenchmarkIdleConnections(b *testing.B) {
	for _, pending := range []int32{1024, 256} {
		b.Run("writes_pending="+strconv.Itoa(int(pending)), func(b *testing.B) { benchIdle(b, pending) })
	}
}

func benchIdle(b *testing.B, pending int32) {
	const n = 2000
	for range b.N {
		br, addr := startBroker(b, Options{Auth: passAuth{"sw-1", "right-pass"}, MaxClientWritesPending: pending})
		h0, s0 := idleMem()
		conns := connectIdle(b, br, addr, n)
		h1, s1 := idleMem()
		b.ReportMetric(float64(h1+s1-h0-s0)/n/1024, "KiB/conn")
		b.ReportMetric(float64(h1-h0)/n/1024, "heap-KiB/conn")
		b.ReportMetric(float64(s1-s0)/n/1024, "stack-KiB/conn")
		for _, c := range conns {
			c.Close()
		}
	}
}

// idleMem returns the heap and stack in use after enough GCs for idle stacks to shrink.
func idleMem() (heap, stack uint64) {
	for range 6 { // each GC may halve an idle goroutine's stack
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.StackInuse
}

// connectIdle opens n authenticated connections (as sw-1) and waits until br has them all.
func connectIdle(tb testing.TB, br *Broker, addr string, n int) []net.Conn {
	tb.Helper()
	conns := make([]net.Conn, 0, n)
	tb.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for i := range n {
		pk := connectPacket("sw-1-"+strconv.Itoa(i), "sw-1", "right-pass", nil)
		code, c, err := rawConnect("", addr, pk, 5*time.Second)
		if err != nil || code != 0 {
			tb.Fatalf("connect %d: code %d, %v", i, code, err)
		}
		conns = append(conns, c)
	}
	for deadline := time.Now().Add(10 * time.Second); br.Clients() < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d clients attached", br.Clients(), n)
		}
	}
	return conns
}
