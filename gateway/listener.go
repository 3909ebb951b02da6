package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Accept back-off bounds: after an Accept error the listener waits minAcceptBackoff, doubling
// up to maxAcceptBackoff, and tries again (mochi's own TCP listener returns for good).
const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = 250 * time.Millisecond
)

// acceptState is what a listener last saw from Accept.
type acceptState struct {
	err   error     // nil while accepting
	since time.Time // first failure of the current run of failures
}

// tcpListener is lanewatch's TCP (and TLS) listener for mochi. Unlike mochi's listeners.TCP it
// survives Accept errors (file descriptors running out, ECONNABORTED) with a bounded back-off,
// reports whether it can accept (Broker.Ready), and gives every connection a deadline for its
// CONNECT: mochi sets the keep-alive deadline once CONNECT is read, so a connection that never
// sends one is closed after preConnect.
type tcpListener struct {
	id, address string
	tlsc        *tls.Config
	listen      func(network, address string) (net.Listener, error)
	preConnect  time.Duration
	maxConnect  int // largest CONNECT packet accepted (remaining length + 1)
	now         func() time.Time
	reads       *readPool
	onError     func(error)
	// admit counts a connection of ip awaiting authentication; false refuses it (closed at once).
	admit func(ip string) (release func(), ok bool)
	// closeClients, when set, replaces mochi's (see Broker.closeListenerClients).
	closeClients listeners.CloseFn
	// writeBuffer bounds the bytes buffered per connection by asyncConn (0: plain blocking
	// writes); onOverflow is called when a connection is closed for reaching it.
	writeBuffer int
	onOverflow  func()

	ln     net.Listener
	log    *slog.Logger
	state  atomic.Pointer[acceptState]
	closed atomic.Bool
	done   chan struct{}
	once   sync.Once
	// serving ends when Serve returns; starting counts connections handed to mochi that have
	// not read yet (mochi's EstablishConnection reads server state before its first read, which
	// races with mochi's Close: stopAccepting waits for them).
	serving  sync.WaitGroup
	starting sync.WaitGroup
	// open holds every connection handed to mochi until its EstablishConnection returns; Close
	// closes those mochi did not (a client still attaching when mochi's Close ran would
	// otherwise keep mochi's Close waiting for it forever).
	openMu sync.Mutex
	open   map[net.Conn]struct{}
}

var (
	_ listeners.Listener     = (*tcpListener)(nil)
	_ mqtt.NonBlockingWriter = (*connectGuard)(nil)
)

func (l *tcpListener) ID() string       { return l.id }
func (l *tcpListener) Protocol() string { return "tcp" }

// Address returns the bound address once listening, else the configured one.
func (l *tcpListener) Address() string {
	if l.ln != nil {
		return l.ln.Addr().String()
	}
	return l.address
}

// Init opens the socket.
func (l *tcpListener) Init(log *slog.Logger) error {
	l.log = log
	l.done = make(chan struct{})
	l.state.Store(&acceptState{})
	ln, err := l.listen("tcp", l.address)
	if err != nil {
		return err
	}
	l.ln = ln
	return nil
}

// Serve accepts until Close, backing off after errors instead of returning.
func (l *tcpListener) Serve(establish listeners.EstablishFn) {
	l.serving.Add(1)
	defer l.serving.Done()
	backoff := time.Duration(0)
	for {
		conn, err := l.ln.Accept()
		if l.closed.Load() {
			if conn != nil {
				_ = conn.Close()
			}
			return
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				l.fail(fmt.Errorf("listener closed: %w", err))
				return
			}
			l.fail(err)
			backoff = min(max(2*backoff, minAcceptBackoff), maxAcceptBackoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return
			}
			continue
		}
		if backoff != 0 {
			backoff = 0
			l.log.Info("mqtt listener accepting again", "listener", l.id)
		}
		l.state.Store(&acceptState{})
		release, ok := admitConn(l.admit, conn)
		if !ok {
			_ = conn.Close()
			continue
		}
		if l.preConnect > 0 {
			_ = conn.SetDeadline(l.now().Add(l.preConnect))
		}
		var async *asyncConn
		if tc, ok := conn.(*net.TCPConn); ok && l.writeBuffer > 0 {
			conn = newAsyncConn(tc, l.writeBuffer, l.onOverflow)
			async, _ = conn.(*asyncConn)
		}
		if l.tlsc != nil {
			conn = tls.Server(conn, l.tlsc)
		}
		g := &connectGuard{Conn: conn, async: async, max: l.maxConnect, release: release, started: l.starting.Done,
			reads: lazyReads{pool: l.reads}}
		l.starting.Add(1)
		l.track(conn, true)
		go l.serveConn(establish, g, conn)
	}
}

