//go:build !race

package gateway

import "testing"

// TestIdleConnectionMemory holds the two halves of the idle-connection budget (issue 14, 16 KiB
// in the binary's RSS; docs/RELIABILITY.md) that a change can break without any other test
// noticing: an idle connection's goroutine stack shrinks to 4 KiB only while the frames under
// its parked read stay under about 1.2 KiB (tcpListener.serveConn, connectGuard.Read), and its
// heap stays small only while no read buffer is held by an idle connection (lazyread.go).
// Before the listener's goroutine was cut down it was 8 KiB of stack; before lazyReads, 5 KiB
// of heap. Not under -race: the race detector doubles the stack guard, so stacks never shrink
// to 4 KiB there. Run plain by `make test` (unit).
func TestIdleConnectionMemory(t *testing.T) {
	const n = 300
	br, addr := startBroker(t, Options{Auth: passAuth{"sw-1", "right-pass"}})
	h0, s0 := idleMem()
	connectIdle(t, br, addr, n)
	h1, s1 := idleMem()
	stack := float64(int64(s1)-int64(s0)) / n / 1024
	heap := float64(int64(h1)-int64(h0)) / n / 1024
	t.Logf("per idle connection (both ends): stack %.2f KiB, heap %.2f KiB", stack, heap)
	if stack > 5 {
		t.Errorf("idle connection stack %.2f KiB, want 4: the frames under the parked read grew past the runtime's shrink threshold", stack)
	}
	if heap > 4.8 {
		t.Errorf("idle connection heap %.2f KiB, want ≤ 4.8 (3.9–4.0 here with lazy read buffers, 5.9 with a 2 KiB bufio per client)", heap)
	}
}
