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
		mem := func() (heap, stack uint64) {
			for range 6 { // each GC may halve an idle goroutine's stack
				runtime.GC()
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return ms.HeapInuse, ms.StackInuse
		}
		h0, s0 := mem()
		conns := make([]net.Conn, 0, n)
		for i := range n {
			pk := connectPacket("sw-1-"+strconv.Itoa(i), "sw-1", "right-pass", nil)
			code, c, err := rawConnect("", addr, pk, 5*time.Second)
			if err != nil || code != 0 {
				b.Fatalf("connect %d: code %d, %v", i, code, err)
			}
			conns = append(conns, c)
		}
		for br.Clients() < n {
			time.Sleep(10 * time.Millisecond)
		}
		h1, s1 := mem()
		b.ReportMetric(float64(h1+s1-h0-s0)/n/1024, "KiB/conn")
		b.ReportMetric(float64(h1-h0)/n/1024, "heap-KiB/conn")
		b.ReportMetric(float64(s1-s0)/n/1024, "stack-KiB/conn")
		for _, c := range conns {
			c.Close()
		}
	}
}