// serveConn runs one connection's read loop. It is the bottom frame of the connection's
// goroutine for as long as the connection lives, so it holds nothing but the call: an idle
// connection's stack shrinks to 4 KiB only while the frames under its parked read are under
// about 1.2 KiB (BenchmarkIdleConnections).
func (l *tcpListener) serveConn(establish listeners.EstablishFn, g *connectGuard, conn net.Conn) {
	err := establish(l.id, g)
	l.endConn(g, conn, err)
}

// endConn is the end of serveConn: the guard's releases, the tracking and the log line.
//
//go:noinline
func (l *tcpListener) endConn(g *connectGuard, conn net.Conn, err error) {
	g.authDone()
	g.markStarted()
	l.track(conn, false)
	if err != nil {
		l.log.Debug("mqtt connection ended", "listener", l.id, "err", err)
	}
}

// fail records an Accept error; the first of a run is logged and counted.
func (l *tcpListener) fail(err error) {
	st := l.state.Load()
	if st != nil && st.err != nil {
		l.state.Store(&acceptState{err: err, since: st.since})
		return
	}
	l.state.Store(&acceptState{err: err, since: l.now()})
	l.log.Error("mqtt listener cannot accept", "listener", l.id, "err", err)
	if l.onError != nil {
		l.onError(err)
	}
}

// ready returns the listener's Accept error while it cannot accept.
func (l *tcpListener) ready() error {
	st := l.state.Load()
	if st == nil || st.err == nil {
		return nil
	}
	return fmt.Errorf("mqtt listener %s cannot accept since %s: %w", l.id, st.since.UTC().Format(time.RFC3339), st.err)
}

// Close stops accepting and closes the listener's clients.
func (l *tcpListener) Close(closeClients listeners.CloseFn) {
	if l.closeClients != nil {
		closeClients = l.closeClients
	}
	l.once.Do(func() {
		l.closed.Store(true)
		close(l.done)
		if l.ln != nil {
			_ = l.ln.Close()
		}
		closeClients(l.id)
		l.openMu.Lock()
		for c := range l.open {
			_ = c.Close()
		}
		l.openMu.Unlock()
	})
}

// track adds (or removes) a connection handed to mochi; one accepted after Close is closed.
func (l *tcpListener) track(c net.Conn, add bool) {
	l.openMu.Lock()
	defer l.openMu.Unlock()
	if !add {
		delete(l.open, c)
		return
	}
	if l.open == nil {
		l.open = map[net.Conn]struct{}{}
	}
	l.open[c] = struct{}{}
	if l.closed.Load() { // Close ran (or is running) and may have missed it
		_ = c.Close()
	}
}

// admitConn asks admit (if any) to count conn's address among those awaiting authentication.
func admitConn(admit func(string) (func(), bool), conn net.Conn) (func(), bool) {
	if admit == nil {
		return nil, true
	}
	host, _, err := net.SplitHostPort(conn.RemoteAddr().String())
	if err != nil {
		host = conn.RemoteAddr().String()
	}
	return admit(host)
}

// markStarted reports (once) that mochi has reached its first read.
func (g *connectGuard) markStarted() {
	if g.started != nil {
		g.sonce.Do(g.started)
	}
}

// stopAccepting closes the socket, waits for Serve to return and (up to a second) for the
// connections it handed on to reach their first read.
func (l *tcpListener) stopAccepting() {
	l.closed.Store(true)
	if l.ln != nil {
		_ = l.ln.Close()
	}
	l.serving.Wait()
	started := make(chan struct{})
	go func() { l.starting.Wait(); close(started) }()
	select {
	case <-started:
	case <-time.After(time.Second):
	}
}

// authDone ends the connection's count as awaiting authentication (once).
func (g *connectGuard) authDone() {
	g.once.Do(func() {
		if g.release != nil {
			g.release()
		}
	})
}

// errConnectTooLarge ends a connection whose first packet declares more than the CONNECT bound.
var errConnectTooLarge = errors.New("mqtt connect packet too large")

