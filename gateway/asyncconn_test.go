package gateway

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv := <-accepted
	if srv == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { srv.Close(); peer.Close() })
	return srv.(*net.TCPConn), peer
}

// TestAsyncConnOrderWhilePeerStalls writes 24 MiB in 1,000 numbered chunks to a peer that reads
// nothing until all writes have returned (so most are buffered), then reads everything: each
// Write returned at once and the bytes arrive complete and in order.
func TestAsyncConnOrderWhilePeerStalls(t *testing.T) {
	srv, peer := tcpPair(t)
	c := newAsyncConn(srv, 64<<20, nil)
	if _, ok := c.(*asyncConn); !ok {
		t.Fatal("not an asyncConn")
	}
	const chunks, size = 1000, 24 << 10
	var want bytes.Buffer
	for i := range chunks {
		chunk := bytes.Repeat([]byte{byte(i)}, size)
		want.Write(chunk)
		if n, err := c.Write(chunk); err != nil || n != size {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	if b := c.(*asyncConn).Buffered(); b == 0 {
		t.Fatal("nothing buffered: the peer took 24 MiB without reading")
	}
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("bytes arrived changed or out of order")
	}
}

// TestAsyncConnOverflowCloses: with a peer that never reads, the write that would take the
// buffer past its limit fails, the connection is closed and the overflow reported once.
func TestAsyncConnOverflowCloses(t *testing.T) {
	srv, peer := tcpPair(t)
	var overflows atomic.Int64
	c := newAsyncConn(srv, 1<<20, func() { overflows.Add(1) })
	chunk := make([]byte, 64<<10)
	var err error
	for i := 0; i < 10000 && err == nil; i++ { // the socket buffers take a few MiB first
		_, err = c.Write(chunk)
	}
	if !errors.Is(err, errWriteOverflow) {
		t.Fatalf("write error %v, want %v", err, errWriteOverflow)
	}
	if _, err := c.Write(chunk); !errors.Is(err, errWriteOverflow) {
		t.Fatalf("write after overflow: %v", err)
	}
	if n := overflows.Load(); n != 1 {
		t.Fatalf("overflow reported %d times", n)
	}
	_ = peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, peer); err != nil && !errors.Is(err, net.ErrClosed) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("connection not closed after the overflow")
		}
	}
}
