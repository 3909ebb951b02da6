package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanewatch/lanewatch/internal/ratelimit"
)

// RateLimit is at most N requests per Per from one client address (a token bucket: N at once,
// then one every Per/N). N < 0 disables the limit; the zero value takes the default of the
// route it applies to.
type RateLimit struct {
	N   int
	Per time.Duration
}

// The default bound of POST /open311/v2/requests per client address.
const (
	defaultOpen311N   = 20
	defaultOpen311Per = 10 * time.Minute
)

// rateLimiter is RateLimit per client address on the shared keyed limiter (a token bucket per
// address, bounded key set) and the server's clock.
type rateLimiter struct {
	lim  RateLimit
	now  func() time.Time
	keys *ratelimit.Limiter
}

func newRateLimiter(lim, def RateLimit, now func() time.Time) *rateLimiter {
	if lim.N == 0 {
		lim = def
	}
	if lim.Per <= 0 {
		lim.Per = def.Per
	}
	return &rateLimiter{lim: lim, now: now, keys: ratelimit.New(lim.N, lim.Per, 0)}
}

// allow counts a request from key and reports whether it is within the limit, and if not, how
// long until it would be.
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	return l.keys.Allow(key, l.now())
}

// o311RateLimit refuses POSTs over Options.Open311Limit from one client address with 429, a
// Retry-After header and a GeoReport error array.
func (s *Server) o311RateLimit() gin.HandlerFunc {
	l := newRateLimiter(s.o.Open311Limit, RateLimit{N: defaultOpen311N, Per: defaultOpen311Per}, s.o.Now)
	return func(c *gin.Context) {
		ok, wait := l.allow(c.ClientIP())
		if ok {
			c.Next()
			return
		}
		_, format, _ := splitFormat(c.Param("file"))
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		s.o311Fail(c, format, http.StatusTooManyRequests,
			"too many requests from this address: at most "+strconv.Itoa(l.lim.N)+" per "+l.lim.Per.String())
	}
}

// failureGate blocks a key (a client address) after n failures within window, until window has
// passed since its last failure; a success clears the key. The key set is bounded: when it is
// full of recent failures a new key is not tracked (and so not blocked), never refused.
type failureGate struct {
	n      int
	window time.Duration
	max    int

	mu   sync.Mutex
	keys map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

func newFailureGate(n int, window time.Duration) *failureGate {
	return &failureGate{n: n, window: window, max: ratelimit.DefaultMaxKeys, keys: map[string]*failures{}}
}

// blocked reports whether key has used up its failures, and for how long it stays blocked.
func (g *failureGate) blocked(key string, now time.Time) (bool, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.keys[key]
	if f == nil {
		return false, 0
	}
	if until := f.last.Add(g.window); now.Before(until) {
		return f.n >= g.n, until.Sub(now)
	}
	delete(g.keys, key)
	return false, 0
}

// fail records a failure of key.
func (g *failureGate) fail(key string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.keys[key]
	if f == nil {
		if len(g.keys) >= g.max {
			for k, v := range g.keys {
				if now.Sub(v.last) > g.window {
					delete(g.keys, k)
				}
			}
			if len(g.keys) >= g.max {
				return
			}
		}
		f = &failures{}
		g.keys[key] = f
	} else if now.Sub(f.last) > g.window {
		f.n = 0
	}
	f.n++
	f.last = now
}

// succeed clears key.
func (g *failureGate) succeed(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.keys, key)
}