// connectGuard reads a connection's first fixed header as it passes and fails the read when
// the packet declares more than max bytes, before mochi allocates a buffer of that size. After
// the first header it only forwards.
type connectGuard struct {
	net.Conn
	async   *asyncConn // the TCP connection's write buffer, if any (queueBytesHook counts it)
	max     int        // 0: unbounded
	release func()
	once    sync.Once
	started func() // called once, at the first read
	sonce   sync.Once
	reads   lazyReads
	done    bool
	n       int // header bytes seen
	mult    int
	value   int
}

// NonBlockingWrites reports whether the connection's writes never wait for the peer (asyncConn,
// TLS over it): mochi (third_party/mochi-mqtt-server, mqtt.NonBlockingWriter) then gives the
// client no outbound queue and no write goroutine, and writes each delivery directly. WebSocket
// connections (no asyncConn) keep mochi's queue and write goroutine.
func (g *connectGuard) NonBlockingWrites() bool { return g.async != nil }

// Read is the frame under every idle connection's parked read, so it stays small: the header
// check and the buffered path are calls of their own (see serveConn).
func (g *connectGuard) Read(p []byte) (int, error) {
	g.markStarted()
	if g.reads.lent() {
		if n, err, ok := g.readBuffered(p); ok {
			return n, err
		}
	}
	n, err := g.Conn.Read(p)
	if n > 0 {
		g.reads.count()
		if !g.done {
			return g.inspect(p[:n], err)
		}
	}
	return n, err
}

// readBuffered is Read through the connection's lent buffer; false when the connection is no
// longer busy and Read reads straight into p.
//
//go:noinline
func (g *connectGuard) readBuffered(p []byte) (int, error, bool) {
	n, err, ok := g.reads.buffered(g.Conn, p)
	if !ok || g.done || n == 0 {
		return n, err, ok
	}
	n, err = g.inspect(p[:n], err)
	return n, err, true
}

// inspect follows the first fixed header through the bytes p just read.
//
//go:noinline
func (g *connectGuard) inspect(p []byte, err error) (int, error) {
	for _, c := range p {
		g.n++
		if g.n == 1 {
			g.mult = 1
			continue
		}
		g.value += int(c&0x7f) * g.mult
		g.mult *= 128
		if c&0x80 == 0 || g.n == 5 {
			g.done = true
			break
		}
	}
	if g.max > 0 && g.value+1 > g.max {
		return 0, fmt.Errorf("%w: declares %d bytes, limit %d", errConnectTooLarge, g.value+1, g.max)
	}
	return len(p), err
}

// wsListener is mochi's WebSocket listener (net/http, which already retries Accept errors) with
// the same CONNECT deadline and CONNECT size bound as tcpListener, applied to each upgraded
// connection.
type wsListener struct {
	listeners.Listener
	preConnect time.Duration
	maxConnect int
	now        func() time.Time
	reads      *readPool
	admit      func(ip string) (release func(), ok bool)
	// closeClients, when set, replaces mochi's (see Broker.closeListenerClients).
	closeClients listeners.CloseFn
	// starting counts connections handed to mochi that have not read yet (as tcpListener's).
	starting sync.WaitGroup
}

// waitStarted waits (up to a second) for the connections handed to mochi to reach their first
// read, by which mochi has counted them in its clients WaitGroup: its Close waits on that
// group, and a count still being added then is a race (seen in TestAttackSilentWebSocket).
func (l *wsListener) waitStarted() {
	started := make(chan struct{})
	go func() { l.starting.Wait(); close(started) }()
	select {
	case <-started:
	case <-time.After(time.Second):
	}
}

// Close closes mochi's listener with closeClients.
func (l *wsListener) Close(closeClients listeners.CloseFn) {
	if l.closeClients != nil {
		closeClients = l.closeClients
	}
	l.Listener.Close(closeClients)
}

// errTooManyPending refuses a connection from an address with too many awaiting authentication.
var errTooManyPending = errors.New("mqtt: too many connections from this address awaiting authentication")

// Serve serves mochi's listener with the CONNECT limits around each connection.
func (l *wsListener) Serve(establish listeners.EstablishFn) {
	l.Listener.Serve(func(id string, c net.Conn) error {
		release, ok := admitConn(l.admit, c)
		if !ok {
			return errTooManyPending
		}
		if l.preConnect > 0 {
			_ = c.SetDeadline(l.now().Add(l.preConnect))
		}
		l.starting.Add(1)
		g := &connectGuard{Conn: c, max: l.maxConnect, release: release, started: l.starting.Done,
			reads: lazyReads{pool: l.reads}}
		defer g.markStarted()
		defer g.authDone()
		return establish(id, g)
	})
}
