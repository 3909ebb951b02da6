package mqtt

// Tests of lanewatch's patches (PATCHES.md), with the standard library only: upstream's own tests
// need testify, which the fork does not carry.

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// nonBlocking marks a connection as one whose writes never wait for the peer.
type nonBlocking struct{ net.Conn }

func (nonBlocking) NonBlockingWrites() bool { return true }

func TestNonBlockingWriterHasNoQueue(t *testing.T) {
	s := New(&Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()

	direct := s.NewClient(nonBlocking{a}, "t", "direct", false)
	if !direct.State.directWrites || direct.State.outbound != nil {
		t.Fatalf("client on a NonBlockingWriter: directWrites %v, outbound cap %d; want true, no queue",
			direct.State.directWrites, cap(direct.State.outbound))
	}
	queued := s.NewClient(a, "t", "queued", false)
	if queued.State.directWrites || cap(queued.State.outbound) != int(s.Options.Capabilities.MaximumClientWritesPending) {
		t.Fatalf("client on a plain conn: directWrites %v, outbound cap %d; want false, %d",
			queued.State.directWrites, cap(queued.State.outbound), s.Options.Capabilities.MaximumClientWritesPending)
	}
}

// takeoverHook accepts every client and records, for the first connection of client id "dup",
// whether it was already marked taken over when its OnDisconnect ran. The session taking it
// over calls OnUnsubscribed for it; the hook holds that call until the old connection's
// OnDisconnect has run, so the test does not depend on which goroutine runs first.
type takeoverHook struct {
	HookBase
	mu        sync.Mutex
	first     *Client
	sawTaken  chan bool
	onceFirst sync.Once
}

func (h *takeoverHook) ID() string { return "takeover-test" }

func (h *takeoverHook) Provides(b byte) bool {
	return bytes.Contains([]byte{OnConnectAuthenticate, OnACLCheck, OnSessionEstablished, OnDisconnect, OnUnsubscribed}, []byte{b})
}

func (h *takeoverHook) OnConnectAuthenticate(*Client, packets.Packet) bool { return true }
func (h *takeoverHook) OnACLCheck(*Client, string, bool) bool              { return true }

func (h *takeoverHook) OnSessionEstablished(cl *Client, _ packets.Packet) {
	h.onceFirst.Do(func() {
		h.mu.Lock()
		h.first = cl
		h.mu.Unlock()
	})
}

func (h *takeoverHook) isFirst(cl *Client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return cl == h.first
}

func (h *takeoverHook) OnDisconnect(cl *Client, _ error, _ bool) {
	if h.isFirst(cl) {
		h.sawTaken <- cl.IsTakenOver()
	}
}

func (h *takeoverHook) OnUnsubscribed(cl *Client, _ packets.Packet) {
	if !h.isFirst(cl) {
		return
	}
	select { // let the old connection's disconnect run first (bounded: not an assertion)
	case v := <-h.sawTaken:
		h.sawTaken <- v
	case <-time.After(2 * time.Second):
	}
}

// connectPacket is an MQTT 3.1.1 CONNECT with a clean session for client id.
func connectPacket(id string) []byte {
	body := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, byte(len(id))}, id...)
	return append([]byte{0x10, byte(len(body))}, body...)
}

func dialConnect(t *testing.T, addr, id string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(connectPacket(id)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("connack %x, %v", ack, err)
	}
	return c
}

// A client taken over is marked so before it is stopped: its disconnect handling (hooks, the
// removal of its id from s.Clients) never runs as for a client that left. Upstream marked it
// after stopping it, so its OnDisconnect could report a device offline that had just reconnected.
func TestTakenOverBeforeStopped(t *testing.T) {
	s := New(&Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), InlineClient: false})
	h := &takeoverHook{sawTaken: make(chan bool, 1)}
	if err := s.AddHook(h, nil); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "t", Address: "127.0.0.1:0"})
	if err := s.AddListener(l); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	c1 := dialConnect(t, l.Address(), "dup")
	defer c1.Close()
	c2 := dialConnect(t, l.Address(), "dup")
	defer c2.Close()

	var taken bool
	select {
	case taken = <-h.sawTaken:
	case <-time.After(5 * time.Second):
		t.Fatal("old connection's OnDisconnect not called")
	}
	if !taken {
		t.Fatal("old connection's OnDisconnect ran before it was marked taken over")
	}
	cl, ok := s.Clients.Get("dup")
	if !ok || cl == h.first {
		t.Fatalf("s.Clients[dup] after the takeover: %v (old client: %v), want the new client", ok, cl == h.first)
	}
}

// TestNextPacketIDWhileWriting: a packet id is handed out while the client's lock is held by a
// write that does not return (a write goroutine blocked on a stalled connection). Upstream
// took the same lock and waited.
func TestNextPacketIDWhileWriting(t *testing.T) {
	s := New(&Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	cl := s.NewClient(nil, "t", "stalled", false)
	cl.Lock() // as WritePacket holds it during the write
	defer cl.Unlock()
	got := make(chan uint32, 1)
	go func() {
		id, err := cl.NextPacketID()
		if err != nil {
			t.Error(err)
		}
		got <- id
	}()
	select {
	case id := <-got:
		if id == 0 {
			t.Fatal("packet id 0")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("NextPacketID waited for the client's write lock")
	}
}
