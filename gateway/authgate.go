package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/lanewatch/lanewatch/internal/ratelimit"
)

// authGate limits password checks (SPEC 3.3). At most `concurrent` checks run at once across
// all connections, so a flood cannot take every CPU from the bcrypt of other devices. Each
// check decides, once it has its place, whether its address may be checked: an address that
// failed `burst` times within the window (a device, or a few behind one NAT, mistyping is not
// locked out) gets one check per `every`, shared by all its connections. A check the address is
// not allowed yet is refused without looking at the password. Addresses that have not failed
// are checked concurrently (many devices behind one carrier NAT reconnecting after a restart).
type authGate struct {
	window  time.Duration
	maxKeys int
	every   time.Duration
	burst   int
	checks  chan struct{} // semaphore of concurrent password checks

	mu    sync.Mutex
	addrs map[string]*addrGate
}

type addrGate struct {
	refs      int       // checks of this address in progress
	fails     int       // failures since the last success, within the window
	failedAt  time.Time // last failure
	checkedAt time.Time // last check once the address was limited
}

func newAuthGate(concurrent, perSecond, burst int, window time.Duration) *authGate {
	return &authGate{
		window: window, maxKeys: ratelimit.DefaultMaxKeys, burst: burst,
		every:  time.Second / time.Duration(perSecond),
		checks: make(chan struct{}, concurrent),
		addrs:  map[string]*addrGate{},
	}
}

// checkResult is how a gated check ended.
type checkResult int

const (
	notChecked checkResult = iota // ctx ended while waiting for a place
	throttled                     // the address is limited and its check for now is used
	checkFailed
	checkPassed
)

// check runs fn (the password check; true when it passed) if the address may be checked now,
// holding one of the concurrent places while it runs.
func (g *authGate) check(ctx context.Context, ip string, now func() time.Time, fn func() bool) checkResult {
	if g.limited(ip, now()) { // refused at once: a flood does not queue for the places
		return throttled
	}
	select {
	case g.checks <- struct{}{}:
	case <-ctx.Done():
		return notChecked
	}
	defer func() { <-g.checks }()

	g.mu.Lock()
	t := now()
	e := g.addrs[ip]
	if e == nil {
		if len(g.addrs) >= g.maxKeys {
			g.sweepLocked(t)
		}
		if len(g.addrs) < g.maxKeys { // else not tracked: only the concurrency bound applies
			e = &addrGate{}
			g.addrs[ip] = e
		}
	}
	if e != nil {
		if e.fails > 0 && t.Sub(e.failedAt) > g.window {
			e.fails = 0
		}
		if e.fails >= g.burst {
			if t.Sub(e.checkedAt) < g.every {
				g.mu.Unlock()
				return throttled
			}
			e.checkedAt = t
		}
		e.refs++
	}
	g.mu.Unlock()

	passed := fn()

	if e == nil {
		return resultOf(passed)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	e.refs--
	if passed {
		e.fails = 0
	} else {
		e.fails++
		e.failedAt = now()
		if e.fails == g.burst {
			e.checkedAt = e.failedAt // the next check of a limited address one `every` later
		}
	}
	if e.refs == 0 && e.fails == 0 {
		delete(g.addrs, ip)
	}
	return resultOf(passed)
}

func resultOf(passed bool) checkResult {
	if passed {
		return checkPassed
	}
	return checkFailed
}

// limited reports, without changing anything, whether ip would be refused now.
func (g *authGate) limited(ip string, t time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.addrs[ip]
	return e != nil && e.fails >= g.burst && t.Sub(e.failedAt) <= g.window && t.Sub(e.checkedAt) < g.every
}

// sweepLocked drops idle addresses whose last failure is older than the window.
func (g *authGate) sweepLocked(now time.Time) {
	for ip, e := range g.addrs {
		if e.refs == 0 && now.Sub(e.failedAt) > g.window {
			delete(g.addrs, ip)
		}
	}
}
