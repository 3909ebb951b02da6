package gateway

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// chunkConn is a net.Conn whose reads return the chunks written to it one at a time (as a
// socket returns what has arrived), recording the size of each read asked for.
type chunkConn struct {
	net.Conn
	chunks [][]byte
	asked  []int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	c.asked = append(c.asked, len(p))
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if n == len(c.chunks[0]) {
		c.chunks = c.chunks[1:]
	} else {
		c.chunks[0] = c.chunks[0][n:]
	}
	return n, nil
}

// TestLazyReadsDeliverEveryByte reads a random stream in random chunks through a 16-byte
// bufio.Reader over connectGuard (as mochi does), with bursts and pauses on a fake clock, and
// checks every byte arrives in order, that a busy connection borrows a buffer and that none
// is held after the connection ends.
func TestLazyReadsDeliverEveryByte(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	pool := newReadPool(clock)
	for round := range 50 {
		var want []byte
		conn := &chunkConn{}
		for range 200 {
			chunk := make([]byte, 1+rng.IntN(6000))
			for i := range chunk {
				chunk[i] = byte(rng.Uint32())
			}
			want = append(want, chunk...)
			conn.chunks = append(conn.chunks, chunk)
		}
		g := &connectGuard{Conn: conn, done: true, reads: lazyReads{pool: pool}}
		br := bufio.NewReaderSize(g, mochiReadBuffer)
		var got []byte
		lent := 0
		for {
			if rng.IntN(20) == 0 {
				now = now.Add(time.Second) // a pause: the connection goes idle
			} else {
				now = now.Add(time.Millisecond)
			}
			var err error
			if rng.IntN(2) == 0 {
				var b byte
				if b, err = br.ReadByte(); err == nil {
					got = append(got, b)
				}
			} else {
				p := make([]byte, 1+rng.IntN(300))
				var n int
				n, err = io.ReadFull(br, p)
				got = append(got, p[:n]...)
			}
			if g.reads.buf != nil {
				lent++
			}
			if err != nil {
				break
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: %d bytes read, want %d (first difference at %d)", round, len(got), len(want), firstDiff(got, want))
		}
		if lent == 0 {
			t.Fatalf("round %d: a connection reading 200 chunks in bursts never borrowed a buffer", round)
		}
		if g.reads.buf != nil {
			t.Fatalf("round %d: the buffer is still held after EOF", round)
		}
	}
}

// TestLazyReadsIdleHoldsNoBuffer: after a CONNECT-sized exchange and a pause, the read that
// waits for the next packet goes into the caller's 16 bytes, not into a pooled buffer.
func TestLazyReadsIdleHoldsNoBuffer(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	conn := &chunkConn{chunks: [][]byte{make([]byte, 40), make([]byte, 2)}}
	g := &connectGuard{Conn: conn, done: true, reads: lazyReads{pool: newReadPool(func() time.Time { return now })}}
	br := bufio.NewReaderSize(g, mochiReadBuffer)
	if _, err := io.ReadFull(br, make([]byte, 40)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if _, err := io.ReadFull(br, make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
	for i, n := range conn.asked {
		if n == readBufferSize {
			t.Errorf("read %d asked the socket for %d bytes: a pooled buffer was lent to an idle connection (reads %v)", i, n, conn.asked)
		}
	}
	if g.reads.buf != nil {
		t.Error("an idle connection holds a pooled buffer")
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
