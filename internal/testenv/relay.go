package testenv

import (
	"io"
	"net"
	"sync"
	"testing"
)

// HalfOpenRelay is a TCP relay to a broker that can be cut the way a mobile network cuts a
// link: the device's side closes, the broker's side stays open and silent, so the broker still
// counts the device as connected until its keepalive runs out.
type HalfOpenRelay struct {
	ln             net.Listener
	mu             sync.Mutex
	device, broker []net.Conn
}

// NewHalfOpenRelay relays every connection made to Addr() to target until the test ends.
func NewHalfOpenRelay(t testing.TB, target string) *HalfOpenRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &HalfOpenRelay{ln: ln}
	t.Cleanup(func() {
		ln.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, c := range append(r.device, r.broker...) {
			c.Close()
		}
	})
	go func() {
		for {
			dc, err := ln.Accept()
			if err != nil {
				return
			}
			bc, err := net.Dial("tcp", target)
			if err != nil {
				dc.Close()
				continue
			}
			r.mu.Lock()
			r.device, r.broker = append(r.device, dc), append(r.broker, bc)
			r.mu.Unlock()
			go func() { _, _ = io.Copy(bc, dc) }() // ends when the device side is cut; bc stays open
			go func() { _, _ = io.Copy(dc, bc) }()
		}
	}()
	return r
}

// Addr is the relay's listen address, for the device to connect to.
func (r *HalfOpenRelay) Addr() string { return r.ln.Addr().String() }

// Cut closes the device's side of every relayed connection and leaves the broker's open.
func (r *HalfOpenRelay) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.device {
		c.Close()
	}
}
