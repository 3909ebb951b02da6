package gateway

import (
	"net"
	"sync"
	"time"
)

// Read buffering. mochi reads each connection through a bufio.Reader of
// ClientNetReadBufferSize bytes; at its default (2 KiB) that buffer is held by every idle
// connection for as long as it lives, half of an idle connection's heap. lanewatch gives mochi
// the smallest bufio.Reader (mochiReadBuffer) and lends a connection a pooled buffer only while
// it is busy (lazyReads): an idle connection waits for its next packet in the 16 bytes mochi
// holds; a connection that has read hotReads times within hotWindow waits in a pooled buffer,
// so a busy publisher's pipelined packets still come in one system call.
const (
	// mochiReadBuffer is mochi's ClientNetReadBufferSize (bufio's minimum).
	mochiReadBuffer = 16
	// readBufferSize is the size of a pooled buffer.
	readBufferSize = 4096
	// hotReads reads with data within hotWindow make a connection busy.
	hotReads  = 8
	hotWindow = 100 * time.Millisecond
)

// readPool lends read buffers of readBufferSize to busy connections (one per Broker); now is
// the broker's clock, which tells them when they are busy.
type readPool struct {
	p   sync.Pool
	now func() time.Time
}

func newReadPool(now func() time.Time) *readPool {
	return &readPool{p: sync.Pool{New: func() any { b := make([]byte, readBufferSize); return &b }}, now: now}
}

// lazyReads is one connection's read side: a pooled buffer while the connection is busy,
// nothing while it is idle. Used by the connection's read goroutine only.
type lazyReads struct {
	pool   *readPool
	buf    *[]byte // lent by pool; nil while idle
	r, w   int     // buffered bytes are (*buf)[r:w]
	since  time.Time
	nreads int // reads with data since since
}

// lent reports whether the connection holds a buffer or may borrow one (it read hotReads
// times lately): then its reads try buffered first; otherwise they go straight to the
// connection (and count is called for each read with data).
func (z *lazyReads) lent() bool {
	return z.buf != nil || z.nreads >= hotReads
}

// buffered serves p from the buffer, or reads into the buffer when the connection is busy;
// false when the connection is idle (the buffer, if any, is given back): then the caller reads
// straight into p.
func (z *lazyReads) buffered(c net.Conn, p []byte) (int, error, bool) {
	if z.r < z.w {
		n := copy(p, (*z.buf)[z.r:z.w])
		z.r += n
		return n, nil, true
	}
	if len(p) >= readBufferSize || !z.busy() {
		z.release()
		return 0, nil, false
	}
	if z.buf == nil {
		z.buf = z.pool.p.Get().(*[]byte)
	}
	n, err := c.Read(*z.buf)
	if n == 0 {
		z.release()
		return 0, err, true
	}
	z.count()
	z.r, z.w = copy(p, (*z.buf)[:n]), n
	return z.r, err, true
}

// busy reports whether the connection has read hotReads times within the last hotWindow.
func (z *lazyReads) busy() bool {
	return z.nreads >= hotReads && z.pool.now().Sub(z.since) < hotWindow
}

// count records a read with data.
//
//go:noinline
func (z *lazyReads) count() {
	if now := z.pool.now(); now.Sub(z.since) >= hotWindow {
		z.since, z.nreads = now, 0
	}
	z.nreads++
}

// release gives the buffer back to the pool (it holds no unread bytes).
func (z *lazyReads) release() {
	if z.buf != nil {
		z.pool.p.Put(z.buf)
		z.buf, z.r, z.w = nil, 0, 0
	}
}
