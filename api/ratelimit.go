package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// RateLimit is at most N requests per window Per from one client address. N < 0 disables the
// limit; the zero value takes the default of the route it applies to.
type RateLimit struct {
	N   int
	Per time.Duration
}

// The default bound of POST /open311/v2/requests per client address.
const (
	defaultOpen311N   = 20
	defaultOpen311Per = 10 * time.Minute
)

// rateLimiter is a fixed-window counter per client address with a bounded key set.
type rateLimiter struct {
	lim RateLimit
	now func() time.Time

	mu   sync.Mutex
	wins map[string]rateWindow
}

type rateWindow struct {
	start time.Time
	n     int
}

// maxRateKeys bounds the addresses tracked; past it, expired windows are evicted and new
// addresses go untracked until there is room (so a spray of addresses cannot grow memory).
const maxRateKeys = 100000

func newRateLimiter(lim, def RateLimit, now func() time.Time) *rateLimiter {
	if lim.N == 0 {
		lim = def
	}
	if lim.Per <= 0 {
		lim.Per = def.Per
	}
	return &rateLimiter{lim: lim, now: now, wins: map[string]rateWindow{}}
}

// allow counts a request from key and reports whether it is within the limit, and if not, how
// long until it would be.
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	if l.lim.N < 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.wins[key]
	if now.Sub(w.start) >= l.lim.Per || now.Before(w.start) {
		w = rateWindow{start: now}
	}
	if w.n >= l.lim.N {
		return false, w.start.Add(l.lim.Per).Sub(now)
	}
	w.n++
	if _, known := l.wins[key]; !known && len(l.wins) >= maxRateKeys {
		for k, v := range l.wins {
			if now.Sub(v.start) >= l.lim.Per {
				delete(l.wins, k)
			}
		}
		if len(l.wins) >= maxRateKeys {
			return true, 0
		}
	}
	l.wins[key] = w
	return true, 0
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
