package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/lanewatch/lanewatch/internal/ratelimit"
)

// authGate limits password checks (SPEC 3.3): per remote address, all its connections share one
// slot (checks from one address run one at a time) and, once the address has failed `burst`
// times within the window (a device or a few behind one NAT mistyping are not locked out), one
// check per second; across all addresses at most `concurrent` checks run at once, so
// a flood cannot take every CPU from the bcrypt of other devices. A check the address is not
// allowed yet is refused without looking at the password.
type authGate struct {
	window  time.Duration
	maxKeys int
	checks  chan struct{} // semaphore of concurrent password checks
	every   time.Duration // one check per this, per address, after burst failures
	burst   int

	mu    sync.Mutex
	addrs map[string]*addrGate
}

type addrGate struct {
	slot      chan struct{}
	refs      int
	failedAt  time.Time
	fails     int // failures since the last success, within the window
	checkedAt time.Time
}

func newAuthGate(concurrent, perSecond, burst int, window time.Duration) *authGate {
	return &authGate{
		window: window, maxKeys: ratelimit.DefaultMaxKeys, burst: burst,
		checks: make(chan struct{}, concurrent),
		every:  time.Second / time.Duration(perSecond),
		addrs:  map[string]*addrGate{},
	}
}

// gatePass is one connection's turn at its address's slot.
type gatePass struct {
	g    *authGate
	ip   string
	e    *addrGate // nil when the address table is full (not tracked)
	held bool      // the slot is ours
}

// enter waits for the address's slot; false if ctx ended first.
func (g *authGate) enter(ctx context.Context, ip string, now time.Time) (*gatePass, bool) {
	g.mu.Lock()
	e := g.addrs[ip]
	if e == nil {
		if len(g.addrs) >= g.maxKeys {
			g.sweepLocked(now)
		}
		if len(g.addrs) < g.maxKeys {
			e = &addrGate{slot: make(chan struct{}, 1)}
			g.addrs[ip] = e
		}
	}
	if e != nil {
		e.refs++
	}
	g.mu.Unlock()
	p := &gatePass{g: g, ip: ip, e: e}
	if e == nil {
		return p, true
	}
	select {
	case e.slot <- struct{}{}:
		p.held = true
		return p, true
	case <-ctx.Done():
		p.leave(now, notChecked)
		return nil, false
	}
}

// allowed reports whether the address may have its password checked now.
func (p *gatePass) allowed(now time.Time) bool {
	if p.e == nil {
		return true
	}
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	e := p.e
	if !e.failedAt.IsZero() && now.Sub(e.failedAt) > p.g.window {
		e.fails = 0
	}
	if e.fails >= p.g.burst && now.Sub(e.checkedAt) < p.g.every {
		return false
	}
	e.checkedAt = now
	return true
}

// check runs fn while holding one of the concurrent-check places; false if ctx ended first.
func (p *gatePass) check(ctx context.Context, fn func()) bool {
	select {
	case p.g.checks <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-p.g.checks }()
	fn()
	return true
}

// checkResult is how a pass ended.
type checkResult int

const (
	notChecked checkResult = iota
	checkFailed
	checkPassed
)

// leave releases the slot, recording a failed check; a passed one clears the address.
func (p *gatePass) leave(now time.Time, r checkResult) {
	g := p.g
	if p.e == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch r {
	case checkFailed:
		p.e.failedAt = now
		p.e.fails++
	case checkPassed:
		p.e.failedAt = time.Time{}
		p.e.fails = 0
	}
	if p.held {
		<-p.e.slot
		p.held = false
	}
	p.e.refs--
	if p.e.refs == 0 && (p.e.failedAt.IsZero() || now.Sub(p.e.failedAt) > g.window) {
		delete(g.addrs, p.ip)
	}
}

// sweepLocked drops idle addresses whose last failure is older than the window.
func (g *authGate) sweepLocked(now time.Time) {
	for ip, e := range g.addrs {
		if e.refs == 0 && now.Sub(e.failedAt) > g.window {
			delete(g.addrs, ip)
		}
	}
}
