package gateway

import (
	"errors"
	"net"
	"sync"
	"syscall"
)

// errWriteOverflow ends a connection whose peer has not taken the bytes written to it and whose
// write buffer reached its bound.
var errWriteOverflow = errors.New("mqtt: subscriber not reading, write buffer full")

// asyncConn keeps writes to a TCP connection from blocking. mochi writes each packet while
// holding the client's lock, and a publisher delivering a QoS 1 message to that client takes the
// same lock (Client.NextPacketID): with a plain socket, one subscriber that stops reading blocks
// every publisher of a topic it subscribed to until its keep-alive expires (found by
// TestAttackSlowSubscriber). Here a write goes straight to the socket when nothing is waiting
// and the socket takes it whole (one non-blocking write(2), the usual case); otherwise the rest
// is buffered and a goroutine, which exists only while there is something to flush, writes it
// out in order. The buffer is counted in the client's queue byte budget (queueBytesHook), so it
// normally stays within it; at limit bytes the connection is closed.
type asyncConn struct {
	net.Conn // the *net.TCPConn (only net.Conn's methods: no ReadFrom around Write)
	raw      syscall.RawConn
	limit    int
	overflow func() // called once when the buffer overflows (metrics)

	mu       sync.Mutex
	pending  net.Buffers // copies of the writes not yet handed to the socket, in order
	queued   int         // bytes in pending
	writing  int         // bytes the flusher is writing now
	flushing bool
	err      error // sticky: the connection is done

	writeFn func(fd uintptr) bool // c.rawWrite
	wp      []byte
	wn      int
	werr    error
}

func newAsyncConn(c *net.TCPConn, limit int, overflow func()) net.Conn {
	raw, err := c.SyscallConn()
	if err != nil || limit <= 0 {
		return c
	}
	a := &asyncConn{Conn: c, raw: raw, limit: limit, overflow: overflow}
	a.writeFn = a.rawWrite
	return a
}

// Write writes p or buffers what the socket does not take at once; it never waits for the peer.
func (c *asyncConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	rest := p
	if !c.flushing && c.queued == 0 {
		n, err := c.tryWrite(p)
		if err != nil {
			c.err = err
			return n, err
		}
		if n == len(p) {
			return n, nil
		}
		rest = p[n:]
	}
	if c.queued+c.writing+len(rest) > c.limit {
		c.err = errWriteOverflow
		_ = c.Conn.Close()
		if c.overflow != nil {
			c.overflow()
		}
		return 0, c.err
	}
	c.pending = append(c.pending, append([]byte(nil), rest...)) // exact size: memory = bytes counted
	c.queued += len(rest)
	if !c.flushing {
		c.flushing = true
		go c.flush()
	}
	return len(p), nil
}

// tryWrite makes one non-blocking write(2); a full socket buffer is not an error. It runs under
// c.mu, which guards the scratch fields writeFn uses (a method value made once: no allocation
// per write).
func (c *asyncConn) tryWrite(p []byte) (int, error) {
	c.wp = p
	err := c.raw.Write(c.writeFn)
	n, werr := c.wn, c.werr
	c.wp = nil
	if err != nil {
		return 0, err
	}
	if werr == syscall.EAGAIN {
		return 0, nil
	}
	if werr != nil {
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: werr}
	}
	return n, nil
}

func (c *asyncConn) rawWrite(fd uintptr) bool {
	for {
		c.wn, c.werr = syscall.Write(int(fd), c.wp)
		if c.werr != syscall.EINTR {
			return true
		}
	}
}

// flush writes the buffer out (blocking, under the connection's deadlines) until it is empty.
func (c *asyncConn) flush() {
	for {
		c.mu.Lock()
		if c.queued == 0 || c.err != nil {
			c.flushing = false
			c.pending, c.queued = nil, 0
			c.mu.Unlock()
			return
		}
		bufs := c.pending
		c.pending, c.writing, c.queued = nil, c.queued, 0
		c.mu.Unlock()
		_, err := bufs.WriteTo(c.Conn) // writev(2) on a TCP connection
		c.mu.Lock()
		c.writing = 0
		if err != nil && c.err == nil {
			c.err = err
			_ = c.Conn.Close()
		}
		c.mu.Unlock()
	}
}

// Buffered returns the bytes written to c and not yet handed to the socket.
func (c *asyncConn) Buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queued + c.writing
}
